"""Context factors: seasonality, calendar events, country lift and recent activity."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from conftest import REPO

from recsys.platform.settings import ContextConfig
from recsys.serving import context

CONFIG = ContextConfig()
CALENDAR_SEED = REPO / "dbt" / "seeds" / "calendar_events.csv"


def weekly(product, weeks, n):
    return pd.DataFrame({"product_id": product, "week_start": weeks, "n_purchases": n})


def two_years_of_demand():
    """'xmas' sells only in the 8 weeks before Christmas, 'steady' (and 20 more like it,
    the bulk of the shop) every week, 'late' every week after its launch in June 2011."""
    weeks = pd.date_range("2010-01-04", "2011-12-26", freq="7D")
    xmas_weeks = weeks[(weeks.month == 11) | ((weeks.month == 12) & (weeks.day < 20))]
    late_weeks = weeks[weeks >= "2011-06-06"]
    bulk = [weekly(f"bulk{i}", weeks, 10) for i in range(20)]
    return pd.concat(
        [weekly("steady", weeks, 10), weekly("xmas", xmas_weeks, 30), weekly("late", late_weeks, 10), *bulk]
    )


def test_week_of_year_folds_week_53():
    assert context.week_of_year(["2011-01-03", "2015-12-31", "2011-12-26"]).tolist() == [0, 51, 51]


def test_seasonal_items_rise_before_christmas_and_fall_in_spring():
    demand = two_years_of_demand()
    items = np.array(["steady", "xmas", "late", "unknown"] + [f"bulk{i}" for i in range(20)])
    launched = pd.Series({"late": pd.Timestamp("2011-06-06")})
    season = context.seasonality(demand, items, dt.date(2012, 1, 2), CONFIG, launched=launched)
    november = context.season_factor(season, dt.date(2012, 11, 20), CONFIG)
    march = context.season_factor(season, dt.date(2012, 3, 12), CONFIG)
    assert november[1] > 0.5 > -0.5 > march[1]
    assert abs(november[0]) < 0.3 and abs(march[0]) < 0.3, "a steady seller has no season"
    assert abs(march[2]) < 0.3, "weeks before the launch are not weeks without demand"
    assert november[3] == 0 and march[3] == 0, "no history, no season"


def test_only_weeks_before_the_send_date_count():
    demand = two_years_of_demand()
    future = demand.assign(week_start=pd.to_datetime(demand["week_start"]) + pd.DateOffset(years=5))
    season = context.seasonality(future, np.array(["xmas"]), dt.date(2012, 1, 2), CONFIG)
    assert context.season_factor(season, dt.date(2012, 11, 20), CONFIG)[0] == 0


def seed_calendar():
    if not CALENDAR_SEED.exists():
        pytest.skip(f"{CALENDAR_SEED} absent")
    return context.load_calendar(CALENDAR_SEED)


def test_event_phase_ramps_before_holds_during_and_suppresses_after():
    calendar = seed_calendar()
    christmas = next(calendar[calendar["event_name"] == "christmas"].itertuples(index=False))
    phase = [
        context.event_phase(christmas, day, 60)
        for day in (dt.date(2011, 11, 25), dt.date(2011, 12, 10), dt.date(2012, 1, 15), dt.date(2012, 3, 15))
    ]
    assert 0 < phase[0] < 1 and phase[1] == 1 and phase[2] == -1 and phase[3] == 0


def test_country_rows_replace_the_generic_row_of_their_event():
    calendar = seed_calendar()
    events = context.events_for_countries(calendar, ["United Kingdom", "France"])
    uk = events["United Kingdom"].set_index("event_name").loc["mothers_day"]
    fr = events["France"].set_index("event_name").loc["mothers_day"]
    assert (uk.start_month, fr.start_month) == (3, 5)
    assert events["France"]["event_name"].is_unique


def test_christmas_items_are_tied_to_christmas_by_keyword_then_by_evidence():
    calendar = seed_calendar()
    items = pd.DataFrame(
        {
            "item_id": ["xmas", "heart", "steady"],
            "title": ["PAPER CHRISTMAS DECORATIONS", "WHITE HANGING HEART T-LIGHT HOLDER", "JUMBO BAG"],
        }
    )
    empty = context.seasonality(weekly("none", [], []), items["item_id"].to_numpy(), dt.date(2011, 1, 1), CONFIG)
    factors = context.event_factors(calendar, items, ["United Kingdom"], empty, dt.date(2011, 11, 25), CONFIG)
    column = factors.names.index("christmas")
    assert factors.affinity[:, column].tolist() == [1, 0, 0]
    valentine = factors.names.index("valentines_day")
    assert factors.affinity[1, valentine] == 1, "the keyword prior ties hearts to Valentine's day"
    values = factors.values
    assert values[0, 0] > 0 and values[0, 2] == 0
    assert factors.strongest(np.array([0, 0]), np.array([0, 2])).tolist() == ["christmas", None]
    # a heart that sells all year long loses its Valentine tie once history shows it
    demand = pd.concat(
        [
            weekly("heart", pd.date_range("2009-01-05", "2010-12-27", freq="7D"), 50),
            weekly("xmas", pd.date_range("2010-11-01", "2010-12-20", freq="7D"), 40),
        ]
    )
    season = context.seasonality(demand, items["item_id"].to_numpy(), dt.date(2011, 1, 1), CONFIG)
    learnt = context.event_factors(calendar, items, ["United Kingdom"], season, dt.date(2011, 11, 25), CONFIG)
    assert learnt.affinity[1, valentine] < 0.1
    assert learnt.affinity[0, column] > 0.5


def test_country_factor_lifts_what_a_country_buys_and_leaves_the_default_group_alone():
    purchases = pd.DataFrame(
        {
            "user_id": [f"de{i}" for i in range(30)] + [f"uk{i}" for i in range(300)] + ["uk0"],
            "item_id": ["bratwurst"] * 30 + ["tea"] * 300 + ["rare"],
        }
    )
    country = pd.Series(
        {**{f"de{i}": "Germany" for i in range(30)}, **{f"uk{i}": "United Kingdom" for i in range(300)}}
    )
    lift = context.country_factor(
        purchases, country, np.array(["bratwurst", "tea", "rare"]), ["*", "Germany", "United Kingdom"], CONFIG
    )
    assert lift[1, 0] > 0 > lift[1, 1], "Germans buy bratwurst, not tea"
    assert lift[2, 1] > lift[2, 0]
    assert abs(lift[1, 2]) < 0.05, "nobody in Germany could be expected to have bought a rare item yet"
    assert (lift[0] == 0).all()


def test_recent_views_boost_the_item_and_its_neighbours_with_decay():
    events = pd.DataFrame(
        {
            "user_id": ["u1", "u1", "u2", "u2"],
            "item_id": ["A", "C", "B", "A"],
            "timestamp": pd.to_datetime(
                ["2011-11-29 00:00", "2011-11-01 00:00", "2011-11-30 12:00", "2011-11-30 00:00"]
            ),
            "event_type": ["view", "view", "purchase", "cart"],
        }
    )
    neighbours = np.array([[1, 2], [0, 2], [0, 1]])
    similarity = np.array([[0.5, 0.1], [0.5, 0.2], [0.1, 0.2]], dtype=np.float32)
    items = np.array(["A", "B", "C"])
    boost = context.recent_boost(
        events, np.array(["u1", "u2"]), items, neighbours, similarity, np.arange(3), 3, dt.date(2011, 12, 1), CONFIG
    )
    values = boost.values.toarray()
    assert values[0, 0] > values[0, 1] > values[0, 2] > 0, "the viewed item, then its nearest neighbour"
    assert values[1, 0] > values[0, 0], "a fresher cart beats an older view"
    assert boost.source.toarray()[0].tolist() == [1, 1, 1], "every boost of u1 comes from item A (index 0 + 1)"
    assert (
        context.recent_boost(
            events.iloc[:0],
            np.array(["u1"]),
            items,
            neighbours,
            similarity,
            np.arange(3),
            3,
            dt.date(2011, 12, 1),
            CONFIG,
        ).values.nnz
        == 0
    )
    gone = context.recent_boost(
        events, np.array(["u1"]), items, neighbours, similarity, np.array([-1, 1, 2]), 3, dt.date(2011, 12, 1), CONFIG
    ).values.toarray()
    assert gone[0, 0] == 0 and gone[0, 1] > 0, "an out-of-stock item is not boosted, its neighbours are"


def test_score_scale_is_the_within_user_spread():
    rng = np.random.default_rng(0)
    u, v = rng.standard_normal((50, 4)), rng.standard_normal((80, 4))
    scale = context.score_scale(u, v)
    assert np.isclose(scale, (u @ v.T).std(axis=1).mean(), rtol=0.05)
    assert context.score_scale(np.zeros((3, 2)), np.zeros((5, 2))) == 1.0
