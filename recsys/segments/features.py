"""A customer as numbers: recency, frequency and spend, and what they look at.

Three views of each customer, each scaled to unit variance and then weighted in the
distance K-means uses (:class:`recsys.platform.settings.SegmentsConfig`):

``rfm``
    ``log1p`` of the days since the last event, of the orders and of the revenue,
    standardised (z-scores), so a heavy spender is not a different planet.
``category``
    Share of the customer's interaction weight per product category
    (``intermediate.int_customer_mix``).
``price_band``
    Share per price band.

Within a view the columns keep their relative scale (a 40 % share stays twice a 20 %
share); the view as a whole is scaled to unit total variance, then by its weight.  The
scaling is learnt on the customers the clusters are fitted on and kept with the fit, so
the previous night's cluster centres can be moved into tonight's space and compared.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

RFM_COLUMNS = ("recency_days", "frequency", "monetary")
DIMENSIONS = ("category", "price_band")
VIEWS = ("rfm", *DIMENSIONS)


@dataclass(frozen=True)
class Profiles:
    """Per customer, the raw figures the features come from (natural units).

    ``values`` has one row per customer (index ``customer_id``): ``recency_days``,
    ``frequency``, ``monetary``, ``products`` (distinct products interacted with) and one
    column per ``<dimension>:<value>`` share.
    """

    values: pd.DataFrame

    @property
    def share_columns(self) -> list[str]:
        return [c for c in self.values.columns if c.split(":", 1)[0] in DIMENSIONS]

    def view_of(self, column: str) -> str:
        return "rfm" if column in RFM_COLUMNS else column.split(":", 1)[0]


def profiles(activity: pd.DataFrame, mix: pd.DataFrame, as_of: dt.date) -> Profiles:
    """Profiles of the customers with an interaction in ``mix``.

    Parameters
    ----------
    activity : DataFrame
        ``customer_id, last_event_date, frequency, monetary`` (``int_customer_activity``).
    mix : DataFrame
        ``customer_id, dimension, value, share, customer_products`` (``int_customer_mix``).
    """
    shares = mix.assign(column=mix["dimension"].astype(str) + ":" + mix["value"].astype(str))
    wide = shares.pivot_table(index="customer_id", columns="column", values="share", aggfunc="sum", fill_value=0.0)
    wide = wide.reindex(columns=sorted(wide.columns))
    products = shares.groupby("customer_id")["customer_products"].max()
    facts = activity.set_index("customer_id").reindex(wide.index)
    last = pd.to_datetime(facts["last_event_date"])
    recency = (pd.Timestamp(as_of) - last).dt.days.clip(lower=0)
    values = pd.DataFrame(
        {
            "recency_days": recency.fillna(recency.max() if recency.notna().any() else 0).astype(float),
            "frequency": pd.to_numeric(facts["frequency"]).fillna(0).astype(float),
            "monetary": pd.to_numeric(facts["monetary"]).fillna(0).astype(float).clip(lower=0),
            "products": products.reindex(wide.index).fillna(0).astype(int),
        },
        index=wide.index,
    )
    out = pd.concat([values, wide.astype(float)], axis=1)
    out.index = out.index.astype(str)
    out.index.name = "customer_id"
    return Profiles(out.sort_index())


@dataclass(frozen=True)
class Scaling:
    """How profiles become K-means coordinates (learnt on the fitted customers).

    ``columns`` are the feature names; ``offset`` and ``scale`` map a transformed value
    ``t`` (``log1p`` for the RFM columns, the share otherwise) to ``(t - offset) / scale``.
    """

    columns: tuple[str, ...]
    offset: np.ndarray
    scale: np.ndarray

    def to_json(self) -> dict:
        return {
            "columns": list(self.columns),
            "offset": [float(v) for v in self.offset],
            "scale": [float(v) for v in self.scale],
        }


def transformed(profiles: Profiles, columns: tuple[str, ...]) -> np.ndarray:
    """``(n, len(columns))`` values before scaling: ``log1p`` RFM, shares as they are (0 if absent)."""
    frame = profiles.values.reindex(columns=list(columns), fill_value=0.0).astype(float)
    for column in RFM_COLUMNS:
        if column in frame:
            frame[column] = np.log1p(frame[column].clip(lower=0))
    return frame.to_numpy()


def fit_scaling(profiles: Profiles, weights: dict[str, float]) -> Scaling:
    """The scaling of :data:`VIEWS` on ``profiles`` (module docstring), views weighted by ``weights``."""
    columns = (*RFM_COLUMNS, *profiles.share_columns)
    values = transformed(profiles, columns)
    offset = values.mean(axis=0)
    spread = values.std(axis=0)
    spread[spread < 1e-9] = 0.0  # a constant column (rounding leaves ~1e-16) carries no information
    scale = np.ones(len(columns))
    views = [profiles.view_of(c) for c in columns]
    for view in VIEWS:
        members = np.array([v == view for v in views])
        if not members.any():
            continue
        if view == "rfm":
            within = np.where(spread[members] > 0, spread[members], 1.0)  # z-scores: unit variance each
            total = float((spread[members] > 0).sum())  # a constant column adds nothing
        else:
            within = np.ones(members.sum())  # shares keep their relative scale
            total = float((spread[members] ** 2).sum())
        weight = weights.get(view, 1.0)
        block = np.sqrt(total) if total > 0 else 1.0
        scale[members] = within * block / weight if weight > 0 else np.inf
    return Scaling(tuple(columns), offset, scale)


def coordinates(profiles: Profiles, scaling: Scaling) -> np.ndarray:
    """K-means coordinates of ``profiles`` in ``scaling``'s space (float64)."""
    return (transformed(profiles, scaling.columns) - scaling.offset) / scaling.scale


def to_space(centres: pd.DataFrame, scaling: Scaling) -> np.ndarray:
    """Centres given in transformed units (one row each, columns by name) in ``scaling``'s
    space; a column one side lacks counts as 0 (a category nobody looked at)."""
    values = centres.reindex(columns=list(scaling.columns), fill_value=0.0).fillna(0.0).to_numpy(dtype=float)
    return (values - scaling.offset) / scaling.scale


def from_space(points: np.ndarray, scaling: Scaling) -> pd.DataFrame:
    """Points of ``scaling``'s space back in transformed units (the stored centres)."""
    finite = np.where(np.isfinite(scaling.scale), scaling.scale, 0.0)
    return pd.DataFrame(points * finite + scaling.offset, columns=list(scaling.columns))
