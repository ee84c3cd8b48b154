"""``raw.braze_events``: one load batch of Braze Currents email events."""

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
)

TABLE = "raw.braze_events"
SOURCE = raw.BRAZE_EVENTS


def build(conn, request: SuiteRequest) -> tuple[BatchChecks, ...]:
    """Schema, known event names, one row per event id, and a recipient on every row."""
    rows = (
        *not_null("id", "event_type", "time", "campaign_name"),
        error(gxe.ExpectColumnValuesToBeInSet(column="event_type", value_set=list(raw.BRAZE_EMAIL_EVENTS))),
    )
    return (
        *raw_batch_checks(request, SOURCE, rows, key="id"),
        contact_named(request, "recipients", ["external_user_id", "email_address"], "every event names its recipient"),
    )
