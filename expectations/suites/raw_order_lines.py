"""``raw.order_lines``: one load batch of order lines (Online Retail layout)."""

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

TABLE = "raw.order_lines"
SOURCE = raw.ORDER_LINES
#: An order line is the same line when these agree (the customer and time follow the invoice).
LINE_KEY = ["invoice_no", "product_id", "quantity", "unit_price"]


def build(conn, request: SuiteRequest) -> tuple[BatchChecks, ...]:
    """Schema, required ids, plausible times, quantities and prices, no duplicated lines.

    Cancellations and returns (negative quantities) and a handful of accounting lines with
    negative prices are real facts of the source, so ranges are symmetric or use ``mostly``.
    """
    cfg = request.config
    start, end = timestamp_window(request)
    rows = (
        *not_null("invoice_no", "product_id", "quantity", "invoice_ts"),
        error(
            gxe.ExpectColumnValuesToBeBetween(
                column="invoice_ts", min_value=start.replace(tzinfo=None), max_value=end.replace(tzinfo=None)
            ),
            note="shop opening to the end of the logical date + tolerance",
        ),
        error(
            gxe.ExpectColumnValuesToBeBetween(
                column="quantity", min_value=-cfg.max_quantity, max_value=cfg.max_quantity
            )
        ),
        error(gxe.ExpectColumnValuesToNotBeInSet(column="quantity", value_set=[0])),
        error(
            gxe.ExpectColumnValuesToBeBetween(column="unit_price", min_value=0, max_value=cfg.max_price, mostly=0.999),
            note="a few accounting adjustments carry negative prices",
        ),
        warning(gxe.ExpectCompoundColumnsToBeUnique(column_list=LINE_KEY), note="the source repeats ~1% of lines"),
        error(gxe.ExpectCompoundColumnsToBeUnique(column_list=LINE_KEY, mostly=cfg.duplicate_lines_mostly)),
    )
    return raw_batch_checks(request, SOURCE, rows)
