"""``marts.dim_products``: one row per product."""

from __future__ import annotations

from expectations.checks import BatchChecks, SuiteRequest, TableBatch, key_checks

TABLE = "marts.dim_products"


def build(conn, request: SuiteRequest) -> tuple[BatchChecks, ...]:
    """The key: ``product_id`` present and unique."""
    return (BatchChecks("table", TableBatch(request.table), key_checks(("product_id",))),)
