"""``raw.klaviyo_events``: one load batch of Klaviyo email metric events."""

from __future__ import annotations

import great_expectations.expectations as gxe

from recsys.contracts import raw

from ..checks import (
    BatchChecks,
    SuiteRequest,
    error,
    not_null,
    raw_batch,
    raw_batch_checks,
    rows_absent,
    timestamp_window,
)
from ..sqltext import render

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
    recipients = rows_absent(
        render("rows_without_contact.sql", columns=["external_id", "email"]),
        "every event names its recipient",
    )
    return (
        *raw_batch_checks(request, SOURCE, rows, key="event_id"),
        BatchChecks("recipients", raw_batch(request), (recipients,)),
    )
