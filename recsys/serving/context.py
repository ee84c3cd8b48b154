"""Context of a send date: season, calendar events, recent activity and the customer's country.

Each adjustment is a separate factor with its own weight (:class:`recsys.platform.settings.ContextConfig`):

``season`` (item)
    Log of the item's seasonality index for the weeks after the send date: its
    week-of-year demand rate (purchases per observed week, circularly smoothed) against its
    own average rate, shrunk towards the shop-wide profile when the item has little
    history.  Weeks the history never covered give the shop-wide value, which shifts all
    items alike and so changes no order.
``event`` (country x item)
    Calendar events (the dbt seed ``calendar_events``): before an event (``lead_days``)
    items tied to it are boosted on a ramp, during it fully, and for
    ``event_suppress_days`` after it they are pushed down (no Christmas decorations in
    January).  An item's tie to an event is learnt from its demand in past event windows
    where history has them, and otherwise taken from the seed's keywords and categories.
``country`` (country x item)
    Log-lift of the item among the country's customers over the whole shop, shrunk
    towards no lift for small countries.
``recent`` (user x item, sparse)
    Items similar (model embeddings) to what the customer viewed or carted in the last
    ``recent_days``, decayed by age; the item itself counts with similarity 1.

Factors are unit-free; :func:`score_scale` turns them into score units, so that
``score = raw + sum(weight * scale * factor)`` and every weight 0 gives the raw order.
Everything here is pure: frames and arrays in, arrays out.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp

from recsys.platform.settings import ContextConfig

WEEKS = 52
DEFAULT_COUNTRY = "*"
#: Strength of a recent event by type (a cart says more than a view).
RECENT_TYPE_WEIGHTS = {"view": 1.0, "cart": 2.0, "purchase": 1.0}
#: Lift that gives an item full affinity to an event.
FULL_EVENT_LIFT = 4.0
CALENDAR_COLUMNS = (
    "event_name",
    "country",
    "start_month",
    "start_day",
    "end_month",
    "end_day",
    "lead_days",
    "keywords",
    "categories",
)


def week_of_year(dates) -> np.ndarray:
    """ISO week of each date as 0..51 (week 53 folds into 52: too rare to learn alone)."""
    weeks = pd.DatetimeIndex(pd.to_datetime(dates)).isocalendar().week.to_numpy(dtype=np.int64)
    return np.minimum(weeks, WEEKS) - 1


def _circular_kernel(sigma_weeks: float) -> np.ndarray:
    """``(52, 52)`` Gaussian smoothing over weeks that wraps from December to January."""
    distance = np.abs(np.arange(WEEKS)[:, None] - np.arange(WEEKS)[None, :])
    distance = np.minimum(distance, WEEKS - distance)
    if sigma_weeks <= 0:
        return (distance == 0).astype(np.float64)
    return np.exp(-0.5 * (distance / sigma_weeks) ** 2)


@dataclass(frozen=True)
class Seasonality:
    """Per item, observed and expected purchases by week of year (both smoothed).

    ``log_index(weeks)`` is what the season factor uses; ``observed`` / ``expected`` are
    kept for the event affinity, which asks the same "more than usual?" question.
    """

    observed: np.ndarray  # (n_items, 52) smoothed purchases by week of year
    expected: np.ndarray  # (n_items, 52) smoothed purchases if the item sold at its mean rate
    shop_index: np.ndarray  # (52,) shop-wide index (1 where never observed)
    prior_strength: float
    max_log: float

    def log_index(self, weeks: np.ndarray) -> np.ndarray:
        """Mean over ``weeks`` of the item's log index relative to the shop's, shrunk.

        Relative to the shop, because a shop-wide peak (November) lifts every item alike
        and should change no order; an item without history gets exactly 0.
        """
        shop = self.shop_index[weeks]
        ratio = (self.observed[:, weeks] / shop + self.prior_strength) / (self.expected[:, weeks] + self.prior_strength)
        return np.clip(np.log(ratio), -self.max_log, self.max_log).mean(axis=1).astype(np.float32)


def seasonality(
    demand: pd.DataFrame, item_ids: np.ndarray, as_of: dt.date, config: ContextConfig, launched: pd.Series | None = None
) -> Seasonality:
    """Week-of-year demand of each item from complete weeks before ``as_of``.

    Parameters
    ----------
    demand : DataFrame
        ``product_id, week_start, n_purchases`` (``marts.fct_product_weekly_demand``).
    item_ids : ndarray of str
        Item order of the result.
    launched : Series, optional
        Launch date by item id; weeks before it do not count as weeks without demand.
    """
    as_of_week = pd.Timestamp(as_of).to_period("W-SUN").start_time
    rows = demand[pd.to_datetime(demand["week_start"]) < as_of_week]
    first_week = pd.to_datetime(rows["week_start"]).min() if len(rows) else as_of_week
    weeks = pd.date_range(first_week, as_of_week, freq="7D", inclusive="left")
    n_items = len(item_ids)
    kernel = _circular_kernel(config.season_smoothing_weeks)
    counts = np.zeros((n_items, WEEKS))
    position = pd.Index(item_ids).get_indexer(rows["product_id"].astype(str))
    known = position >= 0
    np.add.at(
        counts,
        (position[known], week_of_year(rows["week_start"])[known]),
        pd.to_numeric(rows["n_purchases"]).to_numpy(dtype=float)[known],
    )
    exposure = _exposure(weeks, item_ids, launched)
    mean_rate = counts.sum(axis=1) / np.maximum(exposure.sum(axis=1), 1)
    observed, expected = counts @ kernel, (exposure * mean_rate[:, None]) @ kernel
    shop_observed, shop_expected = observed.sum(axis=0), expected.sum(axis=0)
    shop_index = np.where(shop_expected > 0, shop_observed / np.maximum(shop_expected, 1e-12), 1.0)
    return Seasonality(observed, expected, shop_index, config.season_prior_strength, config.max_log_factor)


def _exposure(weeks: pd.DatetimeIndex, item_ids: np.ndarray, launched: pd.Series | None) -> np.ndarray:
    """``(n_items, 52)``: how often each week of year was on sale for each item."""
    one_hot = np.zeros((len(weeks) + 1, WEEKS))
    if len(weeks):
        one_hot[np.arange(len(weeks)), week_of_year(weeks)] = 1
    from_week = np.cumsum(one_hot[::-1], axis=0)[::-1]  # row t: weeks t.. end
    start = np.zeros(len(item_ids), dtype=np.int64)
    if launched is not None and len(weeks):
        dates = pd.to_datetime(pd.Series(launched).reindex(item_ids).to_numpy(), utc=True).tz_localize(None)
        start = np.searchsorted(weeks.to_numpy(), dates.fillna(weeks[0]).to_numpy())
    return from_week[start]


def season_factor(season: Seasonality, as_of: dt.date, config: ContextConfig) -> np.ndarray:
    """``(n_items,)`` log index averaged over the ``season_horizon_weeks`` from ``as_of``."""
    horizon = max(config.season_horizon_weeks, 1)
    days = pd.Timestamp(as_of) + pd.to_timedelta(7 * np.arange(horizon), unit="D")
    return season.log_index(week_of_year(days))


def load_calendar(path: Path) -> pd.DataFrame:
    """The calendar seed CSV (``dbt/seeds/calendar_events.csv``) in :func:`normalise_calendar` form."""
    if not Path(path).exists():
        raise FileNotFoundError(f"{path} not found: the calendar seed lives in dbt/seeds/calendar_events.csv")
    return normalise_calendar(pd.read_csv(path, dtype=str, keep_default_na=False))


def normalise_calendar(frame: pd.DataFrame) -> pd.DataFrame:
    """Seed rows or ``marts.dim_calendar_events`` rows as one shape.

    Month/day numbers come from ``start_month_day``/``end_month_day`` when the numeric
    columns are absent; ``keywords``/``categories`` become lists of lower-case strings.
    """
    missing = {"event_name", "country", "lead_days"} - set(frame.columns)
    if missing:
        raise ValueError(f"calendar rows need event_name, country, lead_days and dates; missing {sorted(missing)}")
    out = frame.copy()
    for side in ("start", "end"):
        if f"{side}_month" not in out:
            parts = out[f"{side}_month_day"].astype(str).str.split("-", expand=True)
            out[f"{side}_month"], out[f"{side}_day"] = parts[0], parts[1]
        for unit in ("month", "day"):
            out[f"{side}_{unit}"] = pd.to_numeric(out[f"{side}_{unit}"], errors="raise").astype(int)
    out["lead_days"] = pd.to_numeric(out["lead_days"], errors="raise").astype(int)
    for column in ("keywords", "categories"):
        values = out[column] if column in out else pd.Series([[]] * len(out), index=out.index)
        out[column] = values.map(_as_list)
    return out[list(CALENDAR_COLUMNS)].reset_index(drop=True)


def _as_list(value) -> list[str]:
    if isinstance(value, str):
        value = value.split("|")
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return []
    return [str(v).strip().lower() for v in value if str(v).strip()]


def events_for_countries(calendar: pd.DataFrame, countries: list[str]) -> dict[str, pd.DataFrame]:
    """Per country, its events: a country's own row replaces the ``*`` row of that event."""
    generic = calendar[calendar["country"] == DEFAULT_COUNTRY]
    result = {}
    for country in countries:
        own = calendar[calendar["country"] == country]
        result[country] = pd.concat([own, generic[~generic["event_name"].isin(own["event_name"])]])
    return result


def _occurrence(row, year: int) -> tuple[pd.Timestamp, pd.Timestamp]:
    start = pd.Timestamp(year, row.start_month, row.start_day)
    end_year = year + 1 if (row.end_month, row.end_day) < (row.start_month, row.start_day) else year
    return start, pd.Timestamp(end_year, row.end_month, row.end_day)


def event_phase(row, when: dt.date, suppress_days: int) -> float:
    """How much an event pulls its items on ``when``: a ramp from 0 to 1 over the lead
    days, 1 during the window, -1 for ``suppress_days`` after it, else 0."""
    day = pd.Timestamp(when)
    phases = []
    for year in (day.year - 1, day.year, day.year + 1):
        start, end = _occurrence(row, year)
        lead_start = start - pd.Timedelta(days=row.lead_days)
        if start <= day <= end:
            phases.append(1.0)
        elif lead_start <= day < start:
            phases.append(float((day - lead_start).days + 1) / (row.lead_days + 1))
        elif end < day <= end + pd.Timedelta(days=suppress_days):
            phases.append(-1.0)
    positive = [p for p in phases if p > 0]
    return max(positive) if positive else min(phases, default=0.0)


def keyword_affinity(items: pd.DataFrame, events: pd.DataFrame) -> np.ndarray:
    """``(n_items, n_events)`` 1 where the title has an event keyword (whole word, plural
    allowed) or the category is one of the event's categories; ``*`` ties nothing, since
    an event that lifts every item changes no order."""
    titles = items.get("title", pd.Series("", index=items.index)).fillna("").astype(str).str.lower()
    category = items.get("category", pd.Series("", index=items.index)).fillna("").astype(str).str.lower()
    result = np.zeros((len(items), len(events)), dtype=np.float32)
    for col, row in enumerate(events.itertuples(index=False)):
        match = np.zeros(len(items), dtype=bool)
        if row.keywords:
            words = "|".join(re.escape(k) for k in row.keywords)
            match |= titles.str.contains(rf"\b(?:{words})(?:s|es)?\b", regex=True).to_numpy()
        categories = [c for c in row.categories if c != "*"]
        if categories:
            match |= category.isin(categories).to_numpy()
        result[:, col] = match
    return result


def learnt_affinity(season: Seasonality, events: pd.DataFrame, prior: np.ndarray, config: ContextConfig) -> np.ndarray:
    """Affinity of items to events: the keyword tie, confirmed or dropped by demand.

    The lift is observed over expected purchases in the event's lead-and-window weeks
    (:class:`Seasonality`), relative to the shop's own lift in those weeks;
    ``log(lift) / log(4)`` clipped to [0, 1], shrunk towards 1 with
    ``event_prior_strength`` pseudo-purchases, times the keyword ``prior``.  Demand only
    confirms ties the calendar declares: overlapping windows (Halloween inside the
    Christmas lead) would otherwise tie every Christmas item to Halloween, and finding an
    item's own season is the season factor's job.
    """
    result = np.zeros_like(prior)
    for col, row in enumerate(events.itertuples(index=False)):
        start, end = _occurrence(row, 2001)  # any non-leap year: only weeks of year matter
        days = pd.date_range(start - pd.Timedelta(days=row.lead_days), end, freq="D")
        weeks = np.unique(week_of_year(days))
        observed, expected = season.observed[:, weeks].sum(axis=1), season.expected[:, weeks].sum(axis=1)
        shop_lift = max(observed.sum(), 1e-12) / max(expected.sum(), 1e-12) if expected.sum() > 0 else 1.0
        lift = (observed + 1) / (expected * shop_lift + 1)
        lift = np.clip(np.log(lift) / np.log(FULL_EVENT_LIFT), 0, 1)
        strength = config.event_prior_strength
        result[:, col] = prior[:, col] * (expected * lift + strength) / (expected + strength)
    return result.astype(np.float32)


@dataclass(frozen=True)
class EventFactors:
    """Calendar factor per country group and item, and what explains it."""

    names: tuple[str, ...]  # event of each column
    phase: np.ndarray  # (n_groups, n_events)
    affinity: np.ndarray  # (n_items, n_events)

    @functools.cached_property
    def values(self) -> np.ndarray:
        """``(n_groups, n_items)`` sum over events of phase x affinity."""
        return (self.phase @ self.affinity.T).astype(np.float32)

    def strongest(self, groups: np.ndarray, items: np.ndarray) -> np.ndarray:
        """Name of the event that lifts each (group, item) pair most (``None`` if none does)."""
        if not self.names:
            return np.full(len(groups), None, dtype=object)
        pull = self.phase[groups] * self.affinity[items]
        best = pull.argmax(axis=1)
        names = np.full(len(best), None, dtype=object)
        lifted = pull[np.arange(len(best)), best] > 0
        names[lifted] = np.asarray(self.names, dtype=object)[best[lifted]]
        return names


def event_factors(
    calendar: pd.DataFrame,
    items: pd.DataFrame,
    countries: list[str],
    season: Seasonality,
    as_of: dt.date,
    config: ContextConfig,
) -> EventFactors:
    """Phase of every event for each country on ``as_of`` and each item's tie to it.

    Events are columns by name: a country-specific row and the generic one of the same
    event share the column (only their dates differ).
    """
    names = tuple(sorted(calendar["event_name"].unique()))
    per_country = events_for_countries(calendar, countries)
    phase = np.zeros((len(countries), len(names)), dtype=np.float32)
    for g, country in enumerate(countries):
        for row in per_country[country].itertuples(index=False):
            phase[g, names.index(row.event_name)] = event_phase(row, as_of, config.event_suppress_days)
    generic = events_for_countries(calendar, [DEFAULT_COUNTRY])[DEFAULT_COUNTRY]
    representative = pd.concat([generic, calendar]).drop_duplicates("event_name").set_index("event_name")
    events = representative.loc[list(names)].reset_index()
    prior = keyword_affinity(items, events)
    return EventFactors(names, phase, learnt_affinity(season, events, prior, config))


def country_factor(
    purchases: pd.DataFrame, user_country: pd.Series, item_ids: np.ndarray, countries: list[str], config: ContextConfig
) -> np.ndarray:
    """``(n_groups, n_items)`` log-lift of item popularity in each country over the shop.

    Popularity counts distinct customers.  The lift of an item is its customers in the
    country over the number the shop's share predicts, each side plus
    ``country_prior_strength`` pseudo-customers: an item nobody in a small country could
    be expected to buy yet keeps a lift near 1.  The ``*`` group gets 0.
    """
    pairs = purchases[["user_id", "item_id"]].drop_duplicates()
    pairs = pairs.assign(country=pairs["user_id"].map(user_country))
    item_pos = pd.Index(item_ids).get_indexer(pairs["item_id"])
    group_pos = pd.Index(countries).get_indexer(pairs["country"])
    keep = (item_pos >= 0) & (group_pos >= 0)
    counts = np.zeros((len(countries), len(item_ids)))
    np.add.at(counts, (group_pos[keep], item_pos[keep]), 1.0)
    shop = counts.sum(axis=0) / max(counts.sum(), 1)
    expected = counts.sum(axis=1, keepdims=True) * shop[None, :]
    beta = config.country_prior_strength
    lift = np.clip(np.log((counts + beta) / (expected + beta)), -config.max_log_factor, config.max_log_factor)
    lift[[i for i, c in enumerate(countries) if c == DEFAULT_COUNTRY]] = 0
    return lift.astype(np.float32)


@dataclass(frozen=True)
class RecentBoost:
    """Sparse recent-activity factor and, for each entry, the item that caused it."""

    values: sp.csr_matrix  # (n_users, n_targets)
    source: sp.csr_matrix  # same pattern; stored value = source item row + 1


def recent_boost(
    events: pd.DataFrame,
    user_ids: np.ndarray,
    item_ids: np.ndarray,
    neighbours: np.ndarray,
    similarity: np.ndarray,
    self_target: np.ndarray,
    n_targets: int,
    as_of: dt.date,
    config: ContextConfig,
) -> RecentBoost:
    """Items similar to what each user touched in the ``recent_days`` before ``as_of``.

    Parameters
    ----------
    events : DataFrame
        ``user_id, item_id, timestamp, event_type``.
    item_ids : ndarray of str
        The items events may name (rows of ``neighbours``).
    neighbours, similarity : ndarray, shape (n_items, r)
        Nearest targets of each item (target columns, -1 padding) and their cosine.
    self_target : ndarray of int, shape (n_items,)
        Target column of each item itself, -1 when it is not a target (out of stock).

    The value of (user, target) is the maximum over the user's recent items ``j`` of
    ``type weight * 0.5 ** (age / half life) * similarity(j, target)`` (``j`` itself at 1).
    """
    shape = (len(user_ids), n_targets)
    cutoff = pd.Timestamp(as_of)
    ts = pd.to_datetime(events["timestamp"])
    recent = events[
        (
            (ts < cutoff)
            & (ts >= cutoff - pd.Timedelta(days=config.recent_days))
            & events["event_type"].isin(config.recent_event_types)
        ).to_numpy()
    ]
    users = pd.Index(user_ids).get_indexer(recent["user_id"].astype(str))
    items = pd.Index(item_ids).get_indexer(recent["item_id"].astype(str))
    age = (cutoff - pd.to_datetime(recent["timestamp"])).dt.total_seconds().to_numpy() / 86400
    weight = recent["event_type"].map(RECENT_TYPE_WEIGHTS).fillna(1.0).to_numpy(float) * 0.5 ** (
        age / config.recent_half_life_days
    )
    keep = (users >= 0) & (items >= 0)
    if not keep.any():
        empty = sp.csr_matrix(shape, dtype=np.float32)
        return RecentBoost(empty, empty.copy())
    users, items, weight = users[keep], items[keep], weight[keep]
    near = np.hstack([self_target[items, None], neighbours[items, : config.recent_neighbours]])
    sim = np.hstack([np.ones((len(items), 1)), similarity[items, : config.recent_neighbours]])
    frame = pd.DataFrame(
        {
            "u": np.repeat(users, near.shape[1]),
            "i": near.ravel(),
            "v": (weight[:, None] * np.clip(np.nan_to_num(sim, neginf=0), 0, None)).ravel(),
            "src": np.repeat(items, near.shape[1]),
        }
    )
    frame = frame[(frame["i"] >= 0) & (frame["v"] > 0)]
    best = frame.sort_values(["u", "i", "v", "src"], ascending=[True, True, False, True]).drop_duplicates(["u", "i"])
    values = sp.csr_matrix((best["v"].to_numpy(np.float32), (best["u"], best["i"])), shape=shape)
    source = sp.csr_matrix(((best["src"] + 1).to_numpy(np.float32), (best["u"], best["i"])), shape=shape)
    return RecentBoost(values, source)


def score_scale(user_vectors: np.ndarray, item_vectors: np.ndarray, sample: int = 512) -> float:
    """Typical within-user spread of raw scores: the unit context factors are expressed in.

    The mean per-user standard deviation over evenly spaced users; deterministic, and 1
    when scores do not vary (a weight still means something).
    """
    if len(user_vectors) == 0 or len(item_vectors) < 2:
        return 1.0
    rows = np.unique(np.linspace(0, len(user_vectors) - 1, min(sample, len(user_vectors))).astype(int))
    spread = float((user_vectors[rows] @ item_vectors.T).std(axis=1).mean())
    return spread if np.isfinite(spread) and spread > 0 else 1.0


def weekly_demand(purchases: pd.DataFrame) -> pd.DataFrame:
    """``product_id, week_start, n_purchases`` from purchase rows (``item_id, timestamp``):
    the offline stand-in for ``marts.fct_product_weekly_demand``."""
    ts = pd.to_datetime(purchases["timestamp"])
    frame = pd.DataFrame(
        {"product_id": purchases["item_id"].astype(str), "week_start": ts.dt.to_period("W-SUN").dt.start_time}
    )
    return frame.groupby(["product_id", "week_start"]).size().rename("n_purchases").reset_index()
