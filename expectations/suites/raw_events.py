"""``raw.events``: one load batch of behavioural events, before dbt reads it."""

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
)

TABLE = "raw.events"
SOURCE = raw.EVENTS


def build(conn, request: SuiteRequest) -> tuple[BatchChecks, ...]:
    """Schema, required ids, accepted event types, plausible times and prices."""
    cfg = request.config
    start, end = timestamp_window(request)
    rows = (
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
    return raw_batch_checks(request, SOURCE, rows, key="event_id")
