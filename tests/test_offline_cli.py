"""``recsys evaluate`` and ``recsys recommend`` on plain files with the standard columns.

``recommend`` must rank as the nightly publish does: the same lists as
:func:`recsys.serving.recommend.recommend_for_users` for the same model and inputs, the raw model
order under the rules when every context weight is 0, and a send date (``--as-of``) that
moves seasonal items.
"""

from __future__ import annotations

import json
import os

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from conftest import REPO
from planted import EVALUATED_MODELS, planted_frames
from typer.testing import CliRunner

from recsys.cli.main import app
from recsys.platform.settings import get_settings
from recsys.serving import offline
from recsys.serving.rules import BusinessRules, recommendable, shop_rules
from recsys.training import artifacts
from recsys.training.blend import history_weights
from recsys.training.frames import read_files
from recsys.training.train import fit_full_history
from recsys.training.weighting import load_weighting

# small and quick: the CLI reads nested settings from the environment
ENV = {
    "RECSYS_TRAINING__EPOCHS": "15",
    "RECSYS_TRAINING__NO_COMPONENTS": "8",
    "RECSYS_EVALUATION__TEST_DAYS": "14",
    "RECSYS_EVALUATION__VALIDATION_DAYS": "14",
    "RECSYS_TRAINING__SEARCH_TRIALS": "8",
}
ZERO_CONTEXT = {f"RECSYS_CONTEXT__{factor}_WEIGHT": "0" for factor in ("SEASON", "EVENT", "RECENT", "COUNTRY")}
CALENDAR = REPO / "dbt" / "seeds" / "calendar_events.csv"
K = 5
COLD_USER = "new0001"  # in the users file, no interaction: a sign-up scored by popularity


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("offline")
    frames = planted_frames(n_users=250, seed=4)
    paths = {name: folder / f"{name}.csv" for name in ("interactions", "items", "users")}
    frames.interactions.to_csv(paths["interactions"], index=False)
    frames.items.to_csv(paths["items"], index=False)
    pd.concat([frames.users, pd.DataFrame({"user_id": [COLD_USER], "country": ["DE"]})]).to_csv(
        paths["users"], index=False
    )
    return paths, read_files(paths["interactions"], paths["items"], paths["users"])


def _invoke(args: list[str], env: dict | None = None):
    result = CliRunner().invoke(app, args, env=ENV | (env or {}), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result


def _recommend(paths: dict, output, *extra: str, env: dict | None = None) -> pd.DataFrame:
    args = ["recommend", "--interactions", str(paths["interactions"]), "--k", str(K), "--output", str(output)]
    for name in ("items", "users"):
        if name in paths:
            args += [f"--{name}", str(paths[name])]
    _invoke([*args, *extra], env)
    return pd.read_csv(output, dtype={"user_id": str, "item_id": str})


@pytest.fixture(scope="module")
def default_recs(files, tmp_path_factory):
    paths, _ = files
    return _recommend(paths, tmp_path_factory.mktemp("recs") / "recs.csv")


@pytest.fixture(scope="module")
def fitted(files):
    """The model the CLI fits (same settings and data; LightFM is fitted on one thread, so
    the same model)."""
    _, frames = files
    settings = get_settings({**os.environ, **ENV})
    weighting = load_weighting(settings.dbt_project_dir / "dbt_project.yml")
    return settings, fit_full_history(frames, settings.training, settings.evaluation, weighting)


def test_evaluate_prints_every_model_and_writes_json(files, tmp_path):
    paths, _ = files
    output = tmp_path / "metrics.json"
    result = _invoke(
        [
            "evaluate",
            "--interactions",
            str(paths["interactions"]),
            "--items",
            str(paths["items"]),
            "--users",
            str(paths["users"]),
            "--output",
            str(output),
            "--protocol",
            "both",
        ]
    )
    written = json.loads(output.read_text())
    assert set(written) == {"temporal", "leave-last-out"}
    models = written["temporal"]["models"]
    for name in EVALUATED_MODELS:
        assert name in models and name in result.output
        assert {"ndcg@10", "recall@5", "map@20", "hit_rate@10", "auc", "coverage@10", "gini@10"} <= set(
            models[name]["overall"]
        )
    assert written["temporal"]["ratings"]["test_ratings"] > 0


def test_recommend_writes_k_unseen_items_per_user_cold_start_included(files, default_recs):
    _, frames = files
    recs = default_recs
    assert list(recs.columns) == list(offline.OUTPUT_COLUMNS)
    assert set(recs["user_id"]) == set(frames.interactions["user_id"]) | {COLD_USER}
    assert all(ranks == list(range(1, K + 1)) for ranks in recs.groupby("user_id")["rank"].apply(list))
    assert not recs.duplicated(["user_id", "item_id"]).any()
    seen = set(zip(frames.interactions["user_id"], frames.interactions["item_id"]))
    assert not seen & set(zip(recs["user_id"], recs["item_id"]))


def test_in_memory_model_is_the_saved_artifact_prior_included(fitted, tmp_path):
    _, fit = fitted
    artifacts.save_model(tmp_path, fit.model, {"choice": fit.choice.to_json()}, {})
    saved, in_memory = artifacts.load_model(tmp_path), artifacts.in_memory_model(fit.model)
    for name in (
        "user_embeddings",
        "user_biases",
        "item_embeddings",
        "item_biases",
        "item_prior",
        "user_ids",
        "item_ids",
    ):
        np.testing.assert_array_equal(getattr(in_memory, name), getattr(saved, name), err_msg=name)
    np.testing.assert_array_equal(in_memory.neighbours.toarray(), saved.neighbours.toarray())
    assert (in_memory.knn_coefficient, in_memory.half_life_days) == (saved.knn_coefficient, saved.half_life_days)
    assert in_memory.user_feature_names == saved.user_feature_names
    assert in_memory.item_feature_names == saved.item_feature_names
    assert bool(in_memory.item_prior.any()) == (fit.choice.settings.pop_weight > 0)


def _rule_order(scores: np.ndarray, bought: set, category: np.ndarray, candidates: int, cap: int) -> list[int]:
    """Naive reference: the best ``candidates`` unbought items by raw score, then the category cap."""
    unbought = [i for i in np.argsort(-scores, kind="stable") if i not in bought][:candidates]
    taken: list[int] = []
    counts: dict[int, int] = {}
    for item in unbought:
        if counts.get(category[item], 0) < cap and len(taken) < K:
            taken.append(item)
            counts[category[item]] = counts.get(category[item], 0) + 1
    return taken


def test_zero_context_weights_give_the_raw_model_order_under_the_rules(files, fitted, tmp_path):
    paths, frames = files
    settings, fit = fitted
    recs = _recommend(paths, tmp_path / "raw.csv", env=ZERO_CONTEXT)
    model = artifacts.in_memory_model(fit.model)
    rules = shop_rules(settings)
    category = frames.items.set_index("item_id")["category"].reindex(model.item_ids).to_numpy()
    bought = frames.interactions.groupby("user_id")["item_id"].apply(lambda s: set(model.item_index(s)))
    send_date = offline.default_as_of(frames.interactions)
    last = frames.interactions.groupby(["user_id", "item_id"])["timestamp"].max().reset_index()
    history = sp.csr_matrix(
        (
            history_weights(last["timestamp"], pd.Timestamp(send_date), model.half_life_days),
            (model.user_index(last["user_id"]), model.item_index(last["item_id"])),
        ),
        shape=(len(model.user_ids), len(model.item_ids)),
    )
    checked = 0
    for user, items in recs.groupby("user_id")["item_id"]:
        row = model.user_index([user])[0]
        if row < 0:
            continue  # cold start: popularity, not the model
        expected = _rule_order(
            model.score(np.array([row]), history[row])[0],
            bought[user],
            category,
            rules.candidates(K),
            rules.category_cap,
        )
        got = model.item_index(items.tolist()).tolist()
        assert got[: len(expected)] == expected, user
        checked += 1
    assert checked == frames.interactions["user_id"].nunique()


def test_bought_items_never_come_back_outside_the_rebuy_categories(files, tmp_path):
    paths, frames = files
    recs = _recommend(paths, tmp_path / "rebuy.csv", env={"RECSYS_RULES__REBUY_CATEGORIES": "garden"})
    category = frames.items.set_index("item_id")["category"]
    bought = frames.interactions[["user_id", "item_id"]].drop_duplicates()
    again = recs.merge(bought, on=["user_id", "item_id"])
    assert len(again) > 0, "the re-buy category should let some bought garden items back"
    assert (category.loc[again["item_id"]] == "garden").all()


def seasonal_files(folder, seed=0, n_users=80, per_category=10) -> dict:
    """Three years of mugs bought all year, and a Christmas bauble half the customers bought
    in the Decembers of 2021 and 2022 (none in 2023); the data ends on 2024-01-14."""
    rng = np.random.default_rng(seed)
    users = [f"s{u:03d}" for u in range(n_users)]
    items = pd.DataFrame(
        {
            "item_id": [f"c{c}-{i:02d}" for c in range(4) for i in range(per_category)] + ["XMAS"],
            "title": [f"ENAMEL MUG {i}" for i in range(4 * per_category)] + ["CHRISTMAS BAUBLE"],
            "category": [f"mugs{c}" for c in range(4) for _ in range(per_category)] + ["decorations"],
        }
    )
    n = n_users * 40
    mugs = pd.DataFrame(
        {
            "user_id": rng.choice(users, n),
            "item_id": rng.choice(items["item_id"][:-1], n),
            "timestamp": pd.Timestamp("2021-01-04") + pd.to_timedelta(rng.uniform(0, 1106, n), unit="D"),
        }
    )
    buyers = np.repeat(rng.choice(users, n_users // 2, replace=False), 3)
    seasons = [
        pd.DataFrame(
            {
                "user_id": buyers,
                "item_id": "XMAS",
                "timestamp": pd.Timestamp(first) + pd.to_timedelta(rng.uniform(0, 25, len(buyers)), unit="D"),
            }
        )
        for first in ("2021-11-29", "2022-11-28")
    ]
    paths = {"interactions": folder / "seasonal.csv", "items": folder / "seasonal_items.csv"}
    pd.concat([mugs, *seasons], ignore_index=True).assign(weight=1.0).to_csv(paths["interactions"], index=False)
    items.to_csv(paths["items"], index=False)
    return paths


def test_as_of_moves_a_seasonal_item_in_season_and_not_after(tmp_path):
    paths = seasonal_files(tmp_path)
    interactions = pd.read_csv(paths["interactions"], dtype={"user_id": str})
    never_bought = set(interactions["user_id"]) - set(interactions.loc[interactions["item_id"] == "XMAS", "user_id"])

    def share(recs: pd.DataFrame) -> float:
        """Customers who never bought the bauble with it in their list."""
        return (
            recs[recs["user_id"].isin(never_bought)]
            .groupby("user_id")["item_id"]
            .apply(lambda s: (s == "XMAS").any())
            .mean()
        )

    in_season = share(_recommend(paths, tmp_path / "december.csv", "--as-of", "2023-12-04"))
    after = share(_recommend(paths, tmp_path / "january.csv"))  # default: the day after the data, 2024-01-15
    no_context = share(
        _recommend(
            paths,
            tmp_path / "raw.csv",
            "--as-of",
            "2023-12-04",
            env={"RECSYS_CONTEXT__SEASON_WEIGHT": "0", "RECSYS_CONTEXT__EVENT_WEIGHT": "0"},
        )
    )
    # the served blend's item neighbours carry the bauble without any season (half the
    # customers bought it with their mugs): the season and calendar factors add on top
    assert in_season > 0.2 and after < in_season / 4 and no_context < 0.75 * in_season, (in_season, after, no_context)


def test_as_of_before_the_data_is_refused(files, tmp_path):
    paths, _ = files
    args = [
        "recommend",
        "--interactions",
        str(paths["interactions"]),
        "--as-of",
        "2000-01-01",
        "--output",
        str(tmp_path / "o.csv"),
    ]
    result = CliRunner().invoke(app, args, env=ENV)
    assert result.exit_code != 0
    assert "no interactions before --as-of 2000-01-01" in str(result.exception)


def test_history_keeps_every_purchase_view_and_cart_before_the_send_date():
    events = pd.DataFrame(
        {
            "user_id": ["a"] * 5,
            "item_id": ["p", "v_old", "v_new", "c_new", "late"],
            "timestamp": pd.to_datetime(["2024-01-01", "2024-01-01", "2024-03-10", "2024-03-12", "2024-03-20"]),
            "n_views": [0, 1, 1, 0, 1],
            "n_carts": [0, 0, 0, 1, 0],
            "n_purchases": [1, 0, 0, 0, 0],
        }
    )
    history = offline.history_frame(events, pd.Timestamp("2024-03-15").date())
    assert sorted(zip(history["item_id"], history["event_type"])) == [
        ("c_new", "cart"),
        ("p", "purchase"),
        ("v_new", "view"),
        ("v_old", "view"),
    ]


def test_catalogue_adds_items_seen_only_in_interactions_and_they_stay_recommendable():
    items = pd.DataFrame({"item_id": ["a", "b"], "in_stock": [True, False]})
    catalogue = offline.catalogue_frame(items, pd.DataFrame({"item_id": ["b", "z"]}))
    assert catalogue["item_id"].tolist() == ["a", "b", "z"]
    assert recommendable(catalogue, BusinessRules()).tolist() == [True, False, True]


def test_recommend_refuses_a_file_without_the_standard_columns(tmp_path):
    bad = tmp_path / "bad.csv"
    pd.DataFrame({"customer": ["a"], "product": ["b"]}).to_csv(bad, index=False)
    result = CliRunner().invoke(
        app, ["recommend", "--interactions", str(bad), "--output", str(tmp_path / "o.csv")], env=ENV
    )
    assert result.exit_code != 0
    assert "user_id,item_id,timestamp" in str(result.exception)
