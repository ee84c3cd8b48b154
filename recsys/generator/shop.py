"""A realistic, seeded shop: landing files with planted structure, and its ground truth.

``generate_shop`` writes products, customers and events in the landing file contract
(docs/architecture.md), either one file per source or one history file plus a file per
day for the last N days, so a sequence of logical dates each finds its own new files.
Events are generated one day at a time (random stream keyed by seed and day) and
streamed to gzip, so memory does not grow with the number of events and the bytes do
not depend on the chunk size.  ``ground_truth`` returns what was planted (segments,
preferences, seasons) for model tests; it is written to ``<out>/_truth`` and never
loaded into the warehouse.  The planted parameters are documented in docs/generator.md.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from recsys.generator.calendar import SEASONS, epoch_day
from recsys.generator.catalog import (
    CATEGORY_NAMES,
    NEVER,
    TIERS,
    Catalog,
    labels,
    make_catalog,
    products_table,
)
from recsys.generator.customers import (
    SEGMENTS,
    Customers,
    customers_table,
    make_customers,
    suppressions_table,
)
from recsys.generator.events import EVENT_SCHEMA, day_events, event_model
from recsys.generator.spec import PRESETS, Behaviour, ShopSpec, shop_spec
from recsys.generator.stock import stock_movements
from recsys.generator.writers import CsvGzWriter, write_csv_gz

__all__ = [
    "PRESETS",
    "Behaviour",
    "ShopSpec",
    "shop_spec",
    "GenerationReport",
    "ShopTruth",
    "generate_shop",
    "ground_truth",
    "write_truth",
    "landing_dates",
]

TRUTH_DIR = "_truth"


@dataclass(frozen=True)
class GenerationReport:
    """What ``generate_shop`` wrote."""

    files: tuple[Path, ...]
    n_products: int
    n_customers: int
    n_events: int
    seconds: float


@dataclass(frozen=True)
class ShopTruth:
    """The planted structure, one frame per concern.

    Attributes
    ----------
    customers : DataFrame
        ``customer_id, segment, segment_name, staple_product_id`` (None: no staple).
    segments : DataFrame
        ``segment, segment_name, category, weight``: the preferred categories of each
        segment (weights sum to 1 per segment).
    products : DataFrame
        ``product_id, category, brand, price_tier, season, popularity, created_at,
        retired_on`` (first day without events; NaT for products never retired).
    """

    customers: pd.DataFrame
    segments: pd.DataFrame
    products: pd.DataFrame


def landing_dates(spec: ShopSpec, daily_days: int) -> tuple[dt.date, list[dt.date]]:
    """The history file's date and the dates of the daily files.

    ``daily_days=0`` gives a single file per source dated ``spec.end``.
    """
    if not 0 <= daily_days < spec.n_days:
        raise ValueError(
            f"daily_days={daily_days}: use 0..{spec.n_days - 1} so the history file keeps at least one day"
        )
    history_end = spec.end - dt.timedelta(days=daily_days)
    return history_end, [history_end + dt.timedelta(days=i) for i in range(1, daily_days + 1)]


def _truth(catalog: Catalog, customers: Customers) -> ShopTruth:
    """Truth frames built as Arrow tables (no Python string per row, even for 1M customers)."""
    never = catalog.retired_day >= NEVER
    products = pa.table(
        {
            "product_id": catalog.product_id,
            "category": labels(CATEGORY_NAMES, catalog.category),
            "brand": labels(catalog.brand_names, catalog.brand),
            "price_tier": labels(TIERS, catalog.tier),
            "season": labels(SEASONS, catalog.season),
            "popularity": catalog.popularity,
            "created_at": pa.array(catalog.created_s * 1000, pa.timestamp("ms", "UTC")),  # Parquet has no seconds unit
            "retired_on": pa.array(np.where(never, 0, catalog.retired_day).astype(np.int32), pa.date32(), mask=never),
        }
    )
    segments = pd.DataFrame(
        [(s, seg.name, name, weight) for s, seg in enumerate(SEGMENTS) for name, weight in seg.preferences.items()],
        columns=["segment", "segment_name", "category", "weight"],
    )
    people = pa.table(
        {
            "customer_id": customers.customer_id,
            "segment": customers.segment,
            "segment_name": labels(tuple(s.name for s in SEGMENTS), customers.segment),
            "staple_product_id": catalog.product_id.take(pa.array(customers.staple, mask=customers.staple < 0)),
        }
    )
    return ShopTruth(customers=people.to_pandas(), segments=segments, products=products.to_pandas(date_as_object=False))


def ground_truth(spec: ShopSpec) -> ShopTruth:
    """The planted segments, preferences and seasons of the shop ``spec`` generates.

    Cheap (no events are generated): tests can ask for it without the files.
    """
    catalog = make_catalog(spec)
    return _truth(catalog, make_customers(spec, catalog))


def write_truth(truth: ShopTruth, folder: Path) -> list[Path]:
    """Write the truth frames as ``customers/segments/products.parquet`` in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name in ("customers", "segments", "products"):
        path = folder / f"{name}.parquet"
        getattr(truth, name).to_parquet(path, index=False)
        paths.append(path)
    return paths


def _file_days(spec: ShopSpec, daily_days: int) -> Iterator[tuple[dt.date, list[dt.date]]]:
    """(file date, days whose rows it holds): the history file, then one file per day."""
    history_end, daily = landing_dates(spec, daily_days)
    yield history_end, [spec.start + dt.timedelta(days=i) for i in range((history_end - spec.start).days + 1)]
    for day in daily:
        yield day, [day]


def _write_reference(catalog: Catalog, customers: Customers, spec: ShopSpec, out: Path, daily_days: int) -> list[Path]:
    """Products and customers: everything up to the history date, then the day's changes.

    A daily products file holds the products created or retired that day and those whose
    stock moved (:mod:`recsys.generator.stock`; latest row per ``product_id`` wins); a daily
    customers file the customers who signed up that day.  Days without changes get no file.
    """
    history_end, daily = landing_dates(spec, daily_days)
    created, retired, signup = catalog.created_day, catalog.retired_day, customers.signup_day
    paths = [
        write_csv_gz(
            out / "products" / f"products_{history_end}.csv.gz",
            products_table(catalog, np.flatnonzero(created <= epoch_day(history_end)), history_end),
        ),
        write_csv_gz(
            out / "customers" / f"customers_{history_end}.csv.gz",
            customers_table(customers, np.flatnonzero(signup <= epoch_day(history_end))),
        ),
        write_csv_gz(
            out / "suppressions" / f"suppressions_{history_end}.csv.gz",
            suppressions_table(customers, spec, epoch_day(history_end)),
        ),
    ]
    for day, moved, stock in stock_movements(catalog, spec, daily):
        today = epoch_day(day)
        new_products = np.union1d(np.flatnonzero((created == today) | (retired == today)), moved)
        if len(new_products):
            paths.append(
                write_csv_gz(
                    out / "products" / f"products_{day}.csv.gz", products_table(catalog, new_products, day, stock)
                )
            )
        new_customers = np.flatnonzero(signup == today)
        if len(new_customers):
            paths.append(
                write_csv_gz(out / "customers" / f"customers_{day}.csv.gz", customers_table(customers, new_customers))
            )
    return paths


def generate_shop(
    spec: ShopSpec,
    out: Path,
    *,
    daily_days: int = 0,
    chunk_events: int = 250_000,
    with_truth: bool = True,
) -> GenerationReport:
    """Write the shop's landing files (and ground truth) under ``out``.

    Parameters
    ----------
    spec : ShopSpec
        Sizes, window and seed; the same spec always gives byte-identical files.
    out : Path
        Landing root: files go to ``out/products``, ``out/customers``, ``out/events``
        and the truth to ``out/_truth``.  Existing files of the same name are replaced.
    daily_days : int
        Write the last ``daily_days`` days as one file per day and source, and all days
        before them into one history file; 0 writes one file per source.
    chunk_events : int
        Events buffered before compression; bounds memory, does not change the bytes.
    with_truth : bool
        Also write ``_truth/*.parquet``.
    """
    began = time.perf_counter()
    landing_dates(spec, daily_days)  # validates daily_days before any work
    out = Path(out)
    catalog = make_catalog(spec)
    customers = make_customers(spec, catalog)
    paths = _write_reference(catalog, customers, spec, out, daily_days)
    model = event_model(spec, catalog, customers)
    n_events = 0
    for file_date, days in _file_days(spec, daily_days):
        path = out / "events" / f"events_{file_date}.csv.gz"
        with CsvGzWriter(path, EVENT_SCHEMA, chunk_rows=chunk_events, quoting="none") as writer:
            for day in days:
                writer.write(day_events(model, day))
        n_events += writer.rows
        paths.append(path)
    if with_truth:
        paths.extend(write_truth(_truth(catalog, customers), out / TRUTH_DIR))
    return GenerationReport(
        files=tuple(paths),
        n_products=len(catalog),
        n_customers=len(customers),
        n_events=n_events,
        seconds=time.perf_counter() - began,
    )
