"""Generated customers: country, signup date, a hidden taste segment and a staple product.

The segment is never written to the landing files; it drives which categories a
customer browses (``Segment.preferences``) and, through ``age_band``, leaves a visible
trace in the customer attributes.  Customers are numbered in signup order:
``C0000001`` signed up first.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from recsys.generator.calendar import epoch_day
from recsys.generator.catalog import (
    CATEGORIES,
    CATEGORY_NAMES,
    Catalog,
    labels,
    make_ids,
)
from recsys.generator.spec import ShopSpec

#: Random stream of the customer base.
CUSTOMER_STREAM = 2
#: Streams of marketing consent and of the suppression list (their own, so adding them
#: changed no other generated value).
CONSENT_STREAM, SUPPRESSION_STREAM = 7, 8
#: Share of customers who consented to marketing e-mail.
CONSENT_SHARE = 0.85
#: Share of customers on the suppression list by the end of the window, and its reasons.
SUPPRESSED_SHARE = 0.03
SUPPRESSION_REASONS = (("unsubscribe", 0.6), ("bounce", 0.3), ("complaint", 0.05), ("manual", 0.05))

AGE_BANDS = ("18-24", "25-34", "35-44", "45-54", "55-64", "65+")


@dataclass(frozen=True)
class Segment:
    """A hidden taste segment: its size, preferred categories and age profile."""

    name: str
    share: float
    preferences: dict[str, float]  # category name -> weight (sums to 1)
    age_band_probs: tuple[float, ...]


SEGMENTS = (
    Segment("homemaker", 0.16, {"Home Decor": 0.6, "Kitchen": 0.4}, (0.05, 0.15, 0.25, 0.25, 0.18, 0.12)),
    Segment("gardener", 0.10, {"Garden": 0.7, "Home Decor": 0.3}, (0.02, 0.06, 0.12, 0.22, 0.28, 0.30)),
    Segment("parent", 0.16, {"Toys": 0.5, "Stationery": 0.3, "Bags": 0.2}, (0.03, 0.30, 0.40, 0.18, 0.06, 0.03)),
    Segment("fashion", 0.14, {"Clothing": 0.6, "Bags": 0.2, "Beauty": 0.2}, (0.30, 0.35, 0.17, 0.10, 0.05, 0.03)),
    Segment("foodie", 0.12, {"Food & Drink": 0.65, "Kitchen": 0.35}, (0.08, 0.25, 0.25, 0.20, 0.14, 0.08)),
    Segment("pet_owner", 0.10, {"Pet Supplies": 1.0}, (0.10, 0.22, 0.22, 0.20, 0.16, 0.10)),
    Segment("techie", 0.10, {"Electronics": 0.7, "Bags": 0.3}, (0.30, 0.35, 0.18, 0.10, 0.05, 0.02)),
    Segment(
        "outdoorsy",
        0.12,
        {"Sports & Outdoor": 0.6, "Garden": 0.2, "Clothing": 0.2},
        (0.15, 0.30, 0.25, 0.16, 0.10, 0.04),
    ),
)

COUNTRIES = (
    ("United Kingdom", 0.55),
    ("Germany", 0.08),
    ("France", 0.08),
    ("Ireland", 0.06),
    ("Netherlands", 0.05),
    ("United States", 0.05),
    ("Spain", 0.04),
    ("Australia", 0.03),
    ("Belgium", 0.03),
    ("Sweden", 0.03),
)

FIRST_NAMES = (
    "oliver",
    "amelia",
    "george",
    "isla",
    "harry",
    "ava",
    "noah",
    "mia",
    "jack",
    "ivy",
    "leo",
    "grace",
    "oscar",
    "freya",
    "charlie",
    "lily",
    "arthur",
    "emily",
    "henry",
    "sophie",
    "theo",
    "ella",
    "luca",
    "chloe",
    "finn",
)
LAST_NAMES = (
    "smith",
    "jones",
    "taylor",
    "brown",
    "williams",
    "wilson",
    "johnson",
    "davies",
    "patel",
    "wright",
    "walker",
    "evans",
    "thomas",
    "roberts",
    "green",
    "hall",
    "wood",
    "clarke",
    "hughes",
    "murphy",
    "kelly",
    "muller",
    "martin",
    "bernard",
    "jansen",
)

#: Share of customers who signed up before the window, and over how many days before it.
INITIAL_SHARE = 0.4
INITIAL_SPREAD_DAYS = 2 * 365


@dataclass(frozen=True)
class Customers:
    """All customers, one row per array position (position i is ``C{i+1:07d}``).

    A customer can act from ``signup_day`` (epoch day) on.  ``staple`` is the position
    in the catalogue of the consumable product the customer keeps buying again, or -1
    for a customer without one.
    """

    customer_id: pa.Array
    country: np.ndarray
    signup_day: np.ndarray
    email: pa.Array
    age_band: np.ndarray
    segment: np.ndarray
    activity: np.ndarray
    staple: np.ndarray
    consent: np.ndarray

    def __len__(self) -> int:
        return len(self.segment)


def preference_matrix() -> np.ndarray:
    """Segment x category preference weights (rows sum to 1), shape ``(8, 12)``."""
    matrix = np.zeros((len(SEGMENTS), len(CATEGORIES)))
    for s, segment in enumerate(SEGMENTS):
        for name, weight in segment.preferences.items():
            matrix[s, CATEGORY_NAMES.index(name)] = weight
    return matrix / matrix.sum(axis=1, keepdims=True)


def _staples(segment: np.ndarray, catalog: Catalog, spec: ShopSpec, rng: np.random.Generator) -> np.ndarray:
    """A staple product for a ``behaviour.staple_share`` of customers (-1 for the others).

    A segment that prefers a consumable category takes its staple there; the others draw
    a consumable category by its shop-wide share.  Staples are non-seasonal products of
    the initial catalogue that are never retired, so they can be bought on any day.
    """
    consumables = [c for c, cat in enumerate(CATEGORIES) if cat.consumable]
    shares = np.array([CATEGORIES[c].share for c in consumables])
    preferred = preference_matrix()[:, consumables]
    own = np.where(preferred.max(axis=1) > 0, np.array(consumables)[preferred.argmax(axis=1)], -1)[segment]
    drawn = rng.choice(consumables, len(segment), p=shares / shares.sum())
    staple_category = np.where(own >= 0, own, drawn)
    usable = (
        (catalog.created_day < epoch_day(spec.start))
        & (catalog.season == 0)
        & (catalog.retired_day > epoch_day(spec.end))
    )
    staple = np.empty(len(segment), dtype=np.int64)
    for c in consumables:
        customers = np.flatnonzero(staple_category == c)
        candidates = np.flatnonzero(usable & (catalog.category == c))
        if len(candidates) == 0:
            candidates = np.flatnonzero(catalog.category == c)[:1]  # the category's oldest product
        weights = catalog.popularity[candidates]
        staple[customers] = rng.choice(candidates, len(customers), p=weights / weights.sum())
    return np.where(rng.random(len(segment)) < spec.behaviour.staple_share, staple, -1)


def make_customers(spec: ShopSpec, catalog: Catalog) -> Customers:
    """The customer base of ``spec`` (deterministic in ``spec.seed``)."""
    rng = np.random.default_rng([spec.seed, CUSTOMER_STREAM])
    n = spec.n_customers
    start, end = epoch_day(spec.start), epoch_day(spec.end)
    n_initial = int(round(n * INITIAL_SHARE))
    signup = np.sort(
        np.concatenate(
            [
                rng.integers(start - INITIAL_SPREAD_DAYS, start, n_initial),
                rng.integers(start, end + 1, n - n_initial),
            ]
        )
    )
    segment = rng.choice(len(SEGMENTS), n, p=[s.share for s in SEGMENTS])
    age_cumulative = np.cumsum([s.age_band_probs for s in SEGMENTS], axis=1)[segment]
    age_band = np.minimum((rng.random(n)[:, None] > age_cumulative).sum(axis=1), len(AGE_BANDS) - 1)
    country = rng.choice(len(COUNTRIES), n, p=[share for _, share in COUNTRIES])
    first = labels(FIRST_NAMES, rng.integers(0, len(FIRST_NAMES), n))
    last = labels(LAST_NAMES, rng.integers(0, len(LAST_NAMES), n))
    numbers = pa.array(np.arange(1, n + 1)).cast(pa.string())
    return Customers(
        customer_id=make_ids("C", n, 7),
        country=country,
        signup_day=signup,
        email=pc.binary_join_element_wise(first, ".", last, numbers, "@example.com", ""),
        age_band=age_band,
        segment=segment,
        activity=rng.lognormal(0.0, spec.behaviour.activity_sigma, n),
        staple=_staples(segment, catalog, spec, rng),
        consent=np.random.default_rng([spec.seed, CONSENT_STREAM]).random(n) < CONSENT_SHARE,
    )


def customers_table(customers: Customers, rows: np.ndarray) -> pa.Table:
    """Landing rows (contract columns + ``age_band`` attribute) of customers ``rows``."""
    taken = pa.array(rows)
    signup = np.datetime_as_string(customers.signup_day[rows].astype("datetime64[D]"), unit="D")
    return pa.table(
        {
            "customer_id": customers.customer_id.take(taken),
            "country": labels(tuple(name for name, _ in COUNTRIES), customers.country[rows]),
            "signup_date": pa.array(signup, pa.string()),
            "email": customers.email.take(taken),
            "marketing_consent": pa.array(np.where(customers.consent[rows], "true", "false")),
            "age_band": labels(AGE_BANDS, customers.age_band[rows]),
        }
    )


def suppressions_table(customers: Customers, spec: ShopSpec, until_day: int) -> pa.Table:
    """The suppression list at ``until_day``: :data:`SUPPRESSED_SHARE` of the customers signed
    up by then, suppressed on a day between their signup and ``until_day``; a third are
    listed by address only (as an email tool exports them), the rest by id and address."""
    rng = np.random.default_rng([spec.seed, SUPPRESSION_STREAM])
    n = len(customers)
    chosen = (rng.random(n) < SUPPRESSED_SHARE) & (customers.signup_day <= until_day)
    rows = np.flatnonzero(chosen)
    reason = rng.choice(len(SUPPRESSION_REASONS), n, p=[p for _, p in SUPPRESSION_REASONS])[rows]
    day = customers.signup_day[rows] + (rng.random(n)[rows] * (until_day - customers.signup_day[rows] + 1)).astype(int)
    by_address = rng.random(n)[rows] < 1 / 3
    taken = pa.array(rows)
    stamps = np.datetime_as_string(day.astype("datetime64[D]"), unit="D")
    return pa.table(
        {
            "customer_id": pc.if_else(
                pa.array(by_address), pa.scalar(None, pa.string()), customers.customer_id.take(taken)
            ),
            "email": customers.email.take(taken),
            "reason": labels(tuple(r for r, _ in SUPPRESSION_REASONS), reason),
            "suppressed_at": pa.array([f"{d}T08:00:00Z" for d in stamps], pa.string()),
            "source": pa.array(np.full(len(rows), "shop"), pa.string()),
        }
    )
