"""``marts.fct_interactions_daily``: the training base; its key and that every customer and
product it mentions exists in the dimensions."""

from __future__ import annotations

from expectations.checks import BatchChecks, SuiteRequest, TableBatch, key_checks, rows_absent
from expectations.sqltext import render

TABLE = "marts.fct_interactions_daily"
CUSTOMERS = "marts.dim_customers"
PRODUCTS = "marts.dim_products"


def build(conn, request: SuiteRequest) -> tuple[BatchChecks, ...]:
    """Key (customer, product, day) and referential integrity to both dimensions."""
    rules = (
        rows_absent(render("orphan_customers.sql", {"customers": CUSTOMERS}),
                    f"every interaction's customer exists in {CUSTOMERS}"),
        rows_absent(render("orphan_products.sql", {"products": PRODUCTS}),
                    f"every interaction's product exists in {PRODUCTS}"),
    )
    batch = TableBatch(request.table)
    keys = key_checks(("customer_id", "product_id", "event_date"))
    return (BatchChecks("table", batch, keys), BatchChecks("integrity", batch, rules))
