"""The shop's calendar: seasons, weekly rhythm, hours of the day and the growth trend.

Everything here is a pure function of dates so the generator, the docs and model tests
agree on when seasonal products sell.
"""

from __future__ import annotations

import datetime as dt
import math

import numpy as np

from recsys.generator.spec import ShopSpec

#: Product seasons; index 0 is "sells all year".
SEASONS = ("none", "christmas", "summer", "back_to_school")

#: Demand multiplier of a seasonal product per calendar month (January first).  Off
#: season it is near zero, so such items barely sell then.
SEASON_MONTH_MULTIPLIER = {
    "christmas": (0.02, 0.02, 0.02, 0.02, 0.02, 0.02, 0.02, 0.02, 0.05, 0.3, 3.0, 5.0),
    "summer": (0.02, 0.02, 0.02, 0.05, 0.5, 3.0, 4.0, 3.0, 0.3, 0.02, 0.02, 0.02),
    "back_to_school": (0.02, 0.02, 0.02, 0.02, 0.02, 0.02, 0.3, 3.5, 3.0, 0.1, 0.02, 0.02),
}

#: Christmas demand collapses after the 25th of December.
CHRISTMAS_OVER = (12, 26)
AFTER_CHRISTMAS_MULTIPLIER = 0.1

#: Shop-wide session volume per weekday (Monday first) and per month.
WEEKDAY_FACTOR = (1.05, 1.0, 0.98, 0.97, 0.92, 0.88, 1.2)
MONTH_FACTOR = (0.85, 0.9, 0.95, 0.95, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.2, 1.3)

#: Relative share of sessions starting in each hour (UTC), evening peak.
HOUR_WEIGHTS = np.array(
    [
        0.6,
        0.35,
        0.2,
        0.15,
        0.15,
        0.25,
        0.5,
        1.0,
        1.5,
        1.8,
        2.0,
        2.1,
        2.3,
        2.2,
        2.0,
        2.0,
        2.1,
        2.3,
        2.6,
        3.0,
        3.3,
        3.1,
        2.2,
        1.2,
    ]
)


def season_multipliers(day: dt.date) -> np.ndarray:
    """Demand multiplier of each season in :data:`SEASONS` on ``day`` (shape ``(4,)``)."""
    values = [1.0] + [SEASON_MONTH_MULTIPLIER[name][day.month - 1] for name in SEASONS[1:]]
    if (day.month, day.day) >= CHRISTMAS_OVER:
        values[SEASONS.index("christmas")] = AFTER_CHRISTMAS_MULTIPLIER
    return np.array(values)


def day_intensity(spec: ShopSpec, end: dt.date | None = None) -> np.ndarray:
    """Relative session volume of every day of the window (shape ``(n_days,)``).

    Weekday rhythm x month (November-December peak) x an exponential trend that ends at
    ``behaviour.growth`` times the first day's volume.  With ``end`` past the window, the
    same rhythm and trend go on to ``end`` (the shop after its window: campaign responses).
    """
    last = end or spec.end
    days = [spec.start + dt.timedelta(days=i) for i in range((last - spec.start).days + 1)]
    span = max(spec.n_days - 1, 1)
    rate = math.log(spec.behaviour.growth) / span
    return np.array(
        [WEEKDAY_FACTOR[d.weekday()] * MONTH_FACTOR[d.month - 1] * math.exp(rate * i) for i, d in enumerate(days)]
    )


def epoch_day(day: dt.date) -> int:
    """Days since 1970-01-01: the integer day the generator's arrays use."""
    return (day - dt.date(1970, 1, 1)).days
