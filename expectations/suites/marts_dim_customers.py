"""``marts.dim_customers``: one row per customer."""

from __future__ import annotations

from expectations.checks import BatchChecks, SuiteRequest, TableBatch, not_null, unique_key

TABLE = "marts.dim_customers"


def build(conn, request: SuiteRequest) -> tuple[BatchChecks, ...]:
    """The key: ``customer_id`` present and unique."""
    batch = TableBatch(request.table)
    return (BatchChecks("table", batch, not_null("customer_id")), BatchChecks("keys", batch, (unique_key("customer_id"),)))
