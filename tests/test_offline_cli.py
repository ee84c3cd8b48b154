"""``recsys evaluate`` and ``recsys recommend`` on plain files with the standard columns."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from typer.testing import CliRunner

from recsys.cli.main import app
from planted import planted_frames

# small and quick: the CLI reads nested settings from the environment
ENV = {"RECSYS_TRAINING__EPOCHS": "15", "RECSYS_TRAINING__NO_COMPONENTS": "8", "RECSYS_EVALUATION__TEST_DAYS": "14",
       "RECSYS_EVALUATION__VALIDATION_DAYS": "14", "RECSYS_TRAINING__POPULARITY_BLEND": "0,0.5"}


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("offline")
    frames = planted_frames(n_users=250, seed=4)
    paths = {name: folder / f"{name}.csv" for name in ("interactions", "items", "users")}
    frames.interactions.to_csv(paths["interactions"], index=False)
    frames.items.to_csv(paths["items"], index=False)
    frames.users.to_csv(paths["users"], index=False)
    return paths, frames


def _invoke(args: list[str]):
    result = CliRunner().invoke(app, args, env=ENV, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result


def test_evaluate_prints_every_model_and_writes_json(files, tmp_path):
    paths, _ = files
    output = tmp_path / "metrics.json"
    result = _invoke(["evaluate", "--interactions", str(paths["interactions"]), "--items", str(paths["items"]),
                      "--users", str(paths["users"]), "--output", str(output), "--protocol", "both"])
    written = json.loads(output.read_text())
    assert set(written) == {"temporal", "leave-last-out"}
    models = written["temporal"]["models"]
    for name in ("lightfm_hybrid", "lightfm_cf", "popularity", "popularity_segment", "trending", "item_cosine", "als"):
        assert name in models and name in result.output
        assert {"ndcg@10", "recall@5", "map@20", "hit_rate@10", "auc", "coverage@10", "gini@10"} <= set(models[name]["overall"])
    assert written["temporal"]["ratings"]["test_ratings"] > 0


def test_recommend_writes_k_unseen_items_per_user(files, tmp_path):
    paths, frames = files
    output = tmp_path / "recs.csv"
    _invoke(["recommend", "--interactions", str(paths["interactions"]), "--items", str(paths["items"]),
             "--users", str(paths["users"]), "--k", "5", "--output", str(output)])
    recs = pd.read_csv(output, dtype={"user_id": str, "item_id": str})
    assert list(recs.columns) == ["user_id", "rank", "item_id", "score"]
    assert set(recs["user_id"]) == set(frames.interactions["user_id"])
    assert (recs.groupby("user_id")["rank"].apply(list) == pd.Series([[1, 2, 3, 4, 5]] * recs["user_id"].nunique(),
                                                                     index=sorted(set(recs["user_id"])))).all()
    assert (recs.groupby("user_id")["score"].apply(lambda s: s.is_monotonic_decreasing)).all()
    seen = set(zip(frames.interactions["user_id"], frames.interactions["item_id"]))
    assert not seen & set(zip(recs["user_id"], recs["item_id"]))


def test_recommend_refuses_a_file_without_the_standard_columns(tmp_path):
    bad = tmp_path / "bad.csv"
    pd.DataFrame({"customer": ["a"], "product": ["b"]}).to_csv(bad, index=False)
    result = CliRunner().invoke(app, ["recommend", "--interactions", str(bad), "--output", str(tmp_path / "o.csv")],
                                env=ENV)
    assert result.exit_code != 0
    assert "user_id,item_id,timestamp" in str(result.exception)
