"""``raw.customers``: one load batch of customers."""

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
    schema_checks,
    unique_key,
    warning,
)

TABLE = "raw.customers"
COLUMNS = contract_columns(raw.CUSTOMERS)


def build(conn, request: SuiteRequest) -> tuple[BatchChecks, ...]:
    """Schema, one row per customer, sign-up dates between the opening and the run."""
    rows = (
        warning(gxe.ExpectTableRowCountToBeBetween(min_value=1), note="an empty batch loads nothing"),
        *not_null("customer_id"),
        error(
            gxe.ExpectColumnValuesToBeBetween(
                column="signup_date", min_value=request.shop_opened, max_value=request.logical_date
            )
        ),
    )
    batch = raw_batch(request)
    return (
        schema_checks(request.table, COLUMNS),
        BatchChecks("batch", batch, rows),
        BatchChecks("keys", batch, (unique_key("customer_id"),)),
    )
