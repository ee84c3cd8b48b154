"""``marts.fct_interactions_daily``: the training base; its key and that every customer and
product it mentions exists in the dimensions."""

from __future__ import annotations

from expectations.checks import BatchChecks, SuiteRequest, TableBatch, not_null, rows_absent, unique_key
from expectations.sqltext import render

TABLE = "marts.fct_interactions_daily"
CUSTOMERS = "marts.dim_customers"
PRODUCTS = "marts.dim_products"


def build(conn, request: SuiteRequest) -> tuple[BatchChecks, ...]:
    """Key (customer, product, day) and referential integrity to both dimensions."""
    key = ("customer_id", "product_id", "event_date")
    rules = (
        unique_key(*key),
        rows_absent(render("orphan_customers.sql", {"customers": CUSTOMERS}),
                    f"every interaction's customer exists in {CUSTOMERS}"),
        rows_absent(render("orphan_products.sql", {"products": PRODUCTS}),
                    f"every interaction's product exists in {PRODUCTS}"),
    )
    batch = TableBatch(request.table)
    return (BatchChecks("table", batch, not_null(*key)), BatchChecks("integrity", batch, rules))
