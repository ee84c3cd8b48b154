"""The generated product catalogue: categories, brands, price tiers, seasons and text.

Titles and descriptions are assembled from word lists that carry the category (nouns
such as "Mug", "Pencil Case"), the season ("Christmas", "Beach", "School") and the
price tier ("Luxury", "Value"), so text features of a hybrid model have real signal.
Products are numbered in creation order: ``P000001`` is the oldest.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from recsys.generator.calendar import SEASONS, epoch_day
from recsys.generator.spec import ShopSpec

#: Random stream of the catalogue (events and customers use other streams).
CATALOG_STREAM = 1


@dataclass(frozen=True)
class Category:
    """A product category and the words its products are described with."""

    name: str
    share: float  # share of the catalogue and of shop-wide category demand
    base_price: float
    consumable: bool  # bought again and again (staple products come from these)
    nouns: tuple[str, ...]
    modifiers: tuple[str, ...]
    blurbs: tuple[str, ...]


CATEGORIES = (
    Category(
        "Home Decor",
        0.11,
        18.0,
        False,
        ("Candle", "Vase", "Cushion", "Photo Frame", "Lantern", "Throw", "Mirror"),
        ("Ceramic", "Linen", "Glass", "Wooden", "Velvet"),
        ("Brings warmth to any living room.", "A finishing touch for your home."),
    ),
    Category(
        "Kitchen",
        0.10,
        12.0,
        False,
        ("Mug", "Teapot", "Serving Bowl", "Apron", "Storage Tin", "Chopping Board"),
        ("Enamel", "Stoneware", "Bamboo", "Cast Iron", "Porcelain"),
        ("Made for everyday cooking.", "Dishwasher safe and built to last."),
    ),
    Category(
        "Garden",
        0.07,
        25.0,
        False,
        ("Planter", "Watering Can", "Bird Feeder", "Garden Gnome", "Trowel", "Hose Reel"),
        ("Galvanised", "Terracotta", "Weatherproof", "Recycled", "Slate"),
        ("Ready for the garden or the balcony.", "Stands up to wind and rain."),
    ),
    Category(
        "Toys",
        0.09,
        15.0,
        False,
        ("Jigsaw Puzzle", "Teddy Bear", "Building Blocks", "Kite", "Rag Doll", "Toy Train"),
        ("Wooden", "Plush", "Colourful", "Magnetic", "Musical"),
        ("Hours of fun for little ones.", "Safety tested for ages three and up."),
    ),
    Category(
        "Stationery",
        0.07,
        6.0,
        False,
        ("Notebook", "Pencil Set", "Fountain Pen", "Sketchbook", "Planner", "Sticky Notes"),
        ("A5", "Dotted", "Recycled Paper", "Pastel", "Leather Bound"),
        ("For notes, lists and doodles.", "Smooth paper that takes any pen."),
    ),
    Category(
        "Bags",
        0.07,
        30.0,
        False,
        ("Backpack", "Tote Bag", "Crossbody Bag", "Wallet", "Duffel Bag"),
        ("Canvas", "Leather", "Waxed Cotton", "Nylon", "Woven"),
        ("Room for everything you carry.", "Padded straps for all-day comfort."),
    ),
    Category(
        "Clothing",
        0.12,
        22.0,
        False,
        ("T-Shirt", "Jumper", "Socks", "Scarf", "Beanie Hat", "Hoodie"),
        ("Cotton", "Merino", "Organic", "Striped", "Oversized"),
        ("Soft, breathable and easy to wash.", "A wardrobe favourite."),
    ),
    Category(
        "Beauty",
        0.08,
        9.0,
        True,
        ("Shampoo", "Hand Cream", "Lip Balm", "Bath Soap", "Face Serum"),
        ("Lavender", "Rose", "Unscented", "Vegan", "Citrus"),
        ("Kind to skin, made with natural oils.", "Refill size, less packaging."),
    ),
    Category(
        "Food & Drink",
        0.08,
        7.0,
        True,
        ("Ground Coffee", "Loose Tea", "Dark Chocolate", "Shortbread", "Honey Jar"),
        ("Fairtrade", "Organic", "Single Origin", "Small Batch", "Spiced"),
        ("Sourced from small producers.", "A treat for the cupboard."),
    ),
    Category(
        "Pet Supplies",
        0.06,
        11.0,
        True,
        ("Dog Treats", "Cat Food", "Chew Toy", "Pet Bed", "Litter"),
        ("Grain Free", "Chicken", "Salmon", "Natural", "Durable"),
        ("Vet approved and made with care.", "Pets love it."),
    ),
    Category(
        "Electronics",
        0.08,
        45.0,
        False,
        ("Headphones", "Phone Charger", "Bluetooth Speaker", "Desk Lamp", "Power Bank"),
        ("Wireless", "USB-C", "Noise Cancelling", "Portable", "Smart"),
        ("Two-year warranty included.", "Charges fast, lasts long."),
    ),
    Category(
        "Sports & Outdoor",
        0.07,
        28.0,
        False,
        ("Yoga Mat", "Water Bottle", "Tent", "Running Belt", "Walking Poles"),
        ("Lightweight", "Insulated", "Foldable", "Grippy", "Trail"),
        ("Built for the outdoors.", "Light enough to take anywhere."),
    ),
)

CATEGORY_NAMES = tuple(c.name for c in CATEGORIES)

#: Which categories hold seasonal products, and what share of a category's products.
SEASON_CATEGORY_SHARE = {
    "christmas": {"Home Decor": 0.3, "Kitchen": 0.15, "Toys": 0.2, "Clothing": 0.1, "Food & Drink": 0.15},
    "summer": {"Garden": 0.3, "Sports & Outdoor": 0.25, "Toys": 0.15, "Clothing": 0.15},
    "back_to_school": {"Stationery": 0.35, "Bags": 0.3, "Clothing": 0.05, "Electronics": 0.1},
}

#: Words that carry the season into titles and descriptions.
SEASON_WORDS = {
    "christmas": ("Christmas", "Santa", "Festive", "Reindeer", "Snowflake", "Xmas"),
    "summer": ("Beach", "Summer", "Sunshine", "Picnic", "Seaside"),
    "back_to_school": ("School", "Back to School", "Classroom", "Pencil", "Term Time"),
}
SEASON_NOUNS = {
    "christmas": ("Bauble Set", "Wreath", "Stocking", "Advent Calendar", "Tree Topper", "Gift Box"),
    "summer": ("Beach Towel", "Parasol", "Cool Box", "Sun Hat", "Bucket and Spade", "Picnic Blanket"),
    "back_to_school": ("Pencil Case", "Exercise Book", "Lunch Box", "Geometry Set", "School Bag", "Crayons"),
}
SEASON_BLURBS = {
    "christmas": ("Perfect for Christmas with the family.", "A festive gift to put under the tree."),
    "summer": ("Made for sunny days at the beach.", "Pack it for summer holidays."),
    "back_to_school": ("Ready for the new school term.", "Everything for the classroom."),
}

#: Price tiers: a brand sells in one tier; the tier sets price level and title adjective.
TIERS = ("budget", "mid", "premium")
TIER_SHARE = (0.35, 0.45, 0.2)
TIER_PRICE_FACTOR = (0.6, 1.0, 1.9)
TIER_ADJECTIVES = (
    ("Everyday", "Value", "Basic", "Simple", "Handy"),
    ("Classic", "Modern", "Rustic", "Vintage", "Nordic"),
    ("Luxury", "Artisan", "Deluxe", "Heritage", "Signature"),
)

BRAND_PREFIXES = (
    "North",
    "Oak",
    "Silver",
    "Bright",
    "Willow",
    "Hazel",
    "Maple",
    "Stone",
    "River",
    "Cedar",
    "Fern",
    "Harbour",
    "Amber",
    "Copper",
    "Linden",
    "Moss",
    "Heather",
    "Birch",
    "Juniper",
    "Thistle",
    "Rowan",
    "Meadow",
    "Pebble",
    "Saffron",
    "Indigo",
    "Clover",
    "Aspen",
    "Bramble",
    "Cobalt",
    "Dune",
    "Ember",
    "Flint",
    "Garnet",
    "Holly",
    "Iris",
    "Jasper",
    "Kestrel",
    "Lark",
    "Marlow",
    "Nettle",
)
BRAND_SUFFIXES = (
    "wood",
    "field",
    " & Co",
    " Works",
    " Living",
    "stone",
    " Goods",
    " Supply",
    "well",
    " House",
    "bury",
    "more",
    " Studio",
    " Trading",
    "ford",
    " Lane",
    "gate",
    " Craft",
    "dale",
    " Mill",
    " Home",
    " Market",
    "ton",
    " Brothers",
    " Collective",
)

#: Share of products that exist before the window starts, and that are later retired.
INITIAL_SHARE = 0.7
RETIRED_SHARE = 0.04
OUT_OF_STOCK_SHARE = 0.07
#: Products of the initial catalogue were created up to this many days before the window.
INITIAL_SPREAD_DAYS = 3 * 365
NEVER = np.iinfo(np.int64).max // 2  # retired_day of a product that is never retired


@dataclass(frozen=True)
class Catalog:
    """All products, one row per array position (position i is product ``P{i+1:06d}``).

    ``created_s`` is epoch seconds; a product can be interacted with from the day after
    its creation day to the day before ``retired_day`` (epoch days).
    """

    product_id: pa.Array
    category: np.ndarray
    season: np.ndarray
    brand: np.ndarray
    brand_names: tuple[str, ...]
    brand_tier: np.ndarray
    price: np.ndarray
    stock_level: np.ndarray
    created_s: np.ndarray
    retired_day: np.ndarray
    popularity: np.ndarray
    title: pa.Array
    description: pa.Array

    @property
    def created_day(self) -> np.ndarray:
        return self.created_s // 86_400

    @property
    def tier(self) -> np.ndarray:
        return self.brand_tier[self.brand]

    def __len__(self) -> int:
        return len(self.category)


def make_ids(prefix: str, count: int, width: int) -> pa.Array:
    """``prefix`` + 1-based zero-padded numbers: ``P000001``..."""
    numbers = pc.utf8_lpad(pa.array(np.arange(1, count + 1)).cast(pa.string()), width, "0")
    return pc.binary_join_element_wise(prefix, numbers, "")


def labels(names: tuple[str, ...], positions: np.ndarray) -> pa.Array:
    """The string of each position: a C++ take, no Python string per row."""
    return pa.array(names, pa.string()).take(pa.array(positions))


def _creation_seconds(spec: ShopSpec, rng: np.random.Generator) -> np.ndarray:
    """Sorted creation times: most before the window, the rest spread over it."""
    start, end = epoch_day(spec.start), epoch_day(spec.end)
    n_initial = max(len(CATEGORIES), int(round(spec.n_products * INITIAL_SHARE)))
    initial = rng.integers(start - INITIAL_SPREAD_DAYS, start, n_initial)
    later = rng.integers(start, max(end, start + 1), spec.n_products - n_initial)
    days = np.concatenate([initial, later])
    return np.sort(days * 86_400 + rng.integers(0, 86_400, len(days)))


def _seasons(category: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Season of every product, drawn with the category's seasonal shares."""
    table = np.zeros((len(CATEGORIES), len(SEASONS)))
    for s, season in enumerate(SEASONS[1:], start=1):
        for name, share in SEASON_CATEGORY_SHARE[season].items():
            table[CATEGORY_NAMES.index(name), s] = share
    table[:, 0] = 1.0 - table[:, 1:].sum(axis=1)
    cumulative = np.cumsum(table, axis=1)[category]
    return np.minimum((rng.random(len(category))[:, None] > cumulative).sum(axis=1), len(SEASONS) - 1)


def _brands(n_products: int, rng: np.random.Generator) -> tuple[tuple[str, ...], np.ndarray, list[np.ndarray]]:
    """Brand names, their tier, and the brands selling in each category."""
    n_brands = int(np.clip(n_products // 25, 2 * len(CATEGORIES), len(BRAND_PREFIXES) * len(BRAND_SUFFIXES)))
    combos = rng.permutation(len(BRAND_PREFIXES) * len(BRAND_SUFFIXES))[:n_brands]
    names = tuple(BRAND_PREFIXES[c // len(BRAND_SUFFIXES)] + BRAND_SUFFIXES[c % len(BRAND_SUFFIXES)] for c in combos)
    tier = rng.choice(len(TIERS), n_brands, p=TIER_SHARE)
    home = np.arange(n_brands) % len(CATEGORIES)
    second = np.where(rng.random(n_brands) < 0.4, rng.integers(0, len(CATEGORIES), n_brands), home)
    sellers = [np.flatnonzero((home == c) | (second == c)) for c in range(len(CATEGORIES))]
    return names, tier, sellers


def _popularity(category: np.ndarray, exponent: float, rng: np.random.Generator) -> np.ndarray:
    """Zipf weight from a random rank inside each category (long tail)."""
    popularity = np.empty(len(category))
    for c in range(len(CATEGORIES)):
        members = np.flatnonzero(category == c)
        ranks = rng.permutation(len(members)) + 1
        popularity[members] = ranks.astype(float) ** -exponent
    return popularity


def _prices(category: np.ndarray, tier: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Prices ending in .99, level set by the category and the brand's tier."""
    base = np.array([c.base_price for c in CATEGORIES])[category]
    raw = base * np.array(TIER_PRICE_FACTOR)[tier] * rng.lognormal(0.0, 0.25, len(category))
    return (np.floor(np.maximum(raw, 1.0)) * 100 + 99) / 100


def _retirement(created_s: np.ndarray, spec: ShopSpec, rng: np.random.Generator) -> np.ndarray:
    """Epoch day a product is retired (no events from then on), or :data:`NEVER`."""
    start, end = epoch_day(spec.start), epoch_day(spec.end)
    first = np.maximum(created_s // 86_400 + 60, start)
    chosen = (rng.random(len(created_s)) < RETIRED_SHARE) & (first < end)
    chosen[: len(CATEGORIES)] = False  # every category keeps its oldest product
    retired = first + (rng.random(len(created_s)) * np.maximum(end - first, 1)).astype(np.int64)
    return np.where(chosen, retired, NEVER)


def make_catalog(spec: ShopSpec) -> Catalog:
    """The product catalogue of ``spec`` (deterministic in ``spec.seed``).

    The first products (one per category) are the oldest, so every category has items
    on the first day of the window.
    """
    rng = np.random.default_rng([spec.seed, CATALOG_STREAM])
    n = spec.n_products
    created_s = _creation_seconds(spec, rng)
    category = rng.choice(len(CATEGORIES), n, p=[c.share for c in CATEGORIES])
    category[: len(CATEGORIES)] = np.arange(len(CATEGORIES))
    season = _seasons(category, rng)
    brand_names, brand_tier, sellers = _brands(n, rng)
    brand = np.empty(n, dtype=np.int64)
    for c, brands in enumerate(sellers):
        members = np.flatnonzero(category == c)
        brand[members] = rng.choice(brands, len(members))
    tier = brand_tier[brand]
    stock = np.where(rng.random(n) < OUT_OF_STOCK_SHARE, 0, rng.geometric(1 / 60, n))
    product_id = make_ids("P", n, 6)
    title, description = _texts(category, season, tier, brand, brand_names, rng)
    return Catalog(
        product_id=product_id,
        category=category,
        season=season,
        brand=brand,
        brand_names=brand_names,
        brand_tier=brand_tier,
        price=_prices(category, tier, rng),
        stock_level=stock,
        created_s=created_s,
        retired_day=_retirement(created_s, spec, rng),
        popularity=_popularity(category, spec.behaviour.zipf_exponent, rng),
        title=pa.array(title, pa.string()),
        description=pa.array(description, pa.string()),
    )


def _texts(
    category: np.ndarray,
    season: np.ndarray,
    tier: np.ndarray,
    brand: np.ndarray,
    brand_names: tuple[str, ...],
    rng: np.random.Generator,
) -> tuple[list[str], list[str]]:
    """Titles and descriptions; one Python pass over products (not over events)."""
    picks = rng.integers(0, 1 << 30, (len(category), 4))
    titles, descriptions = [], []
    for c, s, t, b, p in zip(category.tolist(), season.tolist(), tier.tolist(), brand.tolist(), picks.tolist()):
        cat = CATEGORIES[c]
        adjective = TIER_ADJECTIVES[t][p[0] % len(TIER_ADJECTIVES[t])]
        if s:
            name = SEASONS[s]
            title = f"{adjective} {_pick(SEASON_WORDS[name], p[1])} {_pick(SEASON_NOUNS[name], p[2])}"
            blurb = _pick(SEASON_BLURBS[name], p[3])
        else:
            title = f"{adjective} {_pick(cat.modifiers, p[1])} {_pick(cat.nouns, p[2])}"
            blurb = _pick(cat.blurbs, p[3])
        titles.append(title)
        descriptions.append(f"{title} by {brand_names[b]}, from our {cat.name.lower()} range. {blurb}")
    return titles, descriptions


def _pick(words: tuple[str, ...], draw: int) -> str:
    return words[draw % len(words)]


def products_table(
    catalog: Catalog, rows: np.ndarray, as_of: dt.date, stock_level: np.ndarray | None = None
) -> pa.Table:
    """Landing rows (contract column order) of products ``rows`` as they stand on ``as_of``.

    A product retired on or before ``as_of`` is inactive with no stock; ``stock_level``
    (every product's, :mod:`recsys.generator.stock`) replaces the generated levels.
    """
    active = catalog.retired_day[rows] > epoch_day(as_of)
    stock = (catalog.stock_level if stock_level is None else stock_level)[rows]
    ids = catalog.product_id.take(pa.array(rows))
    titles = catalog.title.take(pa.array(rows)).to_pylist()
    slugs = [re.sub(r"[^a-z0-9]+", "-", t.lower()).strip("-") for t in titles]
    lower_ids = [i.lower() for i in ids.to_pylist()]
    created = np.datetime_as_string(catalog.created_s[rows].astype("datetime64[s]"), unit="s")
    return pa.table(
        {
            "product_id": ids,
            "title": titles,
            "category": labels(CATEGORY_NAMES, catalog.category[rows]),
            "brand": labels(catalog.brand_names, catalog.brand[rows]),
            "price": catalog.price[rows],
            "stock_level": np.where(active, stock, 0),
            "created_at": pa.array(np.char.add(created, "Z"), pa.string()),
            "description": catalog.description.take(pa.array(rows)),
            "image_url": [f"https://cdn.example.com/images/{i}.jpg" for i in lower_ids],
            "product_url": [f"https://shop.example.com/products/{i}-{s}" for i, s in zip(lower_ids, slugs)],
            "is_active": active,
        }
    )
