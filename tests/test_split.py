"""Splits never leak the future, keep only known users, and drop already-seen items."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from planted import planted_frames

from recsys.training.frames import normalise_interactions
from recsys.training.split import (
    LEAVE_LAST_OUT,
    full_history,
    leave_last_out,
    temporal_split,
    validation_split,
    windows,
)


@pytest.fixture(scope="module")
def interactions() -> pd.DataFrame:
    return planted_frames(n_users=200, seed=1).interactions


def _pairs(frame: pd.DataFrame) -> set[tuple[str, str]]:
    return set(zip(frame["user_id"], frame["item_id"]))


def test_windows_end_with_the_logical_date():
    cutoff, end = windows(dt.date(2011, 12, 9), 28)
    assert end == pd.Timestamp("2011-12-10")
    assert cutoff == pd.Timestamp("2011-11-12")
    with pytest.raises(ValueError, match="positive"):
        windows(dt.date(2011, 12, 9), 0)


def test_temporal_split_trains_before_the_cutoff_and_tests_known_users_in_the_window(interactions):
    cutoff, end = pd.Timestamp("2024-06-01"), pd.Timestamp("2024-06-15")
    split = temporal_split(interactions, cutoff, end)
    assert (split.train["timestamp"] < cutoff).all()
    assert split.test["timestamp"].between(cutoff, end, inclusive="left").all()
    assert set(split.test["user_id"]) <= set(split.train["user_id"])
    assert not _pairs(split.test) & _pairs(split.train)
    window = interactions[interactions["timestamp"].between(cutoff, end, inclusive="left")]
    newcomers = set(window["user_id"]) - set(split.train["user_id"])
    assert newcomers, "the planted data should have users whose first interaction is in the window"
    assert not newcomers & set(split.test["user_id"])


def test_temporal_split_rejects_an_empty_window(interactions):
    with pytest.raises(ValueError, match="empty"):
        temporal_split(interactions, pd.Timestamp("2024-06-01"), pd.Timestamp("2024-06-01"))


def test_leave_last_out_holds_out_each_users_latest_interaction(interactions):
    split = leave_last_out(interactions)
    assert split.protocol == LEAVE_LAST_OUT
    latest = interactions.groupby("user_id")["timestamp"].max()
    assert (split.test.set_index("user_id")["timestamp"] == latest.reindex(split.test["user_id"])).all()
    assert split.test["user_id"].is_unique
    singles = interactions["user_id"].value_counts().loc[lambda c: c == 1].index
    assert not set(singles) & set(split.test["user_id"])
    assert not _pairs(split.test) & _pairs(split.train)
    with_history = (interactions["user_id"].value_counts() > 1).sum()
    assert len(interactions) - len(split.train) == with_history  # exactly one row per such user left training


def test_validation_split_lies_entirely_before_the_test_cutoff(interactions):
    split = temporal_split(interactions, pd.Timestamp("2024-06-01"), pd.Timestamp("2024-06-29"))
    validation = validation_split(split, 14)
    assert validation.cutoff == pd.Timestamp("2024-05-18")
    assert validation.end == split.cutoff
    assert (validation.test["timestamp"] < split.cutoff).all()
    assert (validation.train["timestamp"] < validation.cutoff).all()


def test_full_history_trains_on_everything_up_to_the_last_day():
    frame = normalise_interactions(
        pd.DataFrame(
            {"user_id": ["a", "b"], "item_id": ["x", "y"], "timestamp": ["2024-01-01 10:00", "2024-01-03 23:59"]}
        )
    )
    split = full_history(frame)
    assert len(split.train) == 2 and split.test.empty
    assert split.cutoff == pd.Timestamp("2024-01-04")
