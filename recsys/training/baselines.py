"""The baselines the reproducibility literature finds hardest to beat, each tuned on validation.

Dacrema et al. (RecSys 2019) found that simple item-based models, tuned as carefully as the
neural ones, beat most published models on implicit feedback; in retail, recent-window
popularity is just as hard to beat on a chronological split.  So every served model is
measured against:

``ease``
    EASE (Steck, WWW 2019): the closed-form item-item regression
    ``B = I - P diag(1 / diag(P))``, ``P = (X'X + lambda I)^-1``, with its diagonal forced
    to zero.  ``lambda`` is chosen on the validation window.  The inverse is dense
    (items x items): past ``max_items`` items it is fitted on the most popular
    ``max_items`` only (:func:`ease_items`), and the report says so.
``rp3beta``
    RP3beta (Paudel et al., 2017): three-step random walk user -> item -> user -> item,
    ``W = P_ui' P_ui`` with transition probabilities raised to ``alpha``, each column
    divided by the item's popularity to the power ``beta``, the ``neighbours`` largest
    weights per item kept.  ``(alpha, beta)`` chosen on validation.
``recent_popularity``
    Distinct buyers per item over the last ``days`` before the cutoff, ``days`` chosen on
    validation (ties broken by all-time popularity).

:func:`tuned_baselines` makes the choices on a validation context and returns the chosen
settings; the caller refits each choice on the training part, never touching the test
window.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp
from scipy.linalg import lapack

from recsys.platform.settings import TrainingConfig
from recsys.training.matrix import TrainingData
from recsys.training.models import (
    Recommender,
    add_rows_product,
    item_item_weights,
    recent_popularity,
    tie_break,
    user_counts,
)

log = logging.getLogger(__name__)


def binary_matrix(data: TrainingData) -> sp.csr_matrix:
    """``(n_users, n_items)`` float32 1 where a user had an item: what EASE and RP3beta count."""
    return (data.interactions > 0).astype(np.float32).tocsr()


def ease_items(popularity: np.ndarray, max_items: int) -> np.ndarray:
    """Columns EASE models: every item, or the ``max_items`` most popular ones (sorted).

    Items nobody had carry no signal and only grow the dense inverse, so they never count.
    """
    bought = np.flatnonzero(popularity > 0)
    if len(bought) <= max_items:
        return bought
    order = np.argsort(-popularity[bought], kind="stable")[:max_items]
    return np.sort(bought[order])


def ease_weights(binary: sp.csr_matrix, items: np.ndarray, regularisation: float) -> np.ndarray:
    """``(len(items), len(items))`` float32 EASE weights over the columns ``items``.

    float32 halves the memory of the dense Gram matrix and its inverse (the largest arrays
    of a night at 10,000 items); the ridge term keeps the system well conditioned.
    """
    if regularisation <= 0:
        raise ValueError(f"EASE needs a positive regularisation, got {regularisation}")
    x = binary[:, items]
    gram = (x.T @ x).toarray().astype(np.float32)
    gram[np.diag_indices_from(gram)] += np.float32(regularisation)
    inverse = spd_inverse(gram)
    weights = inverse / -np.diag(inverse)[None, :]
    weights[np.diag_indices_from(weights)] = 0.0
    return weights.astype(np.float32, copy=False)


def spd_inverse(matrix: np.ndarray) -> np.ndarray:
    """Inverse of a symmetric positive definite matrix through its Cholesky factor (LAPACK
    ``potrf`` + ``potri``): half the work of the LU inverse ``np.linalg.inv`` does.
    ``matrix`` is overwritten."""
    factor, info = lapack.spotrf(matrix, lower=False, overwrite_a=True, clean=False)
    if info != 0:
        raise np.linalg.LinAlgError(f"the matrix is not positive definite (potrf info {info})")
    upper, info = lapack.spotri(factor, lower=False, overwrite_c=True)
    if info != 0:
        raise np.linalg.LinAlgError(f"the Cholesky inverse failed (potri info {info})")
    inverse = np.triu(upper)
    inverse += np.triu(upper, 1).T
    return inverse


class EASE(Recommender):
    """EASE over the most popular ``max_items`` items; other items score only their tie-break."""

    name = "ease"

    def __init__(self, regularisation: float, max_items: int) -> None:
        self.regularisation, self.max_items = regularisation, max_items

    def fit(self, data: TrainingData) -> EASE:
        self.binary = binary_matrix(data)
        popularity = user_counts(data.interactions)
        self.items = ease_items(popularity, self.max_items)
        self.weights = ease_weights(self.binary, self.items, self.regularisation)
        self.fallback = (tie_break(popularity) * 1e-6).astype(np.float32)
        self.restricted = len(self.items) < int((popularity > 0).sum())
        return self

    def score(self, user_rows: np.ndarray) -> np.ndarray:
        block = np.broadcast_to(self.fallback, (len(user_rows), len(self.fallback))).copy()
        block[:, self.items] += np.asarray(self.binary[user_rows][:, self.items] @ self.weights)
        return block


def rp3beta_weights(binary: sp.csr_matrix, alpha: float, beta: float, neighbours: int) -> sp.csr_matrix:
    """``(n_items, n_items)`` sparse RP3beta weights, the ``neighbours`` largest per item row."""
    popularity = np.asarray(binary.sum(axis=0)).ravel()
    per_user = np.asarray(binary.sum(axis=1)).ravel()
    user_item = (sp.diags(1 / np.maximum(per_user, 1)) @ binary).tocsr()
    item_user = (sp.diags(1 / np.maximum(popularity, 1)) @ binary.T).tocsr()
    user_item.data **= alpha
    item_user.data **= alpha
    penalty = np.power(np.maximum(popularity, 1), -beta).astype(np.float32)
    return item_item_weights(item_user, user_item, np.ones(binary.shape[1], np.float32), penalty, neighbours)


class RP3beta(Recommender):
    """RP3beta item-item random walk; a user's score sums the weights of their items."""

    name = "rp3beta"

    def __init__(self, alpha: float, beta: float, neighbours: int) -> None:
        self.alpha, self.beta, self.neighbours = alpha, beta, neighbours

    def fit(self, data: TrainingData) -> RP3beta:
        self.binary = binary_matrix(data)
        self.weights = rp3beta_weights(self.binary, self.alpha, self.beta, self.neighbours)
        self.fallback = (tie_break(user_counts(data.interactions)) * 1e-6).astype(np.float32)
        return self

    def score(self, user_rows: np.ndarray) -> np.ndarray:
        block = np.tile(self.fallback, (len(user_rows), 1))
        add_rows_product(block, user_rows, self.binary, self.weights)
        return block


class RecentPopularity(Recommender):
    """Distinct users per item over the last ``days`` before the cutoff."""

    name = "recent_popularity"

    def __init__(self, days: int) -> None:
        if days <= 0:
            raise ValueError(f"recent popularity needs a positive window, got {days} days")
        self.days = days

    def fit(self, data: TrainingData) -> RecentPopularity:
        recent = recent_popularity(data, self.days)
        self.item_scores = (recent + tie_break(user_counts(data.interactions))).astype(np.float32)
        return self

    def score(self, user_rows: np.ndarray) -> np.ndarray:
        return np.broadcast_to(self.item_scores, (len(user_rows), len(self.item_scores))).copy()


@dataclass(frozen=True)
class TunedBaseline:
    """One baseline family: the setting chosen on validation and every setting's score.

    ``fitted`` is the chosen setting's model as validation fitted it (the blend search builds
    its neighbour part from it instead of fitting it again); drop it once used
    (``dataclasses.replace(t, fitted=None)``): it holds the validation split's matrices.
    """

    name: str
    chosen: dict
    validation: dict[str, float]
    make: Callable[[], Recommender]
    fitted: Recommender | None = field(default=None, compare=False, repr=False)

    def to_json(self) -> dict:
        return {"chosen": self.chosen, "validation": self.validation}


def choose(
    name: str, candidates: Iterable[dict], build: Callable[..., Recommender], score: Callable[[Recommender], float]
) -> TunedBaseline:
    """The candidate setting with the best validation score (ties: the first listed).

    ``score`` fits the model it is given (on the validation split) and scores it; only the
    best model so far is kept alive.
    """
    results: list[tuple[dict, float]] = []
    best_model: Recommender | None = None
    for setting in candidates:
        model = build(**setting)
        value = score(model)
        if not results or value > max(v for _, v in results):
            best_model = model
        results.append((setting, value))
        del model
    best, _ = max(results, key=lambda pair: pair[1])  # max keeps the first of equal scores
    log.info("%s on validation: %s -> %s", name, [(s, round(v, 4)) for s, v in results], best)
    return TunedBaseline(
        name,
        best,
        {",".join(f"{k}={v}" for k, v in s.items()): v for s, v in results},
        lambda: build(**best),
        best_model,
    )


def tune_ease(config: TrainingConfig, validation_score: Callable[[Recommender], float]) -> TunedBaseline:
    """EASE with the regularisation of the best validation score (also the blend's neighbours)."""
    return choose(
        EASE.name,
        ({"regularisation": r} for r in config.ease_regularisation),
        lambda regularisation: EASE(regularisation, config.ease_max_items),
        validation_score,
    )


def tune_neighbours(config: TrainingConfig, validation_score: Callable[[Recommender], float]) -> list[TunedBaseline]:
    """EASE and RP3beta, each with the setting of its best validation score: the baselines,
    and the item-item models the served blend's neighbour part may come from."""
    return [
        tune_ease(config, validation_score),
        choose(
            RP3beta.name,
            ({"alpha": a, "beta": b} for a in config.rp3_alpha for b in config.rp3_beta),
            lambda alpha, beta: RP3beta(alpha, beta, config.rp3_neighbours),
            validation_score,
        ),
    ]


def tune_baselines(config: TrainingConfig, validation_score: Callable[[Recommender], float]) -> list[TunedBaseline]:
    """EASE, RP3beta and recent popularity, each with the setting of its best validation score.

    ``validation_score`` fits a model on the validation split's training rows and scores it
    on the validation window; the test window is never read here.
    """
    return [
        *tune_neighbours(config, validation_score),
        choose(
            RecentPopularity.name,
            ({"days": d} for d in config.recent_windows),
            RecentPopularity,
            validation_score,
        ),
    ]
