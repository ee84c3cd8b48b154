"""``raw.braze_events``: one load batch of Braze Currents email events."""

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
    unique_key,
    warning,
)
from ..sqltext import render

TABLE = "raw.braze_events"
COLUMNS = contract_columns(raw.BRAZE_EVENTS)


def build(conn, request: SuiteRequest) -> tuple[BatchChecks, ...]:
    """Schema, known event names, one row per event id, and a recipient on every row."""
    rows = (
        warning(gxe.ExpectTableRowCountToBeBetween(min_value=1), note="an empty batch loads nothing"),
        *not_null("id", "event_type", "time", "campaign_name"),
        error(gxe.ExpectColumnValuesToBeInSet(column="event_type", value_set=list(raw.BRAZE_EMAIL_EVENTS))),
    )
    batch = raw_batch(request)
    return (
        schema_checks(request.table, COLUMNS),
        BatchChecks("batch", batch, rows),
        BatchChecks("keys", batch, (unique_key("id"),)),
        BatchChecks(
            "recipients",
            batch,
            (
                rows_absent(
                    render("rows_without_contact.sql", columns=["external_user_id", "email_address"]),
                    "every event names its recipient",
                ),
            ),
        ),
    )
