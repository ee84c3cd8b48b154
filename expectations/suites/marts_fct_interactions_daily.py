"""``marts.fct_interactions_daily``: the training base; its key and that every customer and
product it mentions exists in the dimensions.

Incremental by day like ``fct_events``: the rows checked are those of the days the night
rebuilt (:mod:`recsys_expectations.window`); the key is the primary key's when there is one.
"""

from __future__ import annotations

from ..catalog import unique_key_index
from ..checks import (
    BatchChecks,
    SuiteRequest,
    TableBatch,
    not_null,
    rows_absent,
    unique_key,
)
from ..sqltext import render
from ..window import recent_rows

TABLE = "marts.fct_interactions_daily"
CUSTOMERS = "marts.dim_customers"
PRODUCTS = "marts.dim_products"
KEY = ("customer_id", "product_id", "event_date")


def build(conn, request: SuiteRequest) -> tuple[BatchChecks, ...]:
    """Key (customer, product, day) and referential integrity to both dimensions."""
    references = (
        rows_absent(
            render("orphan_customers.sql", {"customers": CUSTOMERS}),
            f"every interaction's customer exists in {CUSTOMERS}",
        ),
        rows_absent(
            render("orphan_products.sql", {"products": PRODUCTS}), f"every interaction's product exists in {PRODUCTS}"
        ),
    )
    recent = recent_rows(request, "event_date")
    key = unique_key(*KEY, index=unique_key_index(conn, request.table, KEY))
    return (
        BatchChecks("recent", recent, not_null(*KEY)),
        BatchChecks("keys", TableBatch(request.table), (key,)),
        BatchChecks("integrity", recent, references),
    )
