"""``raw.products``: one load batch of the catalogue."""

from __future__ import annotations

import great_expectations.expectations as gxe

from recsys.contracts import raw

from ..checks import (
    BatchChecks,
    SuiteRequest,
    error,
    not_null,
    raw_batch_checks,
    timestamp_window,
    warning,
)

TABLE = "raw.products"
SOURCE = raw.PRODUCTS


def build(conn, request: SuiteRequest) -> tuple[BatchChecks, ...]:
    """Schema, one row per product, non-negative prices and stock, plausible creation times."""
    cfg = request.config
    start, end = timestamp_window(request)
    rows = (
        *not_null("product_id"),
        error(gxe.ExpectColumnValuesToBeBetween(column="price", min_value=0, max_value=cfg.max_price)),
        error(gxe.ExpectColumnValuesToBeBetween(column="stock_level", min_value=0)),
        error(gxe.ExpectColumnValuesToBeBetween(column="created_at", min_value=start, max_value=end)),
        warning(gxe.ExpectColumnValuesToNotBeNull(column="title", mostly=0.99)),
    )
    return raw_batch_checks(request, SOURCE, rows, key="product_id")
