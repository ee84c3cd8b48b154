"""``intermediate.int_user_item_interactions``: is there enough signal to train on?"""

from __future__ import annotations

import great_expectations.expectations as gxe

from expectations.checks import BatchChecks, QueryBatch, SuiteRequest, TableBatch, error, not_null, unique_key
from expectations.sqltext import render

TABLE = "intermediate.int_user_item_interactions"


def build(conn, request: SuiteRequest) -> tuple[BatchChecks, ...]:
    """Enough users, items and interactions, positive weights, and a plausible density
    (too sparse: nothing to learn; too dense: a broken join or a collapsed id)."""
    cfg = request.config
    table = (
        *not_null("customer_id", "product_id"),
        error(gxe.ExpectTableRowCountToBeBetween(min_value=cfg.min_interactions)),
        error(gxe.ExpectColumnUniqueValueCountToBeBetween(column="customer_id", min_value=cfg.min_users)),
        error(gxe.ExpectColumnUniqueValueCountToBeBetween(column="product_id", min_value=cfg.min_items)),
        error(gxe.ExpectColumnValuesToBeBetween(column="weight", min_value=0, max_value=1e300, strict_min=True),
              note="positive and finite"),
    )
    density = (
        error(gxe.ExpectColumnMaxToBeBetween(column="density", min_value=cfg.density_min, max_value=cfg.density_max),
              note="interactions / (users x items)"),
    )
    query = render("interaction_density.sql", {"interactions": request.table})
    batch = TableBatch(request.table)
    return (
        BatchChecks("table", batch, table),
        BatchChecks("keys", batch, (unique_key("customer_id", "product_id"),)),
        BatchChecks("density", QueryBatch(query), density),
    )
