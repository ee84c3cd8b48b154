"""The served blend learns the planted structure, beats the baselines it must, and is reproducible."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from planted import EVALUATED_MODELS, PREFERRED, START, planted_frames

from recsys.platform.settings import EvaluationConfig, TrainingConfig
from recsys.training import artifacts
from recsys.training.blend import history_matrix
from recsys.training.evaluate import build_context, top_k_blocks
from recsys.training.frames import Frames, landing_to_frames, normalise_interactions
from recsys.training.matrix import build_training_data
from recsys.training.models import (
    ALS,
    UNSCORABLE,
    Fixed,
    ItemCooccurrence,
    LightFMRecommender,
    Popularity,
)
from recsys.training.split import temporal_split
from recsys.training.train import (
    choose_served,
    run_parameters,
    save_run,
    train_and_evaluate,
    validation_context,
)
from recsys.training.weighting import Weighting

CONFIG = TrainingConfig(epochs=30, no_components=16, eval_every=5, search_trials=12)
EVALUATION = EvaluationConfig(test_days=14, validation_days=14)


@pytest.fixture(scope="module")
def frames() -> Frames:
    return planted_frames(seed=0)


@pytest.fixture(scope="module")
def split(frames):
    return temporal_split(frames.interactions, START + pd.Timedelta(days=166), START + pd.Timedelta(days=180))


@pytest.fixture(scope="module")
def run(frames, split):
    return train_and_evaluate(frames, split, CONFIG, EVALUATION, Weighting())


@pytest.mark.parametrize("metric", ["ndcg@10", "recall@10"])
@pytest.mark.parametrize("baseline", ["popularity", "lightfm_cf"])
def test_hybrid_beats_popularity_and_pure_collaborative_lightfm(run, metric, baseline):
    assert run.overall("lightfm_hybrid")[metric] > run.overall(baseline)[metric]


@pytest.mark.parametrize("baseline", ["ease", "rp3beta", "recent_popularity"])
def test_served_blend_beats_every_tuned_baseline(run, baseline):
    assert run.overall("blend")["ndcg@10"] > run.overall(baseline)["ndcg@10"]


def test_the_blend_search_starts_from_the_plain_hybrid(run):
    """The first trial is the hybrid alone, so the chosen blend is never worse on validation."""
    first = run.served.search.trials[0]
    assert first["pop_weight"] == first["knn_weight"] == 0.0
    assert run.served.search.score >= first["value"]


def test_every_model_and_slice_is_evaluated_on_the_same_users(run):
    names = {e.name for e in run.evaluations}
    assert set(EVALUATED_MODELS) <= names
    users = {e.overall["users"] for e in run.evaluations}
    assert len(users) == 1
    slices = run.evaluations[0].slices
    assert {"cold_users", "warm_users"} <= set(slices)
    assert any(name.startswith("country=") for name in slices)
    assert slices["cold_users"]["users"] + slices["warm_users"]["users"] == users.pop()


def test_evaluation_caps_users_with_a_fixed_sample(run, split):
    capped = EvaluationConfig(test_days=14, validation_days=14, max_users=25)
    first, again = build_context(split, run.data, capped), build_context(split, run.data, capped)
    whole = build_context(split, run.data, EVALUATION)
    assert len(first.user_rows) == 25 < len(whole.user_rows)
    np.testing.assert_array_equal(first.user_rows, again.user_rows)
    chosen = np.searchsorted(whole.user_rows, first.user_rows)
    assert (first.truth != whole.truth[chosen]).nnz == 0  # each sampled user keeps all of their truth


def test_hybrid_recovers_the_planted_segment_preferences(run, frames):
    model, data = run.served.model, run.served.model.data
    country = frames.users.set_index("user_id")["country"].reindex(data.user_ids).to_numpy()
    category = frames.items.set_index("item_id")["category"].reindex(data.item_ids).to_numpy()
    for segment, preferred in PREFERRED.items():
        rows = np.flatnonzero(country == segment)
        top = np.vstack([t for _, t, _ in top_k_blocks(model, data, rows, 10)])
        share = np.mean(category[top[top >= 0]] == preferred)
        assert share > 0.6, f"{segment}: only {share:.0%} of recommendations in its planted category {preferred}"


def test_validation_chose_the_settings_and_the_search_is_kept(run):
    served = run.served
    assert served.history and served.choice.epochs in {h["epoch"] for h in served.history}
    assert len(served.search.trials) == CONFIG.search_trials
    assert served.search.score == max(t["value"] for t in served.search.trials)
    assert served.choice.settings.pop_days in CONFIG.recent_windows
    kept = run.to_json()
    assert kept["served"]["search"] == served.search.trials and kept["served"]["choice"] == served.choice.to_json()
    assert {"ease", "rp3beta", "recent_popularity"} <= set(kept["baselines"])
    assert served.choice.neighbour_settings == {b.name: b.chosen for b in run.baselines[:2]}
    assert served.choice.settings.neighbours in {"ease", "rp3beta"}
    assert run.split.cutoff > run.split.train["timestamp"].max()


def test_star_ratings_get_an_svd_rating_predictor(run, split):
    assert run.ratings is not None
    assert run.ratings["test_ratings"] == split.test["rating"].notna().sum()
    assert 0 < run.ratings["svd_mae"] <= run.ratings["svd_rmse"]


def test_same_data_and_config_train_the_same_model(frames, split, run):
    validation = validation_context(split, frames, EVALUATION, Weighting())
    again = choose_served(CONFIG, run.data, validation, run.served.choice.neighbour_settings)
    assert again.choice == run.served.choice and again.search.trials == [
        t | {"seconds": again.search.trials[i]["seconds"]} for i, t in enumerate(run.served.search.trials)
    ]
    for a, b in zip(again.model.lightfm.representations(), run.served.model.lightfm.representations()):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(again.model.neighbours.toarray(), run.served.model.neighbours.toarray())


def test_saved_model_reloads_with_identical_scores(run, tmp_path):
    params = run_parameters(CONFIG, EVALUATION, Weighting())
    checksum = save_run(tmp_path / "run", run.served.model, run, params, "test-run")
    loaded = artifacts.load_model(tmp_path / "run")
    assert loaded.checksum == checksum
    rows = np.arange(run.data.shape[0])
    history = history_matrix(run.data, loaded.half_life_days)
    np.testing.assert_allclose(loaded.score(rows, history), run.served.model.score(rows), rtol=1e-5, atol=1e-5)
    assert (loaded.user_ids == run.data.user_ids).all() and (loaded.item_ids == run.data.item_ids).all()
    model, user_features, item_features = artifacts.restore_lightfm(tmp_path / "run")
    biases, embeddings = model.get_item_representations(item_features)
    np.testing.assert_array_equal(embeddings, loaded.item_embeddings)
    np.testing.assert_array_equal(biases, loaded.item_biases)
    with np.load(tmp_path / "run" / artifacts.MODEL, allow_pickle=False) as arrays:
        assert all(arrays[name].dtype == np.float32 for name in arrays.files)


def test_a_changed_artifact_is_refused(run, tmp_path):
    save_run(tmp_path / "run", run.served.model, run, run_parameters(CONFIG, EVALUATION, Weighting()), "test-run")
    (tmp_path / "run" / artifacts.NEIGHBOURS).write_bytes(b"changed")
    with pytest.raises(ValueError, match="checksum"):
        artifacts.load_model(tmp_path / "run")


def test_a_saved_model_scores_new_data_by_id(run, tmp_path):
    save_run(tmp_path / "run", run.served.model, run, run_parameters(CONFIG, EVALUATION, Weighting()), "test-run")
    loaded = artifacts.load_model(tmp_path / "run")
    reordered = build_training_data(
        Frames(pd.concat([run.split.train, _one_row("new-user", "new-item")]), None, None),
        run.split.cutoff,
        Weighting(),
    )
    fixed = Fixed("champion", loaded).fit(reordered)
    rows = reordered.user_index(run.data.user_ids[:5])
    cols = reordered.item_index(run.data.item_ids)
    history = history_matrix(run.data, loaded.half_life_days)[:5]
    np.testing.assert_allclose(fixed.score(rows)[:, cols], loaded.score(np.arange(5), history), rtol=1e-5, atol=1e-5)
    new_item = reordered.item_index(["new-item"])[0]
    assert (fixed.score(rows)[:, new_item] == UNSCORABLE).all()


def _one_row(user: str, item: str) -> pd.DataFrame:
    return normalise_interactions(
        pd.DataFrame({"user_id": [user], "item_id": [item], "timestamp": [START + pd.Timedelta(days=1)]})
    )


BLOCK_USERS = 50


def _checkerboard():
    """Two blocks: the first 50 users buy items 0-9, the next 50 items 10-19, six of ten each."""
    rng = np.random.default_rng(0)
    rows = []
    for user in range(2 * BLOCK_USERS):
        block = 0 if user < BLOCK_USERS else 10
        for item in rng.choice(10, 6, replace=False):
            rows.append((f"u{user:03d}", f"i{block + item:02d}", START + pd.Timedelta(days=int(rng.integers(0, 30)))))
    frame = normalise_interactions(pd.DataFrame(rows, columns=["user_id", "item_id", "timestamp"]))
    return build_training_data(Frames(frame), START + pd.Timedelta(days=31), Weighting())


@pytest.mark.parametrize(
    "make",
    [
        lambda: LightFMRecommender(CONFIG, use_features=False),
        lambda: ItemCooccurrence(),
        lambda: ALS(TrainingConfig(als_factors=4, als_iterations=10)),
    ],
    ids=["lightfm", "item_cosine", "als"],
)
def test_personalised_models_pass_the_checkerboard(make):
    data = _checkerboard()
    model = make().fit(data)
    top = np.vstack([t for _, t, _ in top_k_blocks(model, data, np.arange(data.shape[0]), 3)])
    block_of_user = (np.arange(2 * BLOCK_USERS) >= BLOCK_USERS).astype(int)
    item_block = np.array([int(i[1:]) >= 10 for i in data.item_ids]).astype(int)
    assert (item_block[top] == block_of_user[:, None]).mean() > 0.9


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    """The project's shop generator (tiny preset): realistic funnel, hidden planted segments."""
    from recsys.generator.shop import generate_shop, ground_truth
    from recsys.generator.spec import PRESETS

    spec = PRESETS["tiny"]
    out = tmp_path_factory.mktemp("shop")
    generate_shop(spec, out, with_truth=False)
    read = {
        source: pd.read_csv(next((out / source).glob("*.csv.gz"))) for source in ("events", "products", "customers")
    }
    return landing_to_frames(read["events"], read["products"], read["customers"]), ground_truth(spec)


def test_hybrid_learns_the_generators_hidden_segments(generated):
    frames, truth = generated
    end = frames.interactions["timestamp"].max().normalize() + pd.Timedelta(days=1)
    split = temporal_split(frames.interactions, end - pd.Timedelta(days=28), end)
    run = train_and_evaluate(frames, split, CONFIG, EvaluationConfig(test_days=28, validation_days=28), Weighting())
    for metric in ("ndcg@10", "recall@10"):
        assert run.overall("blend")[metric] > run.overall("popularity")[metric]
    data = run.served.model.data
    segment = truth.customers.set_index("customer_id")["segment"].reindex(data.user_ids).to_numpy()
    category = frames.items.set_index("item_id")["category"].reindex(data.item_ids).to_numpy()
    popularity = Popularity().fit(data)
    for number, preferences in truth.segments.groupby("segment"):
        liked = set(preferences.nlargest(3, "weight")["category"])
        rows = np.flatnonzero(segment == number)
        shares = [
            np.isin(category[np.vstack([t for _, t, _ in top_k_blocks(model, data, rows, 10)])], list(liked)).mean()
            for model in (run.served.model, popularity)
        ]
        # the segment is not a feature: the hybrid has to find it in behaviour
        assert shares[0] > 2 * shares[1], (
            f"segment {number}: {shares[0]:.0%} of top-10 in {liked} vs popularity {shares[1]:.0%}"
        )
