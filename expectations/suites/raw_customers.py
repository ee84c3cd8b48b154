"""``raw.customers``: one load batch of customers."""

from __future__ import annotations

import great_expectations.expectations as gxe

from recsys.contracts import raw

from ..checks import (
    BatchChecks,
    SuiteRequest,
    error,
    not_null,
    raw_batch_checks,
)

TABLE = "raw.customers"
SOURCE = raw.CUSTOMERS


def build(conn, request: SuiteRequest) -> tuple[BatchChecks, ...]:
    """Schema, one row per customer, sign-up dates between the opening and the run."""
    rows = (
        *not_null("customer_id"),
        error(
            gxe.ExpectColumnValuesToBeBetween(
                column="signup_date", min_value=request.shop_opened, max_value=request.logical_date
            )
        ),
    )
    return raw_batch_checks(request, SOURCE, rows, key="customer_id")
