"""Behavioural segments: planted groups recovered, codes kept from night to night, words that fit."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from conftest import REPO
from sklearn.metrics import adjusted_rand_score

from recsys.platform import warehouse
from recsys.platform.settings import SegmentsConfig, Settings
from recsys.segments import clusters
from recsys.segments.features import Profiles, coordinates, fit_scaling, profiles

AS_OF = dt.date(2023, 12, 31)
CATEGORIES = ("Garden", "Toys", "Kitchen", "Beauty")
#: Three planted groups: what they look at, how recently, how much they buy.
GROUPS = {
    "gardeners": {"Garden": 0.8, "Kitchen": 0.2},
    "parents": {"Toys": 0.85, "Beauty": 0.15},
    "cooks": {"Kitchen": 0.75, "Garden": 0.25},
}
CONFIG = SegmentsConfig(k_min=2, k_max=5, min_products=3, silhouette_sample=600, n_init=4)


def planted(seed: int = 0, n_per_group: int = 150, noise: float = 0.08) -> tuple[Profiles, pd.Series]:
    """Profiles of customers from the planted groups (noisy shares) and each one's group."""
    rng = np.random.default_rng(seed)
    activity, mix, truth = [], [], {}
    for g, (group, preferences) in enumerate(GROUPS.items()):
        for i in range(n_per_group):
            customer = f"c{g}{i:04d}"
            truth[customer] = group
            shares = np.array([preferences.get(c, 0.0) for c in CATEGORIES]) + rng.uniform(0, noise, len(CATEGORIES))
            shares /= shares.sum()
            for category, share in zip(CATEGORIES, shares):
                mix.append((customer, "category", category, share, 6))
            mix.append((customer, "price_band", "mid", 1.0, 6))
            activity.append(
                (customer, AS_OF - dt.timedelta(days=int(rng.integers(1, 60))), int(rng.integers(1, 4)), 40.0)
            )
    profile = profiles(
        pd.DataFrame(activity, columns=["customer_id", "last_event_date", "frequency", "monetary"]),
        pd.DataFrame(mix, columns=["customer_id", "dimension", "value", "share", "customer_products"]),
        AS_OF,
    )
    return profile, pd.Series(truth).loc[profile.values.index]


def previous_of(fit: clusters.SegmentFit) -> clusters.PreviousFit:
    return clusters.PreviousFit(fit.fit_date, fit.centres, fit.assignments, tuple(fit.centres.index))


def test_profiles_pivot_the_mix_and_measure_recency_from_the_date():
    profile, _ = planted(n_per_group=2)
    values = profile.values
    assert {"recency_days", "frequency", "monetary", "products", "category:Garden", "price_band:mid"} <= set(values)
    shares = values[[c for c in values if c.startswith("category:")]].sum(axis=1)
    np.testing.assert_allclose(shares, 1.0)
    assert (values["recency_days"] >= 1).all() and (values["recency_days"] < 60).all()


def test_each_view_weighs_its_setting_in_the_distance():
    profile, _ = planted()
    values = profile.values
    for weights in ({"rfm": 1.0, "category": 1.0, "price_band": 1.0}, {"rfm": 0.5, "category": 2.0}):
        scaling = fit_scaling(profile, weights)
        points = coordinates(profile, scaling)
        variance = points.var(axis=0)
        columns = np.array(scaling.columns)
        rfm = np.isin(columns, ["recency_days", "frequency", "monetary"])
        category = np.char.startswith(columns.astype(str), "category:")
        assert variance[rfm].sum() == pytest.approx(weights["rfm"] ** 2, rel=1e-6)
        assert variance[category].sum() == pytest.approx(weights["category"] ** 2, rel=1e-6)
    assert len(values) == 3 * 150


def test_planted_groups_are_recovered_and_named_by_their_categories():
    profile, truth = planted()
    fit = clusters.fit_segments(profile, AS_OF, CONFIG)
    assert fit.k == 3, fit.silhouettes
    assert adjusted_rand_score(truth, fit.assignments.loc[truth.index]) > 0.95
    assert list(fit.segments["segment"]) == ["B1", "B2", "B3"]
    names = dict(zip(fit.segments["segment"], fit.segments["name"]))
    parents = fit.assignments[truth == "parents"].mode()[0]
    assert names[parents].startswith("Toys"), names
    description = fit.segments.set_index("segment").loc[parents, "description"]
    assert "Toys (" in description and description.endswith(".")


def test_codes_follow_the_customers_from_one_night_to_the_next():
    profile, truth = planted(seed=0)
    first = clusters.fit_segments(profile, AS_OF, CONFIG)
    # the next night: a little more noise, and K-means started differently
    tomorrow, _ = planted(seed=1)
    second = clusters.fit_segments(
        tomorrow, AS_OF + dt.timedelta(days=1), CONFIG.model_copy(update={"seed": 7}), previous_of(first)
    )
    assert set(second.centres.index) == set(first.centres.index)
    for group in GROUPS:
        members = truth.index[truth == group]
        assert first.assignments[members].mode()[0] == second.assignments[members].mode()[0], group
    assert second.stability is not None and second.stability >= 0.9
    assert second.previous_fit_date == AS_OF


def test_the_previous_k_stays_within_the_tolerance_and_a_new_cluster_gets_a_new_code():
    profile, _ = planted()
    first = clusters.fit_segments(profile, AS_OF, CONFIG)
    # yesterday had four segments (one retired code B9 too); tonight three fit much better
    four = CONFIG.model_copy(update={"k_min": 4, "k_max": 4})
    yesterday = clusters.fit_segments(profile, AS_OF - dt.timedelta(days=1), four)
    stale = clusters.PreviousFit(
        yesterday.fit_date, yesterday.centres, yesterday.assignments, (*yesterday.centres.index, "B9")
    )
    strict = clusters.fit_segments(profile, AS_OF, CONFIG.model_copy(update={"k_tolerance": 0.0}), stale)
    assert strict.k == 3
    lenient = clusters.fit_segments(profile, AS_OF, CONFIG.model_copy(update={"k_tolerance": 1.0}), stale)
    assert lenient.k == 4 and set(lenient.centres.index) == set(yesterday.centres.index)
    # a previous fit with two segments: tonight's third cluster gets a code never used
    two = clusters.fit_segments(
        profile, AS_OF - dt.timedelta(days=1), CONFIG.model_copy(update={"k_min": 2, "k_max": 2})
    )
    grown = clusters.fit_segments(
        profile, AS_OF, CONFIG, clusters.PreviousFit(two.fit_date, two.centres, two.assignments, ("B1", "B2", "B9"))
    )
    assert grown.k == 3 and set(grown.centres.index) == {"B1", "B2", "B10"}
    assert first.k == 3


def test_too_few_customers_with_history_is_one_clear_error():
    profile, _ = planted(n_per_group=2)
    with pytest.raises(ValueError, match="too few to fit up to 5 segments"):
        clusters.fit_segments(profile, AS_OF, CONFIG)
    with pytest.raises(ValueError, match="k_min 6 is above k_max 5"):
        clusters.fit_segments(profile, AS_OF, CONFIG.model_copy(update={"k_min": 6}))


@pytest.fixture(scope="module")
def shop_nights(warehouse_db, tmp_path_factory):
    """The tiny generated shop over three nights (history, then two daily dates)."""
    from nightly import generated_nights, run_night

    from recsys.generator.spec import shop_spec

    tmp = tmp_path_factory.mktemp("segments")
    settings = Settings(home=REPO, warehouse_url=warehouse_db, data_root=tmp / "data", artifacts_root=tmp / "artifacts")
    nights = generated_nights(warehouse_db, settings, shop_spec("tiny"), daily_days=2)
    for day in nights.dates:
        run_night(nights, day, gates=False)
    return nights


@pytest.mark.integration
def test_nightly_segments_are_stable_recover_the_planted_tastes_and_reach_dim_customers(shop_nights):
    from recsys.generator.shop import ground_truth

    first, *later = (shop_nights.fits[day] for day in shop_nights.dates)
    assert all(fit.stability is not None and fit.stability >= 0.9 for fit in later), [f.stability for f in later]
    assert all(set(fit.centres.index) == set(first.centres.index) for fit in later)
    truth = ground_truth(shop_nights.spec).customers.set_index("customer_id")["segment"]
    last = later[-1]
    known = last.assignments.index.intersection(truth.index)
    assert adjusted_rand_score(truth.loc[known], last.assignments.loc[known]) > 0.2  # chance is 0
    with warehouse.connect(shop_nights.url) as conn:
        rows = dict(
            conn.execute(
                "select customer_id, behaviour_segment from marts.dim_customers where behaviour_segment is not null"
            ).fetchall()
        )
        segments = conn.execute("select behaviour_segment, name, fit_date from marts.dim_behaviour_segments").fetchall()
        without = conn.execute(
            "select count(*) from marts.dim_customers where behaviour_segment is null and last_event_at is not null"
            " and customer_id in (select customer_id from intermediate.int_customer_mix)"
        ).fetchone()
    assert rows == last.assignments.to_dict(), "dim_customers carries tonight's fit"
    assert {s for s, _, _ in segments} == set(last.centres.index)
    assert {d for _, _, d in segments} == {shop_nights.dates[-1]}
    assert without == (0,), "every customer with an interaction has a segment"


@pytest.mark.integration
def test_a_rerun_of_a_night_replaces_its_fit(shop_nights):
    from recsys.segments.store import fit_night

    day = shop_nights.dates[-1]
    before = shop_nights.fits[day]
    again = fit_night(shop_nights.as_role("trainer"), day, shop_nights.settings.segments)
    assert again.assignments.equals(before.assignments)
    with warehouse.connect(shop_nights.url) as conn:
        assert conn.execute(
            "select count(*) from ml.behaviour_segment_fits where fit_date = %s", (day,)
        ).fetchone() == (1,)
        kept = conn.execute("select count(distinct fit_date) from ml.behaviour_segments").fetchone()[0]
    assert kept == min(len(shop_nights.dates), shop_nights.settings.segments.keep_fits)


@pytest.mark.integration
def test_the_segment_is_a_user_feature_and_the_cold_start_level(shop_nights):
    from recsys.serving.inputs import read_inputs
    from recsys.training.features import feature_matrix
    from recsys.training.marts import read_warehouse

    day = shop_nights.dates[-1]
    frames = read_warehouse(shop_nights.as_role("trainer"), day)
    assert frames.users is not None and "behaviour_segment" in frames.users
    _, vocabulary = feature_matrix(frames.users["user_id"].to_numpy(), frames.users.drop(columns="user_id"))
    assert any(name.startswith("behaviour_segment=B") for name in vocabulary)
    inputs = read_inputs(shop_nights.as_role("publisher"), day, active_days=365)
    fitted = shop_nights.fits[day].assignments
    users = inputs.users.set_index("user_id")
    segmented = users.index.intersection(fitted.index)
    assert len(segmented) and (users.loc[segmented, "segment"] == fitted.loc[segmented]).all()
    assert (
        users.drop(segmented)["segment"]
        .isin(["new", "prospect", "champions", "loyal", "at_risk", "hibernating", "promising"])
        .all()
    )
