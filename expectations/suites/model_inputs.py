"""``intermediate.int_user_item_interactions``: is there enough signal to train on?

The table is rebuilt whole every night (weights decay with the date), so every row is
the night's: its size and shape come from one aggregate pass (a one-row batch) rather
than one scan per expectation, and its key from the primary key when there is one.
"""

from __future__ import annotations

import great_expectations.expectations as gxe

from expectations.catalog import unique_key_index
from expectations.checks import BatchChecks, QueryBatch, SuiteRequest, TableBatch, error, unique_key
from expectations.sqltext import render

TABLE = "intermediate.int_user_item_interactions"
KEY = ("customer_id", "product_id")
#: Above this a weight is as good as infinite.
MAX_WEIGHT = 1e300


def build(conn, request: SuiteRequest) -> tuple[BatchChecks, ...]:
    """Enough users, items and interactions, ids present, positive finite weights, and a
    plausible density (too sparse: nothing to learn; too dense: a broken join or a
    collapsed id)."""
    cfg = request.config
    profile = (
        _at_least("n_interactions", cfg.min_interactions),
        _at_least("n_users", cfg.min_users),
        _at_least("n_items", cfg.min_items),
        _none("missing_customer_ids", "interactions without a customer_id"),
        _none("missing_product_ids", "interactions without a product_id"),
        _none("invalid_weights", f"weights missing, not positive, NaN or above {MAX_WEIGHT:g}"),
        error(gxe.ExpectColumnMaxToBeBetween(column="density", min_value=cfg.density_min, max_value=cfg.density_max),
              note="interactions / (users x items)"),
    )
    query = render("model_input_profile.sql", {"interactions": request.table}, max_weight=MAX_WEIGHT)
    key = unique_key(*KEY, index=unique_key_index(conn, request.table, KEY))
    return (BatchChecks("profile", QueryBatch(query), profile), BatchChecks("keys", TableBatch(request.table), (key,)))


def _at_least(column: str, minimum: int):
    return error(gxe.ExpectColumnMaxToBeBetween(column=column, min_value=minimum))


def _none(column: str, note: str):
    return error(gxe.ExpectColumnMaxToBeBetween(column=column, min_value=0, max_value=0), note=note)
