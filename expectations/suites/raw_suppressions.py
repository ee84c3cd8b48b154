"""``raw.suppressions``: one load batch of the suppression list (who must not be mailed)."""

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

TABLE = "raw.suppressions"
SOURCE = raw.SUPPRESSIONS


def build(conn, request: SuiteRequest) -> tuple[BatchChecks, ...]:
    """Schema, a known reason and a plausible time on every row, and someone to suppress."""
    start, end = timestamp_window(request)
    rows = (
        *not_null("reason", "suppressed_at"),
        error(gxe.ExpectColumnValuesToBeInSet(column="reason", value_set=list(raw.SUPPRESSION_REASONS))),
        error(gxe.ExpectColumnValuesToBeBetween(column="suppressed_at", min_value=start, max_value=end)),
    )
    return (
        *raw_batch_checks(request, SOURCE, rows),
        contact_named(
            request, "contacts", ["customer_id", "email"], "every suppression names a customer or an address"
        ),
    )
