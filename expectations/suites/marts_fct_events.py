"""``marts.fct_events``: keys, freshness, and the logical date's volume and mix against
bands learnt from the days before.

The table is incremental (rebuilt by day), so row checks read the days the night rebuilt
(:mod:`recsys_expectations.window`); the key is the primary key's when the table has one, and
freshness and the history use the date index: the gate costs the night, not the history.
"""

from __future__ import annotations

import datetime as dt

import great_expectations.expectations as gxe

from recsys.contracts import raw

from ..bands import Band, share_band, volume_band
from ..catalog import unique_key_index
from ..checks import (
    BatchChecks,
    QueryBatch,
    SuiteRequest,
    TableBatch,
    banded,
    error,
    not_null,
    unique_key,
)
from ..history import daily_event_history
from ..sqltext import render
from ..window import recent_rows

TABLE = "marts.fct_events"
#: First-seen dates of products (a product is "new" on the day the warehouse first saw it).
PRODUCTS = "marts.dim_products"


def build(conn, request: SuiteRequest) -> tuple[BatchChecks, ...]:
    """Rows of the rebuilt days, the key, and one-row batches of the latest day (freshness)
    and of the day's aggregates."""
    cfg, day = request.config, request.logical_date
    window = daily_event_history(conn, request.table, PRODUCTS, day, cfg.history_days)
    history = {k: [v for v in values if v.day < day] for k, values in window.items()}
    has_events = any(v.day == day for v in window["events"])
    fresh_from = day - dt.timedelta(days=cfg.freshness_lag_days)
    rows = (
        *not_null("event_id"),
        error(gxe.ExpectColumnValuesToBeInSet(column="event_type", value_set=list(raw.EVENT_TYPES))),
    )
    freshness = (
        error(
            gxe.ExpectColumnMaxToBeBetween(column="event_date", min_value=fresh_from),
            note=f"freshness: latest event no older than the logical date - {cfg.freshness_lag_days} day(s)",
        ),
    )
    aggregates = (
        banded(gxe.ExpectColumnMaxToBeBetween, volume_band(history["events"], day, cfg), column="n_events"),
        *[
            banded(gxe.ExpectColumnMaxToBeBetween, _share(history[share], has_events, cfg), column=share)
            for share in ("purchase_share", "new_product_share")
        ],
    )
    day_query = render("events_day_aggregates.sql", {"events": request.table, "products": PRODUCTS}, logical_date=day)
    latest_query = render("latest_event_date.sql", {"events": request.table})
    key = unique_key("event_id", index=unique_key_index(conn, request.table, ["event_id"]))
    return (
        BatchChecks("recent", recent_rows(request, "event_date"), rows),
        BatchChecks("latest", QueryBatch(latest_query), freshness),
        BatchChecks("keys", TableBatch(request.table), (key,)),
        BatchChecks("day", QueryBatch(day_query), aggregates),
    )


def _share(history, has_events: bool, cfg) -> Band:
    """A day without events has no mix to judge (the volume check speaks for it)."""
    band = share_band(history, cfg)
    return band if has_events else band.as_warning("no events on the logical date")
