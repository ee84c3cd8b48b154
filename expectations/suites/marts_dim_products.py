"""``marts.dim_products``: one row per product."""

from __future__ import annotations

from ..catalog import unique_key_index
from ..checks import BatchChecks, SuiteRequest, TableBatch, not_null, unique_key

TABLE = "marts.dim_products"


def build(conn, request: SuiteRequest) -> tuple[BatchChecks, ...]:
    """The key: ``product_id`` present and unique (the primary key's when there is one)."""
    key = unique_key("product_id", index=unique_key_index(conn, request.table, ["product_id"]))
    batch = TableBatch(request.table)
    return (BatchChecks("table", batch, not_null("product_id")), BatchChecks("keys", batch, (key,)))
