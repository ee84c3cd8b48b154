"""``raw.klaviyo_events``: one load batch of Klaviyo email metric events."""

from __future__ import annotations

import great_expectations.expectations as gxe

from recsys.contracts import raw

from ..checks import (
    BatchChecks,
    SuiteRequest,
    contract_columns,
    error,
    not_null,
    raw_batch,
    rows_absent,
    schema_checks,
    timestamp_window,
    unique_key,
    warning,
)
from ..sqltext import render

TABLE = "raw.klaviyo_events"
COLUMNS = contract_columns(raw.KLAVIYO_EVENTS)


def build(conn, request: SuiteRequest) -> tuple[BatchChecks, ...]:
    """Schema, known event names, one row per event id, and a recipient on every row."""
    start, end = timestamp_window(request)
    rows = (
        warning(gxe.ExpectTableRowCountToBeBetween(min_value=1), note="an empty batch loads nothing"),
        *not_null("event_id", "metric", "event_ts", "campaign_name"),
        error(gxe.ExpectColumnValuesToBeInSet(column="metric", value_set=list(raw.KLAVIYO_EMAIL_METRICS))),
        error(gxe.ExpectColumnValuesToBeBetween(column="event_ts", min_value=start, max_value=end)),
    )
    batch = raw_batch(request)
    return (
        schema_checks(request.table, COLUMNS),
        BatchChecks("batch", batch, rows),
        BatchChecks("keys", batch, (unique_key("event_id"),)),
        BatchChecks(
            "recipients",
            batch,
            (
                rows_absent(
                    render("rows_without_contact.sql", columns=["external_id", "email"]),
                    "every event names its recipient",
                ),
            ),
        ),
    )
