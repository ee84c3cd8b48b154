"""``marts.fct_events``: keys, freshness, and the logical date's volume and mix against
bands learnt from the days before."""

from __future__ import annotations

import datetime as dt

import great_expectations.expectations as gxe

from expectations.bands import Band, share_band, volume_band
from expectations.checks import BatchChecks, QueryBatch, SuiteRequest, TableBatch, banded, error, not_null, unique_key
from expectations.history import daily_event_history
from expectations.sqltext import render

TABLE = "marts.fct_events"
EVENT_TYPES = ["view", "cart", "purchase", "rating"]


def build(conn, request: SuiteRequest) -> tuple[BatchChecks, ...]:
    """Whole-table checks plus a one-row batch of the day's aggregates."""
    cfg, day = request.config, request.logical_date
    window = daily_event_history(conn, request.table, day, cfg.history_days)
    history = {k: [v for v in values if v.day < day] for k, values in window.items()}
    has_events = any(v.day == day for v in window["events"])
    fresh_from = day - dt.timedelta(days=cfg.freshness_lag_days)
    table = (
        *not_null("event_id"),
        error(gxe.ExpectColumnValuesToBeInSet(column="event_type", value_set=EVENT_TYPES)),
        error(gxe.ExpectColumnMaxToBeBetween(column="event_date", min_value=fresh_from),
              note=f"freshness: latest event no older than the logical date - {cfg.freshness_lag_days} day(s)"),
    )
    aggregates = (
        banded(gxe.ExpectColumnMaxToBeBetween, volume_band(history["events"], day, cfg), column="n_events"),
        *[
            banded(gxe.ExpectColumnMaxToBeBetween, _share(history[share], has_events, cfg), column=share)
            for share in ("purchase_share", "new_product_share")
        ],
    )
    query = render("events_day_aggregates.sql", {"events": request.table}, logical_date=day)
    batch = TableBatch(request.table)
    return (
        BatchChecks("table", batch, table),
        BatchChecks("keys", batch, (unique_key("event_id"),)),
        BatchChecks("day", QueryBatch(query), aggregates),
    )


def _share(history, has_events: bool, cfg) -> Band:
    """A day without events has no mix to judge (the volume check speaks for it)."""
    band = share_band(history, cfg)
    return band if has_events else band.as_warning("no events on the logical date")
