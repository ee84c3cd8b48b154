"""``intermediate.int_user_item_interactions``: is there enough signal to train on?

Every weight moves every night (it decays with the date), so every row is the night's:
the size and shape come from one aggregate query (a one-row batch) rather than one scan
per expectation.  The key comes from a unique index: the table's own, or, for the dbt
view over the stored pairs ``int_user_item_totals`` (one view row per stored pair), the
stored pairs' index.
"""

from __future__ import annotations

import great_expectations.expectations as gxe

from ..catalog import unique_key_index
from ..checks import (
    BatchChecks,
    QueryBatch,
    SuiteRequest,
    TableBatch,
    error,
    unique_key,
)
from ..sqltext import render

TABLE = "intermediate.int_user_item_interactions"
#: The stored pairs under the view ``TABLE`` (dbt applies the decay on read).
STORED = "intermediate.int_user_item_totals"
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
        error(
            gxe.ExpectColumnMaxToBeBetween(column="density", min_value=cfg.density_min, max_value=cfg.density_max),
            note="interactions / (users x items)",
        ),
    )
    query = render("model_input_profile.sql", {"interactions": request.table}, max_weight=MAX_WEIGHT)
    key = unique_key(*KEY, index=_key_index(conn, request.table))
    return (BatchChecks("profile", QueryBatch(query), profile), BatchChecks("keys", TableBatch(request.table), (key,)))


def _key_index(conn, table: str) -> str | None:
    """The unique index that keeps the pairs unique: the table's own, else for the dbt view
    the stored pairs' under it."""
    own = unique_key_index(conn, table, KEY)
    return unique_key_index(conn, STORED, KEY) if own is None and table == TABLE else own


def _at_least(column: str, minimum: int):
    return error(gxe.ExpectColumnMaxToBeBetween(column=column, min_value=minimum))


def _none(column: str, note: str):
    return error(gxe.ExpectColumnMaxToBeBetween(column=column, min_value=0, max_value=0), note=note)
