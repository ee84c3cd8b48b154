"""The warehouse reads of a scoring run: marts in, :class:`~recsys.serving.recommend.ScoringInputs` out.

The one place the nightly scoring reads PostgreSQL; everything after it works on the
frames (:mod:`recsys.serving.recommend`).  Each read is one SQL file with bound parameters.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping
from pathlib import Path

import pandas as pd
import pyarrow as pa

from recsys.pgio import frames
from recsys.platform import warehouse
from recsys.platform.sqlfiles import SqlFiles
from recsys.serving.recommend import ScoringInputs

log = logging.getLogger(__name__)
_sql = SqlFiles(__name__)


#: Arrow types of the reads with a row per customer or per purchase (millions at scale).
LARGE_READS = {
    "recs_input_customers.sql": {"user_id": pa.string(), "country": pa.string(), "segment": pa.string()},
    "recs_input_history.sql": {
        "user_id": pa.string(),
        "item_id": pa.string(),
        "timestamp": pa.timestamp("us", tz="UTC"),
        "event_type": pa.string(),
    },
}


def _frame(conn, name: str, params: Mapping | None = None) -> pd.DataFrame:
    if name in LARGE_READS:
        return frames.read_frame(conn, _sql(name), params, LARGE_READS[name])
    return frames.query_frame(conn, _sql(name), params)


def read_inputs(url: str, as_of: dt.date, *, active_days: int) -> ScoringInputs:
    """Customers active in the ``active_days`` before ``as_of``, the catalogue, purchases,
    views and carts before ``as_of``, weekly demand and the event calendar."""
    params = {"as_of": as_of, "active_since": as_of - dt.timedelta(days=active_days)}
    with warehouse.connect(url) as conn:
        inputs = ScoringInputs(
            users=_frame(conn, "recs_input_customers.sql", params),
            items=_frame(conn, "recs_input_products.sql"),
            history=_frame(conn, "recs_input_history.sql", params),
            demand=_frame(conn, "recs_input_demand.sql", params),
            calendar=_frame(conn, "recs_input_calendar.sql"),
        )
    log.info(
        "scoring inputs for %s: %d customers, %d products, %d history rows, %d calendar rows",
        as_of,
        len(inputs.users),
        len(inputs.items) if inputs.items is not None else 0,
        len(inputs.history),
        len(inputs.calendar) if inputs.calendar is not None else 0,
    )
    return inputs


def count_customers(url: str, as_of: dt.date, *, active_days: int) -> int:
    """How many customers :func:`read_inputs` would return (same filter, no rows read)."""
    with warehouse.connect(url) as conn:
        params = {"active_since": as_of - dt.timedelta(days=active_days)}
        return warehouse.one_row(conn.execute(_sql("recs_input_customer_count.sql"), params))[0]


def model_artifact(url: str, model_run_id: str) -> tuple[Path, str]:
    """The artifact folder of a registered model run and the checksum the registry recorded."""
    with warehouse.connect(url) as conn:
        row = conn.execute(_sql("recs_model_artifact.sql"), {"run_id": model_run_id}).fetchone()
    if row is None or row[1] is None or row[2] is None:
        raise LookupError(f"model run {model_run_id!r} has no artifact in ml.model_runs")
    return Path(row[1]), row[2]
