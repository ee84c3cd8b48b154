"""``raw.braze_events``: one load batch of Braze Currents email events."""

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
)
from ..sqltext import render

TABLE = "raw.braze_events"
SOURCE = raw.BRAZE_EVENTS


def build(conn, request: SuiteRequest) -> tuple[BatchChecks, ...]:
    """Schema, known event names, one row per event id, and a recipient on every row."""
    rows = (
        *not_null("id", "event_type", "time", "campaign_name"),
        error(gxe.ExpectColumnValuesToBeInSet(column="event_type", value_set=list(raw.BRAZE_EMAIL_EVENTS))),
    )
    recipients = rows_absent(
        render("rows_without_contact.sql", columns=["external_user_id", "email_address"]),
        "every event names its recipient",
    )
    return (
        *raw_batch_checks(request, SOURCE, rows, key="id"),
        BatchChecks("recipients", raw_batch(request), (recipients,)),
    )
