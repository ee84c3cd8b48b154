"""Warm starts: a fitted LightFM model carried over to newer data and trained on what is new.

A full fit passes over every interaction of the history each epoch; a warm start keeps
what the model learnt and passes only over the interactions since it was fitted, so its
cost grows with the new data, not with the history.  New customers, products and feature
values (a new title word) get LightFM's own initial parameters; known ones keep theirs,
adagrad state included, so their learning rate continues where it stopped.

:func:`warm_fit` is what a night uses when a full refit is not due
(``TrainingConfig.full_refit_days``) and, with ``TrainingConfig.warm_refits``, what turns
the validation model into the backtest model and the backtest model into the served one.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import scipy.sparse as sp

from recsys.training.matrix import TrainingData
from recsys.training.models import LightFMRecommender

#: LightFM's per-feature arrays (``user_<name>`` and ``item_<name>``), learnt state included.
PARAMETERS = (
    "embeddings",
    "embedding_gradients",
    "embedding_momentum",
    "biases",
    "bias_gradients",
    "bias_momentum",
)


def grow(
    model: LightFMRecommender, data: TrainingData, known: tuple[tuple[str, ...], tuple[str, ...]] | None = None
) -> LightFMRecommender:
    """A copy of ``model`` whose parameters cover ``data``'s feature vocabularies.

    ``known`` are the (user, item) feature names of ``model``'s parameter rows; by default
    the vocabularies of the data it was fitted on.  Features ``data`` no longer has are
    dropped; new ones start as LightFM starts them (seeded).
    """
    twin = model.snapshot()
    twin.data = data
    user_names, item_names = known or _vocabularies(model, model.data)
    new_user, new_item = _vocabularies(twin, data)
    fresh = twin.model
    old = {name: getattr(model.model, name) for side in ("user", "item") for name in _names(side)}
    fresh.random_state = np.random.RandomState(model.config.seed)
    fresh._initialize(model.config.no_components, len(new_item), len(new_user))
    for side, before, after in (("user", user_names, new_user), ("item", item_names, new_item)):
        position = pd.Index(before).get_indexer(pd.Index(after))
        kept = position >= 0
        for name in _names(side):
            getattr(fresh, name)[kept] = old[name][position[kept]]
    twin.item_prior = np.zeros(data.shape[1], np.float32)
    twin._cache = {}
    return twin


def _names(side: str) -> list[str]:
    return [f"{side}_{name}" for name in PARAMETERS]


def _vocabularies(model: LightFMRecommender, data: TrainingData) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The user and item feature names ``model`` uses on ``data`` (identity features first)."""
    return (
        tuple(data.user_feature_names[: model.user_feature_matrix(data).shape[1]]),
        tuple(data.item_feature_names[: model.item_feature_matrix(data).shape[1]]),
    )


def warm_fit(
    model: LightFMRecommender,
    data: TrainingData,
    since: pd.Timestamp,
    epochs: int,
    known: tuple[tuple[str, ...], tuple[str, ...]] | None = None,
) -> LightFMRecommender:
    """``model`` grown to ``data`` and trained ``epochs`` passes over the pairs with an
    interaction since ``since`` (their weights as ``data`` has them).

    Returns the model fitted on ``data`` as far as scoring and saving are concerned.
    """
    warm = grow(model, data, known)
    recent = (data.pairs["last_ts"] >= pd.Timestamp(since)).to_numpy()
    fresh = sp.csr_matrix(
        (np.ones(int(recent.sum()), np.float32), (data.pairs["user_idx"][recent], data.pairs["item_idx"][recent])),
        shape=data.shape,
    )
    fresh.data[:] = 1.0  # a pair listed twice still counts once
    subset = data.interactions.multiply(fresh).tocsr().astype(data.interactions.dtype)
    subset.eliminate_zeros()
    if subset.nnz and epochs > 0:
        warm.fit_epochs(dataclasses.replace(data, interactions=subset), epochs)
    warm.data = data
    warm.epochs_trained = model.epochs_trained + epochs
    warm._cache.clear()
    return warm
