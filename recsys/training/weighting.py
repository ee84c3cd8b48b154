"""How events become interaction strength: the same formula as dbt's ``int_user_item_interactions``.

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
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from recsys.platform.dbt_project import DEFAULT_DBT_PROJECT, dbt_vars
from recsys.training.frames import (
    EVENT_COUNT_COLUMNS,
    ITEM,
    N_RATINGS,
    RATING,
    TS,
    USER,
    WEIGHT,
)

log = logging.getLogger(__name__)


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


def load_weighting(dbt_project_file: Path = DEFAULT_DBT_PROJECT) -> Weighting:
    """The weighting declared as dbt vars, falling back to :class:`Weighting`'s defaults.

    Reading the vars rather than repeating them keeps the training matrix equal to what
    ``int_user_item_interactions.weight`` computes in the warehouse.
    """
    default, declared = Weighting(), dbt_vars(dbt_project_file)
    weighting = Weighting(
        event_weights={
            **default.event_weights,
            **{k: float(v) for k, v in (declared.get("event_weights") or {}).items()},
        },
        count_log_base=float(declared.get("count_log_base", default.count_log_base)),
        rating_scale_max=float(declared.get("rating_scale_max", default.rating_scale_max)),
        recency_half_life_days=float(declared.get("recency_half_life_days", default.recency_half_life_days)),
    )
    if weighting.recency_half_life_days <= 0 or weighting.count_log_base <= 1:
        raise ValueError(f"{dbt_project_file}: recency_half_life_days must be > 0 and count_log_base > 1")
    if min(weighting.event_weights.values()) <= 0:
        raise ValueError(f"{dbt_project_file}: every event_weights entry must be positive")
    return weighting


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
        intensity = intensity + weighting.event_weights["rating"] * average / weighting.rating_scale_max * log_scaled(
            pairs[N_RATINGS]
        )
    as_of = (pd.Timestamp(cutoff) - pd.Timedelta(1, "ns")).normalize()
    days = (as_of - pairs["last_ts"].dt.normalize()).dt.days.clip(lower=0)
    weight = intensity * np.power(0.5, days / weighting.recency_half_life_days)
    pairs = pairs.assign(**{WEIGHT: weight.astype(np.float32)})[[USER, ITEM, WEIGHT, "n_rows", "first_ts", "last_ts"]]
    return pairs[pairs[WEIGHT] > 0].reset_index(drop=True)


def _log_scaled(count: pd.Series, base: float) -> pd.Series:
    """``log_base(1 + count)``: the dbt macro ``log_scaled``."""
    return np.log1p(count.fillna(0)) / np.log(base)
