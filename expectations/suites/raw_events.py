"""``raw.events``: one load batch of behavioural events, before dbt reads it."""

from __future__ import annotations

import great_expectations.expectations as gxe

from recsys.contracts import raw

from ..checks import (
    BatchChecks,
    SuiteRequest,
    contract_columns,
    error,
    not_null,
    raw_batch,
    schema_checks,
    timestamp_window,
    unique_key,
    warning,
)

TABLE = "raw.events"
COLUMNS = contract_columns(raw.EVENTS)


def build(conn, request: SuiteRequest) -> tuple[BatchChecks, ...]:
    """Schema, required ids, accepted event types, plausible times and prices."""
    cfg = request.config
    start, end = timestamp_window(request)
    rows = (
        warning(gxe.ExpectTableRowCountToBeBetween(min_value=1), note="an empty batch loads nothing"),
        *not_null("event_id", "product_id", "event_type", "event_ts"),
        error(
            gxe.ExpectColumnValuesToNotBeNull(column="customer_id", mostly=cfg.customer_id_mostly),
            note="anonymous events are legitimate, about 1%",
        ),
        error(gxe.ExpectColumnValuesToBeInSet(column="event_type", value_set=list(raw.EVENT_TYPES))),
        error(
            gxe.ExpectColumnValuesToBeBetween(column="event_ts", min_value=start, max_value=end),
            note="shop opening to the end of the logical date + tolerance",
        ),
        error(gxe.ExpectColumnValuesToBeBetween(column="price", min_value=0, max_value=cfg.max_price)),
        error(gxe.ExpectColumnValuesToBeBetween(column="rating", min_value=1, max_value=5)),
    )
    batch = raw_batch(request)
    return (
        schema_checks(request.table, COLUMNS),
        BatchChecks("batch", batch, rows),
        BatchChecks("keys", batch, (unique_key("event_id"),)),
    )
