"""``recs.user_recommendations`` (or its staging copy, via the table parameter): what is
about to be published, checked before the swap.

The validated table must hold the one run being published.
"""

from __future__ import annotations

import math

import great_expectations.expectations as gxe

from ..catalog import unique_key_index
from ..checks import (
    WARNING,
    BatchChecks,
    SuiteRequest,
    TableBatch,
    error,
    not_null,
    rows_absent,
    unique_key,
)
from ..history import scalar
from ..sqltext import render

TABLE = "recs.user_recommendations"
PRODUCTS = "marts.dim_products"
INTERACTIONS = "marts.fct_interactions_daily"
#: One rank per position and one item per user (the publisher indexes the first).
KEYS = (("customer_id", "rank"), ("customer_id", "product_id"))


def build(conn, request: SuiteRequest) -> tuple[BatchChecks, ...]:
    """Exactly k ranked, distinct, finite, recommendable items per user, and a catalogue
    coverage above the floor.  ``k`` comes from ``options['k']`` (default ``settings.recs.k``,
    what the publisher writes)."""
    cfg = request.config
    k = int(str(request.options.get("k", request.settings.recs.k)))
    recommendable = scalar(conn, "recommendable_products.sql", {"products": PRODUCTS}, {})
    min_products = math.ceil(cfg.min_catalog_coverage * recommendable)
    checks = (
        *not_null("customer_id", "rank", "product_id"),
        error(gxe.ExpectColumnValuesToBeBetween(column="rank", min_value=1, max_value=k)),
        error(gxe.ExpectColumnValuesToNotBeNull(column="score")),
        error(
            gxe.ExpectColumnValuesToBeBetween(column="score", min_value=-1e300, max_value=1e300),
            note="finite: NaN and infinities fall outside",
        ),
        error(
            gxe.ExpectColumnUniqueValueCountToBeBetween(column="product_id", min_value=min_products),
            note=f"coverage >= {cfg.min_catalog_coverage:.1%} of {recommendable:,.0f} recommendable products",
        ),
    )
    rules = (
        *[unique_key(*key, index=unique_key_index(conn, request.table, key)) for key in KEYS],
        rows_absent(render("users_without_k_rows.sql", k=k), f"every user has exactly {k} rows"),
        rows_absent(
            render("unrecommendable_items.sql", {"products": PRODUCTS}),
            f"every item is a known, active, in-stock product of {PRODUCTS}",
        ),
        rows_absent(
            render("already_purchased_items.sql", {"interactions": INTERACTIONS}, logical_date=request.logical_date),
            "no item the user already bought",
            WARNING,
        ),
    )
    batch = TableBatch(request.table)
    return (BatchChecks("table", batch, checks), BatchChecks("rules", batch, rules))
