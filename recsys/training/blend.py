"""The served model: LightFM hybrid + item neighbours over the customer's recent items + recent popularity.

Each part sees something the others miss: the hybrid generalises through features and
segments (and scores products nobody bought yet), the item neighbours catch "bought
together" (what EASE and item-kNN are good at), recent popularity catches what sells now.
A user's score for item ``j`` is::

    lightfm(u, j) + prior_j + knn_coefficient * sum_i h_ui * S_ij

``prior`` is ``pop_weight * scale * popularity_prior(window)`` (the item bias of the artifact),
``S`` the item-item weights of EASE or RP3beta (whichever the search picks, each with the
setting its baseline chose on validation) pruned to the ``knn_neighbours`` largest per item,
``h_ui = 0.5 ** (days since u last had i / half_life_days)`` (recent items count most),
and ``knn_coefficient = knn_weight * scale / knn_scale`` (``scale`` and ``knn_scale`` are
the typical within-user spreads of the two parts, so the weights are unit-free).

The five blend settings (``pop_weight, pop_days, neighbours, knn_weight, half_life_days``) are searched
with Optuna on the validation window (:func:`search_blend`); the served artifact keeps ``S``
and the settings, and the nightly scorer adds the neighbour part inside the top-k kernel
(:class:`recsys.ranking.topk.HistoryBoost`), so no user x item matrix is ever built.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp

from recsys.platform.settings import TrainingConfig
from recsys.training.baselines import EASE, RP3beta
from recsys.training.matrix import TrainingData
from recsys.training.models import (
    LightFMRecommender,
    Recommender,
    add_rows_product,
    keep_largest,
    recent_popularity,
)

log = logging.getLogger(__name__)

#: Users whose score spread sets a part's scale (the median over them).
SCALE_USERS = 1000
#: Item-item models the blend's neighbour part can come from (the baselines of the same names).
NEIGHBOUR_FAMILIES = ("ease", "rp3beta")


@dataclass(frozen=True)
class BlendSettings:
    """The blend's searched settings (unit-free weights, see the module docstring)."""

    pop_weight: float = 0.0
    pop_days: int = 14
    neighbours: str = "ease"
    knn_weight: float = 0.0
    half_life_days: float = 90.0

    def to_json(self) -> dict:
        return asdict(self)


def popularity_prior(data: TrainingData, days: int) -> np.ndarray:
    """Standardised ``log1p`` of each item's recent popularity (zero mean, unit spread)."""
    recent = np.log1p(recent_popularity(data, days))
    spread = recent.std()
    return ((recent - recent.mean()) / spread if spread > 0 else np.zeros_like(recent)).astype(np.float32)


def history_weights(last_seen: pd.Series, cutoff: pd.Timestamp, half_life_days: float) -> np.ndarray:
    """``0.5 ** (days from last_seen to cutoff / half_life_days)``: recent items count most."""
    if half_life_days <= 0:
        raise ValueError(f"half_life_days must be positive, got {half_life_days}")
    days = (pd.Timestamp(cutoff) - pd.to_datetime(last_seen)).dt.total_seconds().to_numpy() / 86400.0
    return np.power(0.5, np.maximum(days, 0.0) / half_life_days).astype(np.float32)


def history_matrix(data: TrainingData, half_life_days: float) -> sp.csr_matrix:
    """``(n_users, n_items)`` recency weights of every item each user had before the cutoff."""
    pairs = data.pairs
    weights = history_weights(pairs["last_ts"], data.cutoff, half_life_days)
    return sp.csr_matrix((weights, (pairs["user_idx"], pairs["item_idx"])), shape=data.shape, dtype=np.float32)


def item_neighbours(
    data: TrainingData, family: str, setting: dict, config: TrainingConfig, fitted: Recommender | None = None
) -> sp.csr_matrix:
    """``(n_items, n_items)`` item-item weights of ``family`` with ``setting`` (its baseline's
    choice), the ``knn_neighbours`` largest per item row (by magnitude: EASE's negative
    weights count).  Sparse: what the artifact stores and the kernel reads.

    ``fitted`` is that baseline already fitted on ``data`` (a night fits it anyway): its
    weights are pruned instead of computed again (the same weights, up to ties).
    """
    if family not in NEIGHBOUR_FAMILIES:
        raise ValueError(f"unknown neighbour family {family!r}; known: {NEIGHBOUR_FAMILIES}")
    if family == "rp3beta":
        if not isinstance(fitted, RP3beta) or fitted.neighbours < config.knn_neighbours:
            fitted = RP3beta(setting["alpha"], setting["beta"], config.knn_neighbours).fit(data)
        return keep_largest_sparse(fitted.weights, config.knn_neighbours)
    if not isinstance(fitted, EASE):
        fitted = EASE(setting["regularisation"], config.ease_max_items).fit(data)
    pruned = keep_largest(fitted.weights, config.knn_neighbours, by_magnitude=True).tocoo()
    items, n = fitted.items, data.shape[1]
    return sp.csr_matrix((pruned.data, (items[pruned.row], items[pruned.col])), shape=(n, n), dtype=np.float32)


def keep_largest_sparse(matrix: sp.csr_matrix, k: int) -> sp.csr_matrix:
    """``matrix`` with only the ``k`` largest stored entries of each row (CSR, float32)."""
    matrix = matrix.tocsr()
    rows = np.repeat(np.arange(matrix.shape[0]), np.diff(matrix.indptr))
    order = np.lexsort((-matrix.data, rows))
    keep = order[np.arange(len(order)) - matrix.indptr[rows[order]] < k]
    return sp.csr_matrix((matrix.data[keep], (rows[keep], matrix.indices[keep])), shape=matrix.shape, dtype=np.float32)


def spread(scores: np.ndarray) -> float:
    """Median within-user standard deviation of a score block (1 when it is flat)."""
    value = float(np.median(scores.std(axis=1))) if scores.size else 0.0
    return value if value > 0 else 1.0


class Blend(Recommender):
    """LightFM (with the popularity prior) plus item neighbours over the recency-weighted history."""

    name = "blend"

    def __init__(
        self,
        lightfm: LightFMRecommender,
        neighbours: sp.csr_matrix,
        settings: BlendSettings,
        *,
        scale: float | None = None,
        name: str | None = None,
    ) -> None:
        self.name = name or self.name
        self.settings = settings
        self.neighbours = neighbours.tocsr().astype(np.float32)
        data = lightfm.data
        sample = _scale_users(data)
        self.scale = scale if scale is not None else spread(lightfm.with_prior(np.zeros(data.shape[1])).score(sample))
        prior = settings.pop_weight * self.scale * popularity_prior(data, settings.pop_days)
        self.lightfm = lightfm.with_prior(prior)
        self.history = history_matrix(data, settings.half_life_days)
        self.knn_scale = spread((self.history[sample] @ self.neighbours).toarray())
        self.knn_coefficient = float(settings.knn_weight * self.scale / self.knn_scale)

    def fit(self, data: TrainingData) -> Blend:
        return self  # built fitted: the parts are fitted by the caller

    @property
    def data(self) -> TrainingData:
        return self.lightfm.data

    def knn_scores(self, user_rows: np.ndarray) -> np.ndarray:
        """The neighbour part of the score (``knn_coefficient`` included)."""
        block = np.zeros((len(user_rows), self.neighbours.shape[1]), np.float32)
        self._add_knn(block, user_rows)
        return block

    def _add_knn(self, block: np.ndarray, user_rows: np.ndarray) -> None:
        add_rows_product(block, user_rows, self.history, self.neighbours, self.knn_coefficient)

    def score(self, user_rows: np.ndarray) -> np.ndarray:
        block = np.ascontiguousarray(self.lightfm.score(user_rows), np.float32)
        if self.knn_coefficient:
            self._add_knn(block, user_rows)
        return block


def hybrid_only(lightfm: LightFMRecommender) -> Blend:
    """``lightfm`` as a blend with neither popularity prior nor neighbours: the raw hybrid,
    for studies of the scoring path (context uplift) and tests."""
    n_items = lightfm.data.shape[1]
    return Blend(lightfm, sp.csr_matrix((n_items, n_items), dtype=np.float32), BlendSettings())


def _scale_users(data: TrainingData) -> np.ndarray:
    """Up to :data:`SCALE_USERS` users spread over the rows (seeded, so fits repeat)."""
    n = data.shape[0]
    return np.sort(np.random.default_rng(0).choice(n, size=min(n, SCALE_USERS), replace=False))


@dataclass(frozen=True)
class BlendSearch:
    """The settings chosen on validation and every trial that led there."""

    settings: BlendSettings
    score: float
    trials: list[dict]


def search_blend(
    lightfm: LightFMRecommender,
    neighbours: dict[str, sp.csr_matrix],
    config: TrainingConfig,
    evaluate: Callable[[Recommender], float],
) -> BlendSearch:
    """Blend settings with the best validation score, searched with Optuna's TPE sampler.

    ``lightfm`` and each family's ``neighbours`` are fitted on the validation split's training
    rows and ``evaluate`` scores a model on its window, so nothing here sees the test window.
    The budget is ``config.search_trials`` trials or ``config.search_seconds``, whichever
    ends first; the first trials are the plain hybrid and an even blend, so the search can
    only improve on them.  Seeded: the same data and settings give the same choice.
    """
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    scale = spread(lightfm.with_prior(np.zeros(lightfm.data.shape[1])).score(_scale_users(lightfm.data)))
    families = sorted(neighbours)

    def objective(trial) -> float:
        settings = BlendSettings(
            pop_weight=trial.suggest_float("pop_weight", 0.0, config.search_max_weight),
            pop_days=trial.suggest_categorical("pop_days", list(config.recent_windows)),
            neighbours=trial.suggest_categorical("neighbours", families),
            knn_weight=trial.suggest_float("knn_weight", 0.0, config.search_max_weight),
            half_life_days=trial.suggest_float("half_life_days", *config.search_half_life_days, log=True),
        )
        return evaluate(Blend(lightfm, neighbours[settings.neighbours], settings, scale=scale))

    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.TPESampler(seed=config.seed))
    middle = float(np.sqrt(np.prod(config.search_half_life_days)))
    for weights in ((0.0, 0.0), (1.0, 1.0)):
        study.enqueue_trial(
            {
                "pop_weight": weights[0],
                "pop_days": config.recent_windows[0],
                "neighbours": families[0],
                "knn_weight": weights[1],
                "half_life_days": middle,
            }
        )
    study.optimize(objective, n_trials=config.search_trials, timeout=config.search_seconds)
    trials = [
        {"number": t.number, "value": t.value, "seconds": t.duration.total_seconds() if t.duration else None} | t.params
        for t in study.trials
    ]
    settings = BlendSettings(**study.best_trial.params)
    score = float(study.best_value)
    log.info("blend search: %d trials, best validation %.4f with %s", len(trials), score, settings)
    return BlendSearch(settings, score, trials)
