"""Warm starts: a model fitted earlier and warm-started on the new days agrees with a full refit."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from recsys.platform.settings import EvaluationConfig, TrainingConfig
from recsys.training.evaluate import build_context, evaluate
from recsys.training.frames import landing_to_frames
from recsys.training.matrix import build_training_data
from recsys.training.models import LightFMRecommender
from recsys.training.split import temporal_split
from recsys.training.warm import grow, warm_fit
from recsys.training.weighting import Weighting

CONFIG = TrainingConfig(no_components=16)
EPOCHS, NEW_DAYS = 20, 7
#: The stated tolerance: a warm start may lose at most this share of a full refit's NDCG@10.
TOLERANCE = 0.10


@pytest.fixture(scope="module")
def shop(tmp_path_factory):
    """The generator's tiny shop: the last 28 days test, the 7 days before them are "new"."""
    from recsys.generator.shop import generate_shop
    from recsys.generator.spec import PRESETS

    out = tmp_path_factory.mktemp("shop")
    generate_shop(PRESETS["tiny"], out, with_truth=False)
    read = {s: pd.read_csv(next((out / s).glob("*.csv.gz"))) for s in ("events", "products", "customers")}
    frames = landing_to_frames(read["events"], read["products"], read["customers"])
    end = frames.interactions["timestamp"].max().normalize() + pd.Timedelta(days=1)
    split = temporal_split(frames.interactions, end - pd.Timedelta(days=28), end)
    data = build_training_data(dataclasses.replace(frames, interactions=split.train), split.cutoff, Weighting())
    earlier_cutoff = split.cutoff - pd.Timedelta(days=NEW_DAYS)
    earlier = build_training_data(dataclasses.replace(frames, interactions=split.train), earlier_cutoff, Weighting())
    return split, data, earlier, build_context(split, data, EvaluationConfig())


def test_warm_start_stays_within_tolerance_of_a_full_refit(shop):
    split, data, earlier, context = shop
    full = LightFMRecommender(CONFIG).fit_epochs(data, EPOCHS)
    previous = LightFMRecommender(CONFIG).fit_epochs(earlier, EPOCHS)
    warm = warm_fit(previous, data, earlier.cutoff, CONFIG.warm_epochs)
    full_ndcg, warm_ndcg = (evaluate(m, context).overall["ndcg@10"] for m in (full, warm))
    assert warm_ndcg >= (1 - TOLERANCE) * full_ndcg, (warm_ndcg, full_ndcg)
    assert warm.data is data and warm.score(np.arange(5)).shape == (5, data.shape[1])
    assert len(set(data.user_ids) - set(earlier.user_ids)) > 0, "the new days bring new customers"


def test_growing_keeps_what_was_learnt_and_starts_new_features_fresh(shop):
    _, data, earlier, _ = shop
    previous = LightFMRecommender(CONFIG).fit_epochs(earlier, 2)
    grown = grow(previous, data)
    old_rows = pd.Index(earlier.user_feature_names)
    new_rows = pd.Index(data.user_feature_names[: grown.model.user_embeddings.shape[0]])
    shared = new_rows.intersection(old_rows)
    np.testing.assert_array_equal(
        grown.model.user_embeddings[new_rows.get_indexer(shared)],
        previous.model.user_embeddings[old_rows.get_indexer(shared)],
    )
    np.testing.assert_array_equal(
        grown.model.user_embedding_gradients[new_rows.get_indexer(shared)],
        previous.model.user_embedding_gradients[old_rows.get_indexer(shared)],
    )
    fresh = ~new_rows.isin(old_rows)
    assert fresh.any() and (grown.model.user_embedding_gradients[fresh] == 1).all()  # adagrad's start
