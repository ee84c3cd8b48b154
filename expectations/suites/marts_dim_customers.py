"""``marts.dim_customers``: one row per customer."""

from __future__ import annotations

from ..catalog import unique_key_index
from ..checks import BatchChecks, SuiteRequest, TableBatch, not_null, unique_key

TABLE = "marts.dim_customers"


def build(conn, request: SuiteRequest) -> tuple[BatchChecks, ...]:
    """The key: ``customer_id`` present and unique (the primary key's when there is one)."""
    key = unique_key("customer_id", index=unique_key_index(conn, request.table, ["customer_id"]))
    batch = TableBatch(request.table)
    return (BatchChecks("table", batch, not_null("customer_id")), BatchChecks("keys", batch, (key,)))
