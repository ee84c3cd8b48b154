"""``raw.customers``: one load batch of customers."""

from __future__ import annotations

import great_expectations.expectations as gxe

from expectations.checks import BatchChecks, SuiteRequest, error, raw_batch, schema_checks, warning

TABLE = "raw.customers"
COLUMNS = {
    "customer_id": "text",
    "country": "text",
    "signup_date": "date",
    "email": "text",
    "attributes": "jsonb",
    "_batch_id": "integer",
    "_line_number": "integer",
}


def build(conn, request: SuiteRequest) -> tuple[BatchChecks, ...]:
    """Schema, one row per customer, sign-up dates between the opening and the run."""
    rows = (
        warning(gxe.ExpectTableRowCountToBeBetween(min_value=1), note="an empty batch loads nothing"),
        error(gxe.ExpectColumnValuesToNotBeNull(column="customer_id")),
        error(gxe.ExpectColumnValuesToBeUnique(column="customer_id")),
        error(gxe.ExpectColumnValuesToBeBetween(column="signup_date", min_value=request.shop_opened,
                                                max_value=request.logical_date)),
    )
    return (schema_checks(request.table, COLUMNS), BatchChecks("batch", raw_batch(request), rows))
