"""The shop generator: contract-exact, deterministic files with the documented planted structure.

No database: the tiny preset is generated into a temporary folder (about a second per
run) and read back with pyarrow, the way a loader would see it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import gzip
import hashlib
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pytest
from typer.testing import CliRunner

from recsys.cli.main import app
from recsys.generator.calendar import SEASONS
from recsys.generator.catalog import CATEGORIES, SEASON_WORDS
from recsys.generator.shop import generate_shop, ground_truth, landing_dates, shop_spec
from recsys.generator.spec import Behaviour, ShopSpec

DAILY_DAYS = 3
HEADERS = {
    "events": "event_id,customer_id,session_id,event_type,product_id,event_ts,price,rating",
    "products": "product_id,title,category,brand,price,stock_level,created_at,description,image_url,product_url,is_active",
    "customers": "customer_id,country,signup_date,email,marketing_consent,age_band",
    "suppressions": "customer_id,email,reason,suppressed_at,source",
}
CONSUMABLES = {c.name for c in CATEGORIES if c.consumable}


def digests(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def read_source(root: Path, source: str) -> pd.DataFrame:
    """All files of one landing source, parsed as a loader would (empty field = missing)."""
    options = pacsv.ConvertOptions(strings_can_be_null=True, column_types={"customer_id": pa.string()})
    frames = []
    for path in sorted((root / source).glob("*.csv.gz")):
        frame = pacsv.read_csv(path, convert_options=options).to_pandas()
        frames.append(frame.assign(file_date=dt.date.fromisoformat(path.name.split("_")[1][:10])))
    return pd.concat(frames, ignore_index=True)


@pytest.fixture(scope="module")
def spec() -> ShopSpec:
    return shop_spec("tiny")


@pytest.fixture(scope="module")
def shop(spec, tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("shop")
    generate_shop(spec, root, daily_days=DAILY_DAYS)
    return root


def joined_events(shop: Path) -> pd.DataFrame:
    """Events joined with the planted truth of their product and customer."""
    truth_products = pd.read_parquet(shop / "_truth" / "products.parquet")
    truth_customers = pd.read_parquet(shop / "_truth" / "customers.parquet")
    segments = pd.read_parquet(shop / "_truth" / "segments.parquet")
    frame = read_source(shop, "events").merge(truth_products, on="product_id", how="left")
    frame = frame.merge(truth_customers, on="customer_id", how="left")
    preferred = set(zip(segments.segment, segments.category))
    return frame.assign(in_segment=[(s, c) in preferred for s, c in zip(frame.segment, frame.category)])


@pytest.fixture(scope="module")
def events(shop) -> pd.DataFrame:
    return joined_events(shop)


def test_same_seed_gives_byte_identical_files(spec, shop, tmp_path):
    generate_shop(spec, tmp_path, daily_days=DAILY_DAYS)
    assert digests(tmp_path) == digests(shop)


def test_chunk_size_does_not_change_a_byte(spec, shop, tmp_path):
    # Each day has its own random stream keyed by (seed, day), so chunks only group writes.
    generate_shop(spec, tmp_path, daily_days=DAILY_DAYS, chunk_events=997)
    assert digests(tmp_path) == digests(shop)


def test_another_seed_gives_other_files(spec, shop, tmp_path):
    generate_shop(dataclasses.replace(spec, seed=spec.seed + 1), tmp_path, daily_days=DAILY_DAYS)
    ours, theirs = digests(shop), digests(tmp_path)
    compared = [name for name in ours if name.startswith("events/") or name.endswith(("_truth/customers.parquet",))]
    assert len(compared) == DAILY_DAYS + 2
    assert all(ours[name] != theirs[name] for name in compared)


def test_files_have_the_contract_header_and_parse(shop):
    for source, header in HEADERS.items():
        paths = sorted((shop / source).glob(f"{source}_*.csv.gz"))
        assert paths, f"no {source} files"
        for path in paths:
            with gzip.open(path, "rt") as handle:
                assert handle.readline().rstrip("\n") == header, path.name
            assert pacsv.read_csv(path).column_names == header.split(","), path.name


def test_history_file_then_one_file_per_day(spec, shop):
    history_end, daily = landing_dates(spec, DAILY_DAYS)
    names = sorted(p.name for p in (shop / "events").iterdir())
    assert names == [f"events_{d}.csv.gz" for d in [history_end, *daily]]
    events = read_source(shop, "events")
    day = events.event_ts.dt.date
    history = events.file_date == history_end
    assert day[history].between(spec.start, history_end).all()
    assert (day[~history] == events.file_date[~history]).all()


def test_daily_reference_files_hold_that_days_changes(spec, shop):
    history_end, daily = landing_dates(spec, DAILY_DAYS)
    products, customers = read_source(shop, "products"), read_source(shop, "customers")
    assert set(products.file_date) | set(customers.file_date) <= {history_end, *daily}
    later = products[products.file_date > history_end]
    created_that_day = later.created_at.dt.date == later.file_date
    before = products.sort_values("file_date").groupby("product_id")["stock_level"].shift().reindex(products.index)
    stock_moved = (products.stock_level != before)[later.index]
    assert (created_that_day | ~later.is_active | stock_moved).all()
    moved = later[stock_moved & ~created_that_day & later.is_active]
    assert (moved.stock_level == 0).any() and (moved.stock_level > 3).any(), "sell-outs and restocks"
    assert moved.stock_level.between(1, 3).any(), "products running low"
    later_customers = customers[customers.file_date > history_end]
    assert (pd.to_datetime(later_customers.signup_date).dt.date == later_customers.file_date).all()
    assert customers.customer_id.is_unique


def test_event_count_close_to_target(spec, events):
    assert abs(len(events) - spec.n_events) < 0.05 * spec.n_events


def test_ids_are_unique_and_reference_known_rows(shop, events):
    assert events.event_id.is_unique
    assert set(events.product_id) <= set(read_source(shop, "products").product_id)
    known = events.customer_id.dropna()
    assert set(known) <= set(read_source(shop, "customers").customer_id)


def test_nothing_happens_before_the_product_or_customer_exists(shop, events):
    products = read_source(shop, "products").drop_duplicates("product_id")
    created = events.merge(products[["product_id", "created_at"]], on="product_id", suffixes=("", "_file"))
    assert (created.event_ts > created.created_at_file).all()
    customers = read_source(shop, "customers")
    signed = events.merge(customers[["customer_id", "signup_date"]], on="customer_id")
    assert (signed.event_ts.dt.date >= pd.to_datetime(signed.signup_date).dt.date).all()


def test_no_event_after_a_product_is_retired(events):
    retired = events.dropna(subset=["retired_on"])
    assert (retired.event_ts.dt.tz_localize(None) < retired.retired_on).all()


def test_funnel_ratios_in_documented_ranges(events):
    counts = events.event_type.value_counts()
    assert 0.08 <= counts["cart"] / counts["view"] <= 0.10
    assert 0.30 <= counts["purchase"] / counts["cart"] <= 0.40
    assert 0.20 <= counts["rating"] / counts["purchase"] <= 0.30


def test_every_purchase_follows_a_cart_of_the_same_session(events):
    steps = events.groupby(["session_id", "product_id", "event_type"]).event_ts.min().unstack()
    bought = steps.dropna(subset=["purchase"])
    assert bought.cart.notna().all()
    assert (bought.view <= bought.cart).all() and (bought.cart <= bought.purchase).all()


def test_anonymous_events_are_about_one_percent_and_only_views(events):
    anonymous = events[events.customer_id.isna()]
    assert 0.005 <= len(anonymous) / len(events) <= 0.02
    assert set(anonymous.event_type) == {"view"}


def test_segment_preferences_show_in_purchases(events):
    purchases = events[events.event_type == "purchase"]
    for segment, bought in purchases.groupby("segment"):
        preferred = set(bought.category[bought.in_segment])
        chance = purchases.category.isin(preferred).mean()
        share = bought.in_segment.mean()
        assert share > 0.6 and share > 2.5 * chance, (segment, share, chance)


def test_ratings_are_higher_in_segment_categories(events):
    ratings = events[events.event_type == "rating"]
    assert ratings.rating.between(1, 5).all()
    by_fit = ratings.groupby("in_segment").rating.mean()
    assert by_fit[True] > by_fit[False] + 0.5


@pytest.mark.parametrize(
    "season, months, off_season, purchase_share",
    [
        ("christmas", {11, 12}, {2, 3, 4, 5, 6, 7, 8}, 0.75),
        ("summer", {6, 7, 8}, {1, 2, 3, 11, 12}, 0.6),
        ("back_to_school", {8, 9}, {1, 2, 3, 4, 5, 12}, 0.6),
    ],
)
def test_seasonal_items_sell_in_their_season(events, season, months, off_season, purchase_share):
    # Shoulder months (a little demand in May or July) keep the in-season share below 1.
    seasonal = events[events.season == season]
    month = seasonal.event_ts.dt.month
    views, purchases = seasonal.event_type == "view", seasonal.event_type == "purchase"
    assert purchases.sum() >= 5
    assert month[purchases].isin(months).mean() > purchase_share
    assert month[views].isin(months).mean() > 0.65
    per_month_in = month[views].isin(months).sum() / len(months)
    per_month_off = month[views].isin(off_season).sum() / len(off_season)
    assert per_month_off < 0.05 * per_month_in


def test_repeat_purchases_concentrate_on_consumable_staples(events):
    purchases = events[events.event_type == "purchase"]
    pairs = purchases.groupby(["customer_id", "product_id"]).agg(
        n=("event_id", "size"), category=("category", "first"), staple=("staple_product_id", "first")
    )
    repeats = pairs[pairs.n > 1].reset_index()
    consumable_share = purchases.category.isin(CONSUMABLES).mean()
    assert len(repeats) >= 20
    assert repeats.category.isin(CONSUMABLES).mean() > max(0.5, 1.5 * consumable_share)
    assert (repeats.product_id == repeats.staple).mean() > 0.3


def test_volume_grows_and_peaks_on_sundays(events):
    day = events.event_ts.dt.tz_localize(None)
    assert (day.dt.year == 2023).sum() > 1.2 * (day.dt.year == 2022).sum()
    assert day.dt.day_of_week.value_counts().idxmax() == 6


def test_popularity_has_a_long_tail(events):
    views = events[events.event_type == "view"].product_id.value_counts()
    top = views.head(max(len(views) // 10, 1)).sum()
    assert top / views.sum() > 0.3


def test_product_text_carries_category_and_season(shop):
    products = (
        read_source(shop, "products")
        .drop_duplicates("product_id")
        .merge(pd.read_parquet(shop / "_truth" / "products.parquet")[["product_id", "season"]], on="product_id")
    )
    pattern = "|".join(SEASON_WORDS["christmas"])
    is_christmas = products.season == "christmas"
    assert products.title[is_christmas].str.contains(pattern).all()
    assert not products.title[~is_christmas].str.contains(pattern).any()
    nouns = {c.name: "|".join(c.nouns) for c in CATEGORIES}
    plain = products[products.season == "none"]
    assert all(plain.title[plain.category == name].str.contains(words).all() for name, words in nouns.items())
    assert products.image_url.notna().all() and products.product_url.str.startswith("https://").all()


def test_price_level_follows_the_brand_tier(shop):
    truth = pd.read_parquet(shop / "_truth" / "products.parquet")
    products = read_source(shop, "products").drop_duplicates("product_id").merge(truth[["product_id", "price_tier"]])
    assert (products.groupby("brand").price_tier.nunique() == 1).all()
    relative = products.price / products.category.map({c.name: c.base_price for c in CATEGORIES})
    medians = relative.groupby(products.price_tier).median()
    assert medians["budget"] < medians["mid"] < medians["premium"]
    assert 0.02 < (products.stock_level == 0).mean() < 0.2


def test_customers_have_attributes_and_grow_over_the_window(spec, shop):
    customers = read_source(shop, "customers")
    assert customers.country.value_counts().idxmax() == "United Kingdom"
    assert customers.email.is_unique and customers.email.str.endswith("@example.com").all()
    signup = pd.to_datetime(customers.signup_date).dt.date
    assert (signup < spec.start).any() and (signup > spec.start).mean() > 0.4
    assert customers.age_band.nunique() == 6


def test_ground_truth_is_what_was_written(spec, shop):
    truth = ground_truth(spec)
    for name in ("customers", "segments", "products"):
        pd.testing.assert_frame_equal(getattr(truth, name), pd.read_parquet(shop / "_truth" / f"{name}.parquet"))
    assert set(truth.products.season) == set(SEASONS)
    assert truth.segments.groupby("segment").weight.sum().round(6).eq(1.0).all()


def test_invalid_requests_fail_with_a_clear_message(spec, tmp_path):
    with pytest.raises(ValueError, match="choose one of"):
        shop_spec("huge")
    with pytest.raises(ValueError, match="daily_days"):
        generate_shop(spec, tmp_path, daily_days=spec.n_days)
    with pytest.raises(ValueError, match="probability"):
        Behaviour(purchase=1.5)
    with pytest.raises(ValueError, match="before start"):
        dataclasses.replace(spec, end=spec.start - dt.timedelta(days=1))
    assert not any(tmp_path.iterdir())


def test_cli_generates_into_the_given_folder(tmp_path):
    result = CliRunner().invoke(
        app,
        [
            "generate",
            "--size",
            "tiny",
            "--out",
            str(tmp_path),
            "--events",
            "3000",
            "--customers",
            "200",
            "--products",
            "80",
            "--start",
            "2023-11-01",
            "--end",
            "2023-12-31",
            "--daily-days",
            "2",
            "--no-truth",
        ],
    )
    assert result.exit_code == 0, result.output
    assert (tmp_path / "events" / "events_2023-12-31.csv.gz").exists()
    assert (tmp_path / "events" / "events_2023-12-29.csv.gz").exists()
    assert not (tmp_path / "_truth").exists()
    rows = pacsv.read_csv(tmp_path / "events" / "events_2023-12-29.csv.gz").num_rows
    assert 0.5 * 3000 < rows < 3000
