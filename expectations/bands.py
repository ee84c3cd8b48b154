"""Bounds learnt from recent history, as plain numbers a GX expectation can take.

The daily aggregates come from SQL (:mod:`recsys_expectations.history`); these pure functions
turn them into a band and say how it was learnt.  With too little history the band is
still computed where possible but the check is downgraded to a warning, so a new shop or
a fresh warehouse does not stop on a guess.
"""

from __future__ import annotations

import datetime as dt
import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, replace

from recsys.platform.settings import QualityConfig

from .checks import ERROR, WARNING, Severity

#: Scales a median absolute deviation to a standard deviation for normal data.
MAD_TO_SIGMA = 1.4826


@dataclass(frozen=True)
class DayValue:
    """One day's aggregate (a volume or a share) in the history window."""

    day: dt.date
    value: float


@dataclass(frozen=True)
class Band:
    """Inclusive bounds (``None``: open) with the severity they may be enforced at."""

    low: float | None
    high: float | None
    severity: Severity
    note: str

    def as_warning(self, reason: str) -> Band:
        """The same bounds, recorded but not enforced."""
        return replace(self, severity=WARNING, note=f"{self.note}; {reason}: warning only")


def _sufficiency(history: Sequence[DayValue], config: QualityConfig) -> tuple[Severity, str]:
    n = len(history)
    if n < config.min_history_days:
        return WARNING, (
            f"only {n} day(s) with data in the last {config.history_days} "
            f"(need {config.min_history_days}): warning only"
        )
    return ERROR, f"learnt from {n} day(s) in the last {config.history_days}"


def volume_band(history: Sequence[DayValue], logical_date: dt.date, config: QualityConfig) -> Band:
    """Daily volume between ``volume_low_ratio`` and ``volume_high_ratio`` x the median.

    A weekday that had no data in the whole window (a shop closed on Saturdays) is not
    judged against the open days: the check becomes a warning for that day.
    """
    severity, note = _sufficiency(history, config)
    if not history:
        return Band(0, None, WARNING, note)
    median = statistics.median(h.value for h in history)
    low = math.ceil(config.volume_low_ratio * median)
    high = math.floor(config.volume_high_ratio * median)
    note = f"{note}; median {median:,.0f}/day x [{config.volume_low_ratio:g}, {config.volume_high_ratio:g}]"
    weekday = logical_date.strftime("%A")
    if severity == ERROR and all(h.day.weekday() != logical_date.weekday() for h in history):
        return Band(low, high, WARNING, f"{note}; no {weekday} in the window had data: warning only")
    return Band(low, high, severity, note)


def share_band(history: Sequence[DayValue], config: QualityConfig) -> Band:
    """A share (0..1) within median +/- max(k robust sigmas, a minimum half width)."""
    severity, note = _sufficiency(history, config)
    if not history:
        return Band(0.0, 1.0, WARNING, note)
    values = [h.value for h in history]
    median = statistics.median(values)
    mad = statistics.median(abs(v - median) for v in values)
    half = max(config.share_mad_k * MAD_TO_SIGMA * mad, config.share_min_half_width)
    low, high = max(0.0, median - half), min(1.0, median + half)
    return Band(round(low, 6), round(high, 6), severity, f"{note}; median {median:.4f} +/- {half:.4f}")
