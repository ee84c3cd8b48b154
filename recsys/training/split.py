"""Train/test splits that never let the future leak into training.

Two protocols, both returning a :class:`Split` of the standard interactions frame:

* **temporal**: train on everything before ``cutoff``, test on ``[cutoff, end)``, keeping
  only test users with history before the cutoff (the others are cold-start, scored by
  popularity in production and not what a personalised model is judged on);
* **leave-last-out**: each user's last interaction (by time) is the test, the rest is
  training; users with a single interaction are not tested.

:func:`validation_split` applies the same protocol again to the training part, which is
the only place hyperparameters are chosen.  Items a user already had in training are
removed from the test truth (and from the candidates, see :mod:`recsys.training.evaluate`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandas as pd

from recsys.training.frames import ITEM, TS, USER

TEMPORAL, LEAVE_LAST_OUT = "temporal", "leave-last-out"


@dataclass(frozen=True)
class Split:
    """Training rows, test rows and where the boundary is.

    ``cutoff`` is the instant training data ends (exclusive); for leave-last-out it is
    the end of the data, so recency is measured the same way in both protocols.
    """

    train: pd.DataFrame
    test: pd.DataFrame
    cutoff: pd.Timestamp
    end: pd.Timestamp
    protocol: str

    def describe(self) -> dict:
        """Sizes and window, for logs and the run row."""
        return {
            "protocol": self.protocol,
            "train_start": str(self.train[TS].min().date()) if len(self.train) else None,
            "cutoff": str(self.cutoff.date()),
            "end": str(self.end.date()),
            "train_rows": int(len(self.train)),
            "test_rows": int(len(self.test)),
            "test_users": int(self.test[USER].nunique()),
        }


def windows(logical_date: dt.date, test_days: int) -> tuple[pd.Timestamp, pd.Timestamp]:
    """``(cutoff, end)`` of the test window ending with the logical date (inclusive)."""
    if test_days <= 0:
        raise ValueError(f"test_days must be positive, got {test_days}")
    end = pd.Timestamp(logical_date).normalize() + pd.Timedelta(days=1)
    return end - pd.Timedelta(days=test_days), end


def temporal_split(interactions: pd.DataFrame, cutoff: pd.Timestamp, end: pd.Timestamp) -> Split:
    """Everything before ``cutoff`` trains; ``[cutoff, end)`` of known users tests."""
    cutoff, end = pd.Timestamp(cutoff), pd.Timestamp(end)
    if end <= cutoff:
        raise ValueError(f"the test window is empty: end {end} is not after cutoff {cutoff}")
    train = interactions[interactions[TS] < cutoff]
    window = interactions[(interactions[TS] >= cutoff) & (interactions[TS] < end)]
    test = window[window[USER].isin(train[USER].unique())]
    return Split(train=train, test=_unseen(test, train), cutoff=cutoff, end=end, protocol=TEMPORAL)


def leave_last_out(interactions: pd.DataFrame) -> Split:
    """Each user's last interaction is held out; ties in time break by row order."""
    if interactions.empty:
        raise ValueError("no interactions to split")
    ordered = interactions.sort_values([USER, TS], kind="stable")
    is_last = ~ordered[USER].duplicated(keep="last")
    has_history = ordered[USER].map(ordered[USER].value_counts()) > 1
    test = ordered[is_last & has_history]
    train = ordered.drop(test.index).sort_index()
    end = interactions[TS].max() + pd.Timedelta(seconds=1)
    return Split(train=train, test=_unseen(test, train), cutoff=end, end=end, protocol=LEAVE_LAST_OUT)


def full_history(interactions: pd.DataFrame) -> Split:
    """All data trains, nothing tests: the split of a production fit (cutoff = the day after the last)."""
    if interactions.empty:
        raise ValueError("no interactions to train on")
    cutoff = interactions[TS].max().normalize() + pd.Timedelta(days=1)
    return Split(train=interactions, test=interactions.iloc[:0], cutoff=cutoff, end=cutoff, protocol=TEMPORAL)


def validation_split(split: Split, validation_days: int) -> Split:
    """The same protocol applied to ``split.train``: where settings are chosen."""
    if split.protocol == LEAVE_LAST_OUT:
        return leave_last_out(split.train)
    cutoff = split.cutoff - pd.Timedelta(days=validation_days)
    return temporal_split(split.train, cutoff, split.cutoff)


def _unseen(test: pd.DataFrame, train: pd.DataFrame) -> pd.DataFrame:
    """Test rows whose item the user did not already have in training."""
    seen = pd.MultiIndex.from_frame(train[[USER, ITEM]].drop_duplicates())
    keys = pd.MultiIndex.from_frame(test[[USER, ITEM]])
    return test[~keys.isin(seen)]
