"""Training data: standard interaction frames, their weights, and the readers that make them.

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

The weight of a user-item pair as of a cutoff is the one ``int_user_item_interactions``
computes in dbt, from the same dbt vars (:func:`load_weighting`)::

    intensity = sum_e event_weights[e] * log_base(1 + count_e)
              + event_weights["rating"] * avg_stars / rating_scale_max * log_base(1 + n_ratings)
    weight    = intensity * 0.5 ** (days since the last interaction / recency_half_life_days)

where ``e`` runs over views, carts and purchases when the frame has typed counts (or an
``event_type`` column), and over one generic event (the ``weight`` column, event weight 1)
when it does not.
"""

from __future__ import annotations

import functools
import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

import numpy as np
import pandas as pd
import pyarrow as pa
import scipy.sparse as sp
import yaml

from recsys.training import features

from recsys.platform import warehouse
from recsys.platform.sqlfiles import SqlFiles

log = logging.getLogger(__name__)
_sql = SqlFiles(__name__)

USER, ITEM, TS, WEIGHT, RATING, EVENT_TYPE = "user_id", "item_id", "timestamp", "weight", "rating", "event_type"

#: Count column of each event type in ``marts.fct_interactions_daily`` (ratings aside).
EVENT_COUNT_COLUMNS = {"view": "n_views", "cart": "n_carts", "purchase": "n_purchases"}
N_RATINGS = "n_ratings"

#: Tenure bands of customers, in days since signup or first event (upper bounds).
TENURE_BANDS = ((30, "0-30d"), (90, "31-90d"), (365, "91-365d"), (np.inf, "1y+"))

#: Where the dbt vars live in a checkout.
DEFAULT_DBT_PROJECT = Path(__file__).resolve().parents[2] / "dbt" / "dbt_project.yml"


@dataclass(frozen=True)
class Weighting:
    """How raw events become interaction strength: the dbt vars of the same names."""

    event_weights: Mapping[str, float] = field(
        default_factory=lambda: {"view": 1.0, "cart": 3.0, "purchase": 5.0, "rating": 5.0}
    )
    count_log_base: float = 2.0
    rating_scale_max: float = 5.0
    recency_half_life_days: float = 90.0

    def to_json(self) -> dict:
        return {**self.__dict__, "event_weights": dict(self.event_weights)}


def dbt_vars(dbt_project_file: Path = DEFAULT_DBT_PROJECT) -> dict:
    """The ``vars`` of a dbt project file, empty when the file is absent."""
    path = Path(dbt_project_file)
    if not path.exists():
        log.info("%s not found: dbt var defaults apply", path)
        return {}
    return (yaml.safe_load(path.read_text()) or {}).get("vars") or {}


def load_weighting(dbt_project_file: Path = DEFAULT_DBT_PROJECT) -> Weighting:
    """The weighting declared as dbt vars, falling back to :class:`Weighting`'s defaults.

    Reading the vars rather than repeating them keeps the training matrix equal to what
    ``int_user_item_interactions.weight`` computes in the warehouse.
    """
    default, declared = Weighting(), dbt_vars(dbt_project_file)
    weighting = Weighting(
        event_weights={**default.event_weights, **{k: float(v) for k, v in (declared.get("event_weights") or {}).items()}},
        count_log_base=float(declared.get("count_log_base", default.count_log_base)),
        rating_scale_max=float(declared.get("rating_scale_max", default.rating_scale_max)),
        recency_half_life_days=float(declared.get("recency_half_life_days", default.recency_half_life_days)),
    )
    if weighting.recency_half_life_days <= 0 or weighting.count_log_base <= 1:
        raise ValueError(f"{dbt_project_file}: recency_half_life_days must be > 0 and count_log_base > 1")
    if min(weighting.event_weights.values()) <= 0:
        raise ValueError(f"{dbt_project_file}: every event_weights entry must be positive")
    return weighting


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
    return pd.cut(pd.to_numeric(days, errors="coerce"), edges, labels=[label for _, label in TENURE_BANDS]).astype(object)


def customers_to_users(customers: pd.DataFrame) -> pd.DataFrame:
    """``marts.dim_customers`` rows as a standard users frame (attributes flattened)."""
    attributes = customers["attributes"].map(lambda a: json.loads(a) if isinstance(a, str) else (a or {}))
    flat = pd.json_normalize(attributes.tolist()).add_prefix("attr_").set_index(customers.index)
    users = customers[[USER, "country", "rfm_segment"]].assign(tenure_band=tenure_band(customers["tenure_days"]))
    return normalise_entities(pd.concat([users, flat], axis=1), USER)


#: Arrow types of the large reads (``dataset_interactions.sql``, ``dataset_customers.sql``).
INTERACTION_ROW_TYPES = {USER: pa.string(), ITEM: pa.string(), TS: pa.timestamp("us"), RATING: pa.float64(),
                         **{c: pa.int64() for c in ("n_views", "n_carts", "n_purchases", "n_ratings")}}
CUSTOMER_ROW_TYPES = {USER: pa.string(), "country": pa.string(), "rfm_segment": pa.string(),
                      "tenure_days": pa.float64(), "attributes": pa.string()}


def read_warehouse(url: str, as_of) -> Frames:
    """The standard frames from the marts, everything up to and including ``as_of``.

    The only database code of training: one SQL file per mart, bound parameters.
    """
    as_of = pd.Timestamp(as_of).date()
    with warehouse.connect(url) as conn:
        frames = {
            "interactions": warehouse.read_frame(conn, _sql("dataset_interactions.sql"),
                                                 {"as_of": as_of}, INTERACTION_ROW_TYPES),
            "customers": warehouse.read_frame(conn, _sql("dataset_customers.sql"), None,
                                              CUSTOMER_ROW_TYPES),
            "products": warehouse.query_frame(conn, _sql("dataset_products.sql")),
        }
    log.info("read %d interaction rows, %d customers, %d products as of %s",
             len(frames["interactions"]), len(frames["customers"]), len(frames["products"]), as_of)
    return Frames(
        interactions=mart_rows_to_interactions(frames["interactions"]),
        items=normalise_entities(frames["products"], ITEM),
        users=customers_to_users(frames["customers"]) if len(frames["customers"]) else None,
    )


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


def landing_to_frames(events: pd.DataFrame, products: pd.DataFrame | None = None,
                      customers: pd.DataFrame | None = None) -> Frames:
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
        users = normalise_entities(customers.rename(columns={"customer_id": USER}).drop(columns=list(dropped & set(customers))), USER)
    return Frames(interactions, items, users)


def aggregate_pairs(interactions: pd.DataFrame, cutoff: pd.Timestamp, weighting: Weighting) -> pd.DataFrame:
    """One row per user-item pair before ``cutoff``, weighted as the dbt mart weighs it.

    The as-of date is the day before a midnight cutoff (the last day of training data),
    and recency is counted in whole days from the pair's last interaction, as in dbt.

    Returns
    -------
    DataFrame
        ``user_id, item_id, weight (float32), n_rows, first_ts, last_ts``; ``n_rows``
        counts input rows so cold users can be told apart from one heavy interaction.
    """
    before = interactions[interactions[TS] < cutoff]
    typed = [column for column in EVENT_COUNT_COLUMNS.values() if column in before]
    rated = N_RATINGS in before
    sums = {column: (column, "sum") for column in (typed or [WEIGHT])}
    if rated:
        before = before.assign(_stars=before[RATING].fillna(0) * before[N_RATINGS])
        sums.update({N_RATINGS: (N_RATINGS, "sum"), "_stars": ("_stars", "sum")})
    pairs = (
        before.groupby([USER, ITEM], sort=True)
        .agg(**sums, n_rows=(TS, "size"), first_ts=(TS, "min"), last_ts=(TS, "max"))
        .reset_index()
    )
    log_scaled = functools.partial(_log_scaled, base=weighting.count_log_base)
    event_weight = {column: weighting.event_weights[event] for event, column in EVENT_COUNT_COLUMNS.items()}
    intensity = sum(event_weight.get(column, 1.0) * log_scaled(pairs[column]) for column in (typed or [WEIGHT]))
    if rated:
        average = (pairs["_stars"] / pairs[N_RATINGS].where(pairs[N_RATINGS] > 0)).fillna(0)
        intensity = intensity + weighting.event_weights["rating"] * average / weighting.rating_scale_max * log_scaled(pairs[N_RATINGS])
    as_of = (pd.Timestamp(cutoff) - pd.Timedelta(1, "ns")).normalize()
    days = (as_of - pairs["last_ts"].dt.normalize()).dt.days.clip(lower=0)
    weight = intensity * np.power(0.5, days / weighting.recency_half_life_days)
    pairs = pairs.assign(**{WEIGHT: weight.astype(np.float32)})[[USER, ITEM, WEIGHT, "n_rows", "first_ts", "last_ts"]]
    return pairs[pairs[WEIGHT] > 0].reset_index(drop=True)


def _log_scaled(count: pd.Series, base: float) -> pd.Series:
    """``log_base(1 + count)``: the dbt macro ``log_scaled``."""
    return np.log1p(count.fillna(0)) / np.log(base)


@dataclass(frozen=True)
class TrainingData:
    """Everything a recommender is fitted on, in index space, with the id mappings.

    ``user_ids[i]`` / ``item_ids[j]`` are the external ids of row ``i`` / column ``j`` of
    every matrix; both are sorted, so the same data always gives the same mapping.
    """

    user_ids: np.ndarray
    item_ids: np.ndarray
    interactions: sp.csr_matrix
    user_features: sp.csr_matrix
    item_features: sp.csr_matrix
    user_feature_names: tuple[str, ...]
    item_feature_names: tuple[str, ...]
    pairs: pd.DataFrame
    user_attributes: pd.DataFrame
    item_attributes: pd.DataFrame
    cutoff: pd.Timestamp

    @property
    def shape(self) -> tuple[int, int]:
        return self.interactions.shape

    def user_index(self, ids) -> np.ndarray:
        """Row of each id, -1 for ids the data does not know."""
        return index_of(self.user_ids, ids)

    def item_index(self, ids) -> np.ndarray:
        """Column of each id, -1 for ids the data does not know."""
        return index_of(self.item_ids, ids)


def index_of(sorted_ids: np.ndarray, ids) -> np.ndarray:
    """Position of each id in ``sorted_ids``, -1 where absent (vectorised, no dict)."""
    ids = np.asarray(ids, dtype=str)
    if len(sorted_ids) == 0:
        return np.full(len(ids), -1)
    pos = np.searchsorted(sorted_ids, ids).clip(0, len(sorted_ids) - 1)
    return np.where(sorted_ids[pos] == ids, pos, -1)


def build_training_data(
    frames: Frames,
    cutoff: pd.Timestamp,
    weighting: Weighting,
) -> TrainingData:
    """Interaction matrix, feature matrices and id mappings of the data before ``cutoff``.

    Users are those with an interaction before the cutoff; items are those plus every item
    of the catalogue (``frames.items``), so the hybrid can score catalogue items nobody
    has bought yet from their features.
    """
    pairs = aggregate_pairs(frames.interactions, cutoff, weighting)
    if pairs.empty:
        raise ValueError(f"no interactions before the cutoff {cutoff:%Y-%m-%d}: nothing to train on")
    user_ids = np.unique(pairs[USER].to_numpy(dtype=str))
    catalogue = frames.items[ITEM].to_numpy(dtype=str) if frames.items is not None else np.array([], dtype=str)
    item_ids = np.unique(np.concatenate([pairs[ITEM].to_numpy(dtype=str), catalogue]))
    rows, cols = index_of(user_ids, pairs[USER]), index_of(item_ids, pairs[ITEM])
    matrix = sp.csr_matrix((pairs[WEIGHT].to_numpy(np.float32), (rows, cols)), shape=(len(user_ids), len(item_ids)))
    user_attrs = _attributes(frames.users, USER, user_ids)
    item_attrs = _attributes(frames.items, ITEM, item_ids)
    user_features, user_names = features.feature_matrix(user_ids, user_attrs)
    item_features, item_names = features.feature_matrix(item_ids, item_attrs)
    return TrainingData(
        user_ids=user_ids, item_ids=item_ids, interactions=matrix,
        user_features=user_features, item_features=item_features,
        user_feature_names=user_names, item_feature_names=item_names,
        pairs=pairs.assign(user_idx=rows, item_idx=cols),
        user_attributes=user_attrs, item_attributes=item_attrs, cutoff=pd.Timestamp(cutoff),
    )


def _attributes(frame: pd.DataFrame | None, id_column: str, ids: np.ndarray) -> pd.DataFrame:
    """Attribute rows aligned with ``ids`` (empty rows for ids the frame lacks)."""
    if frame is None:
        return pd.DataFrame(index=pd.Index(ids, name=id_column))
    return frame.set_index(id_column).reindex(pd.Index(ids, name=id_column))
