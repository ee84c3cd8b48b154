"""The standard frames every learning function works on, and the readers that make them.

Every learning function in ``recsys`` works on three pandas frames with standard column
names, so the offline CLI (files) and the nightly path (warehouse marts) share one code path:

``interactions``
    ``user_id, item_id, timestamp`` and optionally ``weight`` (how many times it happened,
    default 1), ``rating`` (stars) and ``event_type`` (view/cart/purchase/rating).  Rows
    read from ``marts.fct_interactions_daily`` carry the typed event counts
    ``n_views, n_carts, n_purchases, n_ratings`` instead of ``event_type``.
``items`` (optional)
    ``item_id`` plus any feature columns (``category, brand, price_band, title, ...``).
``users`` (optional)
    ``user_id`` plus any feature columns (``country, rfm_segment, tenure_band, ...``).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

log = logging.getLogger(__name__)


USER, ITEM, TS, WEIGHT, RATING, EVENT_TYPE = "user_id", "item_id", "timestamp", "weight", "rating", "event_type"

#: Count column of each event type in ``marts.fct_interactions_daily`` (ratings aside).
EVENT_COUNT_COLUMNS = {"view": "n_views", "cart": "n_carts", "purchase": "n_purchases"}


N_RATINGS = "n_ratings"


#: Tenure bands of customers, in days since signup or first event (upper bounds).
TENURE_BANDS = ((30, "0-30d"), (90, "31-90d"), (365, "91-365d"), (np.inf, "1y+"))


@dataclass(frozen=True)
class Frames:
    """The three standard frames of one data set."""

    interactions: pd.DataFrame
    items: pd.DataFrame | None = None
    users: pd.DataFrame | None = None


def normalise_interactions(frame: pd.DataFrame) -> pd.DataFrame:
    """Check and coerce an interactions frame to the standard columns and dtypes.

    Raises
    ------
    ValueError
        When a required column is missing or a weight is negative: silently dropping
        such rows would train on something other than what the caller gave.
    """
    missing = {USER, ITEM, TS} - set(frame.columns)
    if missing:
        raise ValueError(f"interactions need columns user_id,item_id,timestamp; missing {sorted(missing)}")
    out = pd.DataFrame(
        {
            USER: frame[USER].astype(str),
            ITEM: frame[ITEM].astype(str),
            TS: pd.to_datetime(frame[TS], utc=True).dt.tz_localize(None),
            WEIGHT: pd.to_numeric(frame[WEIGHT], errors="raise") if WEIGHT in frame else 1.0,
        }
    )
    for column in (*EVENT_COUNT_COLUMNS.values(), N_RATINGS, RATING):
        if column in frame:
            out[column] = pd.to_numeric(frame[column], errors="coerce")
    if EVENT_TYPE in frame and N_RATINGS not in out:
        out = _typed_counts(out, frame[EVENT_TYPE])
    if RATING in out and N_RATINGS not in out:
        out[N_RATINGS] = out[RATING].notna().astype(int)
    if (out[WEIGHT] < 0).any():
        raise ValueError(f"{int((out[WEIGHT] < 0).sum())} interactions have a negative weight")
    out = out[out[TS].notna() & (out[WEIGHT] > 0)]
    return out.sort_values([TS, USER, ITEM], kind="stable").reset_index(drop=True)


def _typed_counts(out: pd.DataFrame, event_types: pd.Series) -> pd.DataFrame:
    """Per-type count columns from an ``event_type`` column (an event log given as a file)."""
    kinds = event_types.astype(str).str.strip().str.lower()
    unknown = set(kinds) - set(EVENT_COUNT_COLUMNS) - {"rating"}
    if unknown:
        raise ValueError(f"unknown event_type values {sorted(unknown)[:5]}; known: {[*EVENT_COUNT_COLUMNS, 'rating']}")
    counts = {column: out[WEIGHT].where(kinds == event, 0) for event, column in EVENT_COUNT_COLUMNS.items()}
    rated = (kinds == "rating") & (out[RATING].notna() if RATING in out else True)
    return out.assign(**counts, **{N_RATINGS: rated.astype(int)})


def normalise_entities(frame: pd.DataFrame | None, id_column: str) -> pd.DataFrame | None:
    """One row per id (the first wins), ids as strings; ``None`` stays ``None``."""
    if frame is None:
        return None
    if id_column not in frame:
        raise ValueError(f"the {id_column.split('_')[0]}s frame needs an {id_column} column")
    out = frame.assign(**{id_column: frame[id_column].astype(str)})
    return out.drop_duplicates(id_column).reset_index(drop=True)


def read_table(path: Path) -> pd.DataFrame:
    """A CSV (optionally compressed) or Parquet file."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist")
    if path.suffix == ".parquet":
        return pd.read_parquet(path)
    return pd.read_csv(path, low_memory=False)


def read_files(interactions: Path, items: Path | None = None, users: Path | None = None) -> Frames:
    """The standard frames from files (the offline CLI's input)."""
    return Frames(
        interactions=normalise_interactions(read_table(interactions)),
        items=normalise_entities(read_table(items), ITEM) if items else None,
        users=normalise_entities(read_table(users), USER) if users else None,
    )


def mart_rows_to_interactions(daily: pd.DataFrame) -> pd.DataFrame:
    """Rows of ``marts.fct_interactions_daily`` as a standard interactions frame.

    ``weight`` is the row's number of events; the typed counts stay for the weighting.
    """
    counts = daily[[*EVENT_COUNT_COLUMNS.values(), N_RATINGS]].apply(pd.to_numeric).fillna(0)
    return normalise_interactions(daily.assign(**{WEIGHT: counts.sum(axis=1)}))


def tenure_band(days: pd.Series) -> pd.Series:
    """Customer tenure in coarse bands: a feature generalises across customers, a day count does not."""
    edges = [-np.inf] + [upper for upper, _ in TENURE_BANDS]
    return pd.cut(pd.to_numeric(days, errors="coerce"), edges, labels=[label for _, label in TENURE_BANDS]).astype(
        object
    )


def customers_to_users(customers: pd.DataFrame) -> pd.DataFrame:
    """``marts.dim_customers`` rows as a standard users frame (attributes flattened; the
    RFM and behavioural segments become user features)."""
    attributes = customers["attributes"].map(lambda a: json.loads(a) if isinstance(a, str) else (a or {}))
    flat = pd.json_normalize(attributes.tolist()).add_prefix("attr_").set_index(customers.index)
    segments = [c for c in ("rfm_segment", "behaviour_segment") if c in customers]
    users = customers[[USER, "country", *segments]].assign(tenure_band=tenure_band(customers["tenure_days"]))
    return normalise_entities(pd.concat([users, flat], axis=1), USER)


def order_lines_to_frames(order_lines: pd.DataFrame, fee_product_codes=()) -> Frames:
    """Order lines in the Online Retail layout as standard frames.

    Keeps what the warehouse turns into purchases: lines with a customer, a positive
    quantity, no cancellation (invoice ``C...``) and a product code outside
    ``fee_product_codes`` (the dbt var: postage, fees, adjustments).  An item's
    ``category`` is the last word of its description (``... T-LIGHT HOLDER`` -> ``HOLDER``):
    the data set has no category, and the product noun is the closest thing to one.
    """
    codes = order_lines["StockCode"].astype(str).str.upper()
    fees = {str(code).upper() for code in fee_product_codes}
    keep = (
        order_lines["CustomerID"].notna()
        & (order_lines["Quantity"] > 0)
        & ~order_lines["InvoiceNo"].astype(str).str.upper().str.startswith("C")
        & ~codes.isin(fees)
    )
    lines = order_lines[keep].assign(
        user_id=order_lines["CustomerID"][keep].astype("int64").astype(str),
        item_id=codes[keep],
        title=order_lines["Description"][keep].fillna("").astype(str).str.strip(),
    )
    interactions = normalise_interactions(lines.rename(columns={"InvoiceDate": TS})[[USER, ITEM, TS]])
    items = lines.groupby(ITEM).agg(title=("title", "last"), price=("UnitPrice", "median")).reset_index()
    items["category"] = items["title"].str.split().str[-1].fillna("")
    users = lines[[USER, "Country"]].rename(columns={"Country": "country"}).drop_duplicates(USER, keep="last")
    return Frames(interactions, normalise_entities(items, ITEM), normalise_entities(users, USER))


def landing_to_frames(
    events: pd.DataFrame, products: pd.DataFrame | None = None, customers: pd.DataFrame | None = None
) -> Frames:
    """Files of the landing contract (``events``, ``products``, ``customers``) as standard frames.

    Anonymous events (no ``customer_id``) are dropped: they belong to no user.  Contact and
    bookkeeping columns (e-mail, URLs, stock, dates) are left out of the features.
    """
    known = events.dropna(subset=["customer_id"])
    columns = {"customer_id": USER, "product_id": ITEM, "event_ts": TS}
    interactions = normalise_interactions(known.rename(columns=columns)[[*columns.values(), EVENT_TYPE, RATING]])
    items = users = None
    if products is not None:
        kept = [c for c in ("title", "description", "category", "brand", "price") if c in products]
        items = normalise_entities(products.rename(columns={"product_id": ITEM})[[ITEM, *kept]], ITEM)
    if customers is not None:
        dropped = {"email", "signup_date"}
        users = normalise_entities(
            customers.rename(columns={"customer_id": USER}).drop(columns=list(dropped & set(customers))), USER
        )
    return Frames(interactions, items, users)
