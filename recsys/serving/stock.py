"""Low stock lowers a product's score: the stock-cover factor.

A product that will run out in days should not headline a campaign that takes a week to
convert; one out of stock is not a candidate at all (:func:`recsys.serving.rules.recommendable`).
In between, the factor is ``log(days_of_cover / demote_cover_days)`` below the threshold
and 0 above it or when the cover is unknown (no stock data, or no recent sales: nothing
to run out against), floored at ``-max_log``.  Like the context factors it is unit-free;
the scorer turns it into score units with the run's score scale and
``RECSYS_STOCK__DEMOTE_WEIGHT``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def cover_factor(days_of_cover, demote_cover_days: float, max_log: float) -> np.ndarray:
    """``(n,)`` float32 log-demotion of each product from its days of cover (NaN: unknown)."""
    if demote_cover_days <= 0:
        raise ValueError(f"demote_cover_days must be positive, got {demote_cover_days}")
    cover = pd.to_numeric(pd.Series(days_of_cover, dtype=object), errors="coerce").to_numpy(dtype=float)
    ratio = np.minimum(np.where(np.isnan(cover), 1.0, cover / demote_cover_days), 1.0)
    with np.errstate(divide="ignore"):
        factor = np.log(np.maximum(ratio, 0.0))
    return np.maximum(factor, -max_log).astype(np.float32)
