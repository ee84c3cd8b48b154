"""Every recommender behind one small interface, so one evaluation code judges them all.

A :class:`Recommender` is fitted on a :class:`recsys.training.dataset.TrainingData` and returns
dense scores for a block of user rows (higher is better); masking seen items, top-k and
metrics are :mod:`recsys.training.evaluate`'s job.  Factor models score as

``user_embeddings[rows] @ item_embeddings.T + user_biases[rows, None] + item_biases + item_prior``

(:func:`factor_scores`), the same formula the saved artifact and the scoring job use.
Heuristic baselines break ties by all-time popularity, so a user with no signal still
gets a sensible list rather than the first item ids.
"""

from __future__ import annotations

import abc
import copy
import logging
import os

import numba as nb
import numpy as np
import pandas as pd
import scipy.sparse as sp

from recsys.platform.settings import TrainingConfig
from recsys.training.matrix import TrainingData

log = logging.getLogger(__name__)

#: Score of an item a saved model cannot rank (finite, so it still counts as a candidate).
UNSCORABLE = np.float32(-1e30)

#: User attribute columns that define a segment, in order of preference.
SEGMENT_COLUMNS = ("rfm_segment", "segment", "country")


class Recommender(abc.ABC):
    """Fit on training data, then score blocks of users."""

    name: str = "recommender"

    @abc.abstractmethod
    def fit(self, data: TrainingData) -> Recommender:
        """Learn from ``data``; returns ``self``."""

    @abc.abstractmethod
    def score(self, user_rows: np.ndarray) -> np.ndarray:
        """``(len(user_rows), n_items)`` float32 scores of the users at ``user_rows``."""


def factor_scores(user_embeddings, user_biases, item_embeddings, item_biases, user_rows) -> np.ndarray:
    """Scores of a factor model for a block of users: one matrix product, no per-pair loop."""
    block = user_embeddings[user_rows] @ item_embeddings.T
    block += user_biases[user_rows, None]
    block += item_biases[None, :]
    return block.astype(np.float32, copy=False)


def add_rows_product(
    block: np.ndarray, rows: np.ndarray, left: sp.csr_matrix, right: sp.csr_matrix, coefficient: float = 1.0
) -> None:
    """``block += coefficient * (left[rows] @ right)`` in place (``block`` float32, C order).

    Scattered by a compiled loop over each row's entries and their rows of ``right``: no
    sparse product (whose symbolic pass and ``toarray`` cost more than the multiply-adds)
    and no dense copy.  How item-item models score a user's history.
    """
    _add_rows_product(
        block,
        np.asarray(rows, np.int64),
        left.indptr,
        left.indices,
        left.data.astype(np.float32, copy=False),
        right.indptr,
        right.indices,
        right.data.astype(np.float32, copy=False),
        np.float32(coefficient),
    )


@nb.njit(nogil=True, cache=True)
def _add_rows_product(block, rows, l_ptr, l_idx, l_val, r_ptr, r_idx, r_val, coefficient):
    for r in range(len(rows)):
        row = rows[r]
        for a in range(l_ptr[row], l_ptr[row + 1]):
            middle, weight = l_idx[a], l_val[a] * coefficient
            for b in range(r_ptr[middle], r_ptr[middle + 1]):
                block[r, r_idx[b]] += weight * r_val[b]


def user_counts(matrix: sp.spmatrix) -> np.ndarray:
    """Distinct users per item column."""
    return np.asarray((matrix > 0).sum(axis=0), dtype=np.float64).ravel()


def recent_popularity(data: TrainingData, days: int) -> np.ndarray:
    """Distinct users per item with an interaction in the ``days`` before the cutoff."""
    recent = data.pairs[data.pairs["last_ts"] >= data.cutoff - pd.Timedelta(days=days)]
    return np.bincount(recent["item_idx"].to_numpy(), minlength=data.shape[1]).astype(np.float64)


def tie_break(popularity: np.ndarray) -> np.ndarray:
    """All-time popularity squeezed into [0, 1): orders items only where scores tie."""
    return popularity / (popularity.max() + 1.0)


def user_segments(data: TrainingData) -> tuple[str | None, np.ndarray]:
    """The segment column used and each user's label (``None`` when unknown)."""
    for column in SEGMENT_COLUMNS:
        if column in data.user_attributes and data.user_attributes[column].notna().any():
            labels = data.user_attributes[column].astype(object).where(data.user_attributes[column].notna(), None)
            return column, labels.to_numpy()
    return None, np.full(data.shape[0], None, dtype=object)


class Popularity(Recommender):
    """Most popular items overall (distinct users in training)."""

    name = "popularity"

    def fit(self, data: TrainingData) -> Popularity:
        self.item_scores = user_counts(data.interactions).astype(np.float32)
        return self

    def score(self, user_rows: np.ndarray) -> np.ndarray:
        return np.broadcast_to(self.item_scores, (len(user_rows), len(self.item_scores))).copy()


class SegmentPopularity(Recommender):
    """Most popular items among users of the same segment (RFM segment, else country)."""

    name = "popularity_segment"

    def fit(self, data: TrainingData) -> SegmentPopularity:
        self.column, labels = user_segments(data)
        codes, self.segments = pd.factorize(pd.Series(labels), use_na_sentinel=True)
        self.user_code = codes
        member = sp.csr_matrix(
            (np.ones((codes >= 0).sum()), (codes[codes >= 0], np.flatnonzero(codes >= 0))),
            shape=(len(self.segments), data.shape[0]),
        )
        popularity = user_counts(data.interactions)
        self.segment_scores = (member @ (data.interactions > 0).astype(np.float64)).toarray()
        self.fallback = tie_break(popularity)
        return self

    def score(self, user_rows: np.ndarray) -> np.ndarray:
        codes = self.user_code[user_rows]
        block = np.where(codes[:, None] >= 0, self.segment_scores[np.maximum(codes, 0)], 0.0)
        return (block + self.fallback).astype(np.float32)


class ItemCooccurrence(Recommender):
    """Item-kNN: cosine similarity of co-occurrence, the ``neighbours`` largest per item kept;
    a user's score sums over their items."""

    name = "item_cosine"

    def __init__(self, neighbours: int = 200) -> None:
        self.neighbours = neighbours

    def fit(self, data: TrainingData) -> ItemCooccurrence:
        self.user_items = (data.interactions > 0).astype(np.float32).tocsr()
        norms = np.sqrt(np.asarray(self.user_items.sum(axis=0)).ravel())  # binary: |i| = sqrt(count)
        inverse = np.where(norms > 0, 1.0 / np.maximum(norms, 1e-12), 0.0).astype(np.float32)
        self.similarity = item_item_weights(
            self.user_items.T.tocsr(), self.user_items, inverse, inverse, self.neighbours
        )
        self.fallback = tie_break(user_counts(data.interactions)).astype(np.float32) * 1e-3
        return self

    def score(self, user_rows: np.ndarray) -> np.ndarray:
        block = np.tile(self.fallback, (len(user_rows), 1))
        add_rows_product(block, user_rows, self.user_items, self.similarity)
        return block


def item_item_weights(
    item_user: sp.csr_matrix,
    user_item: sp.csr_matrix,
    row_scale: np.ndarray,
    column_scale: np.ndarray,
    neighbours: int,
) -> sp.csr_matrix:
    """``(n_items, n_items)`` ``diag(row_scale) @ item_user @ user_item @ diag(column_scale)``
    without its diagonal, the ``neighbours`` largest per row kept (item-kNN, RP3beta).

    Built one block of item rows at a time, so neither the dense block nor the full product
    (hundreds of millions of co-occurring pairs at 50,000 items) is ever held whole.
    """
    n_items = user_item.shape[1]
    block = max(1, 20_000_000 // max(n_items, 1))
    parts = []
    for start in range(0, item_user.shape[0], block):
        rows = np.arange(start, min(start + block, item_user.shape[0]))
        dense = (item_user[rows] @ user_item).toarray().astype(np.float32)
        dense *= row_scale[rows, None]
        dense *= column_scale[None, :]
        dense[rows - start, rows] = 0.0
        parts.append(keep_largest(dense, neighbours))
    return sp.vstack(parts, format="csr") if parts else sp.csr_matrix((0, n_items), dtype=np.float32)


def keep_largest(dense: np.ndarray, k: int, *, by_magnitude: bool = False) -> sp.csr_matrix:
    """``dense`` with all but the ``k`` largest entries of each row set to zero, as CSR."""
    if k < dense.shape[1]:
        key = np.abs(dense) if by_magnitude else dense
        dropped = np.argpartition(-key, k, axis=1)[:, k:]
        dense = dense.copy()
        np.put_along_axis(dense, dropped, 0.0, axis=1)
    matrix = sp.csr_matrix(dense)
    matrix.eliminate_zeros()
    return matrix


class LightFMRecommender(Recommender):
    """LightFM with user/item features (hybrid) or identity features only (collaborative).

    Fitted epoch by epoch (:meth:`fit_epochs`) so training can stop early on a
    validation window; ``item_prior`` is a per-item score added at scoring time (the
    recent-popularity blend, zero unless set).
    """

    def __init__(self, config: TrainingConfig, *, use_features: bool = True, name: str | None = None) -> None:
        from lightfm import LightFM

        self.config = config
        self.use_features = use_features
        self.name = name or ("lightfm_hybrid" if use_features else "lightfm_cf")
        self.model = LightFM(
            no_components=config.no_components,
            loss=config.loss,
            learning_rate=config.learning_rate,
            item_alpha=config.item_alpha,
            user_alpha=config.user_alpha,
            max_sampled=config.max_sampled,
            random_state=np.random.RandomState(config.seed),
        )
        self.epochs_trained = 0
        self.item_prior: np.ndarray | None = None
        #: ``representations()`` of the current weights, shared with every ``with_prior`` twin
        #: (they share the weights): one computation per fit however many twins score.
        self._cache: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = {}

    @property
    def fit_threads(self) -> int:
        """One thread when determinism is asked for (Hogwild races otherwise)."""
        if self.config.deterministic:
            return 1
        return self.config.num_threads or _cores()

    def fit(self, data: TrainingData) -> LightFMRecommender:
        return self.fit_epochs(data, self.config.epochs)

    def fit_epochs(self, data: TrainingData, epochs: int) -> LightFMRecommender:
        """Continue training for ``epochs`` more passes over ``data``."""
        if data.interactions.nnz == 0:
            raise ValueError("LightFM needs at least one interaction")
        self.data = data
        interactions = data.interactions.tocoo()
        self.model.fit_partial(
            interactions,
            user_features=self.user_feature_matrix(data),
            item_features=self.item_feature_matrix(data),
            sample_weight=interactions,
            epochs=epochs,
            num_threads=self.fit_threads,
        )
        self.epochs_trained += epochs
        self._cache.clear()
        self.item_prior = np.zeros(data.shape[1], dtype=np.float32) if self.item_prior is None else self.item_prior
        return self

    @property
    def uses_user_features(self) -> bool:
        return self.use_features and self.config.use_user_features

    @property
    def uses_item_features(self) -> bool:
        return self.use_features and self.config.use_item_features

    def user_feature_matrix(self, data: TrainingData | None = None) -> sp.csr_matrix:
        """The user features the model uses: attributes, or identity only (what LightFM assumes for None)."""
        data = self.data if data is None else data
        return data.user_features if self.uses_user_features else _identity(data.shape[0])

    def item_feature_matrix(self, data: TrainingData | None = None) -> sp.csr_matrix:
        data = self.data if data is None else data
        return data.item_features if self.uses_item_features else _identity(data.shape[1])

    def representations(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """``(user_embeddings, user_biases, item_embeddings, item_biases)`` of every entity."""
        if "representations" not in self._cache:
            user_biases, user_embeddings = self.model.get_user_representations(self.user_feature_matrix())
            item_biases, item_embeddings = self.model.get_item_representations(self.item_feature_matrix())
            self._cache["representations"] = (user_embeddings, user_biases, item_embeddings, item_biases)
        return self._cache["representations"]

    def snapshot(self) -> LightFMRecommender:
        """An independent copy of the fitted state (training the original on leaves it as is)."""
        twin = self.with_prior(self.item_prior if self.item_prior is not None else np.zeros(0, np.float32))
        twin.model = copy.deepcopy(self.model)
        twin._cache = {}
        return twin

    def with_prior(self, item_prior: np.ndarray, name: str | None = None) -> LightFMRecommender:
        """The same fitted model scoring with another ``item_prior`` (shares the weights)."""
        twin = object.__new__(LightFMRecommender)
        twin.__dict__.update(self.__dict__, item_prior=np.asarray(item_prior, dtype=np.float32), name=name or self.name)
        return twin

    def score(self, user_rows: np.ndarray) -> np.ndarray:
        user_embeddings, user_biases, item_embeddings, item_biases = self.representations()
        return factor_scores(user_embeddings, user_biases, item_embeddings, item_biases + self.item_prior, user_rows)


class ALS(Recommender):
    """Implicit-feedback ALS from the ``implicit`` package (external reference)."""

    name = "als"

    def __init__(self, config: TrainingConfig) -> None:
        self.config = config

    def fit(self, data: TrainingData) -> ALS:
        from implicit.cpu.als import AlternatingLeastSquares
        from threadpoolctl import threadpool_limits

        with threadpool_limits(1, "blas"):  # implicit parallelises itself; a BLAS pool on top thrashes
            model = AlternatingLeastSquares(
                factors=self.config.als_factors,
                regularization=self.config.als_regularization,
                alpha=self.config.als_alpha,
                iterations=self.config.als_iterations,
                num_threads=self.config.num_threads,
                random_state=self.config.seed,
            )
            model.fit(data.interactions.astype(np.float32).tocsr(), show_progress=False)
        self.user_factors, self.item_factors = np.asarray(model.user_factors), np.asarray(model.item_factors)
        return self

    def score(self, user_rows: np.ndarray) -> np.ndarray:
        return (self.user_factors[user_rows] @ self.item_factors.T).astype(np.float32)


class Fixed(Recommender):
    """A model fitted elsewhere (a saved artifact: the champion) mapped onto new data.

    Users the saved model does not know get a constant row; items it does not know can
    never be recommended by it.  The neighbour part of a saved blend reads each user's
    history from the new data (recency measured at the new data's cutoff), as the
    nightly scorer does.
    """

    def __init__(self, name: str, loaded) -> None:
        self.name = name
        self.loaded = loaded

    def fit(self, data: TrainingData) -> Fixed:
        self.user_map = self.loaded.user_index(data.user_ids)
        self.item_map = self.loaded.item_index(data.item_ids)
        self.history = None
        if self.loaded.knn_coefficient:
            from recsys.training.blend import history_weights

            pairs = data.pairs[self.item_map[data.pairs["item_idx"].to_numpy()] >= 0]
            weights = history_weights(pairs["last_ts"], data.cutoff, self.loaded.half_life_days)
            self.history = sp.csr_matrix(
                (weights, (pairs["user_idx"], self.item_map[pairs["item_idx"].to_numpy()])),
                shape=(data.shape[0], len(self.loaded.item_ids)),
            )
        return self

    def score(self, user_rows: np.ndarray) -> np.ndarray:
        rows = self.user_map[user_rows]
        known = rows >= 0
        block = np.zeros((len(user_rows), len(self.item_map)), dtype=np.float32)
        if known.any():
            history = None if self.history is None else self.history[user_rows[known]]
            scores = self.loaded.score(rows[known], history)
            block[known] = scores[:, np.maximum(self.item_map, 0)]
        block[:, self.item_map < 0] = UNSCORABLE
        return block


def _identity(n: int) -> sp.csr_matrix:
    return sp.identity(n, dtype=np.float32, format="csr")


def _cores() -> int:
    return os.cpu_count() or 1
