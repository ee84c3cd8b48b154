"""``marts.dim_customers``: one row per customer."""

from __future__ import annotations

from expectations.checks import BatchChecks, SuiteRequest, TableBatch, key_checks

TABLE = "marts.dim_customers"


def build(conn, request: SuiteRequest) -> tuple[BatchChecks, ...]:
    """The key: ``customer_id`` present and unique."""
    return (BatchChecks("table", TableBatch(request.table), key_checks(("customer_id",))),)
