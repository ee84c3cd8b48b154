"""``raw.klaviyo_events``: one load batch of Klaviyo email metric events."""

from __future__ import annotations

import great_expectations.expectations as gxe

from recsys.contracts import raw

from ..checks import (
    BatchChecks,
    SuiteRequest,
    contact_named,
    error,
    not_null,
    raw_batch_checks,
    timestamp_window,
)

TABLE = "raw.klaviyo_events"
SOURCE = raw.KLAVIYO_EVENTS


def build(conn, request: SuiteRequest) -> tuple[BatchChecks, ...]:
    """Schema, known event names, one row per event id, and a recipient on every row."""
    start, end = timestamp_window(request)
    rows = (
        *not_null("event_id", "metric", "event_ts", "campaign_name"),
        error(gxe.ExpectColumnValuesToBeInSet(column="metric", value_set=list(raw.KLAVIYO_EMAIL_METRICS))),
        error(gxe.ExpectColumnValuesToBeBetween(column="event_ts", min_value=start, max_value=end)),
    )
    return (
        *raw_batch_checks(request, SOURCE, rows, key="event_id"),
        contact_named(request, "recipients", ["external_id", "email"], "every event names its recipient"),
    )
