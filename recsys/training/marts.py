"""Training frames from the warehouse marts: the only database code of training."""

from __future__ import annotations

import logging

import pandas as pd
import pyarrow as pa

from recsys.pgio import frames
from recsys.platform import warehouse
from recsys.platform.sqlfiles import SqlFiles
from recsys.training.frames import (
    ITEM,
    RATING,
    TS,
    USER,
    Frames,
    customers_to_users,
    mart_rows_to_interactions,
    normalise_entities,
)

log = logging.getLogger(__name__)
_sql = SqlFiles(__name__)


#: Arrow types of the large reads (``dataset_interactions.sql``, ``dataset_customers.sql``).
INTERACTION_ROW_TYPES = {
    USER: pa.string(),
    ITEM: pa.string(),
    TS: pa.timestamp("us"),
    RATING: pa.float64(),
    **{c: pa.int64() for c in ("n_views", "n_carts", "n_purchases", "n_ratings")},
}


CUSTOMER_ROW_TYPES = {
    USER: pa.string(),
    "country": pa.string(),
    "rfm_segment": pa.string(),
    "behaviour_segment": pa.string(),
    "tenure_days": pa.float64(),
    "attributes": pa.string(),
}


def read_warehouse(url: str, as_of) -> Frames:
    """The standard frames from the marts, everything up to and including ``as_of``.

    The only database code of training: one SQL file per mart, bound parameters.
    """
    as_of = pd.Timestamp(as_of).date()
    with warehouse.connect(url) as conn:
        rows = {
            "interactions": frames.read_frame(
                conn, _sql("dataset_interactions.sql"), {"as_of": as_of}, INTERACTION_ROW_TYPES
            ),
            "customers": frames.read_frame(conn, _sql("dataset_customers.sql"), None, CUSTOMER_ROW_TYPES),
            "products": frames.query_frame(conn, _sql("dataset_products.sql")),
        }
    log.info(
        "read %d interaction rows, %d customers, %d products as of %s",
        len(rows["interactions"]),
        len(rows["customers"]),
        len(rows["products"]),
        as_of,
    )
    return Frames(
        interactions=mart_rows_to_interactions(rows["interactions"]),
        items=normalise_entities(rows["products"], ITEM),
        users=customers_to_users(rows["customers"]) if len(rows["customers"]) else None,
    )
