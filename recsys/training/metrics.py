"""Ranking metrics as plain functions of arrays.

Conventions: ``top`` is an ``(n_users, k)`` int array of item columns, best first, ``-1``
padding a list shorter than ``k``; ``truth`` is an ``(n_users, n_items)`` sparse matrix
whose non-zeros are the held-out items.  Per-user functions return one float per user so
:mod:`recsys.training.evaluate` can average them over any slice of users; users without held-out
items are the caller's to exclude (their recall is undefined, returned as ``nan``).
"""

from __future__ import annotations

import numba as nb
import numpy as np
import scipy.sparse as sp


def hits(top: np.ndarray, truth: sp.csr_matrix) -> np.ndarray:
    """``(n_users, k)`` bool: is the item at each rank held out for that user?"""
    if top.shape[0] != truth.shape[0]:
        raise ValueError(f"{top.shape[0]} recommendation lists for {truth.shape[0]} truth rows")
    rows = np.repeat(np.arange(top.shape[0]), top.shape[1])
    cols = top.ravel()
    valid = cols >= 0
    found = np.zeros(cols.shape, dtype=bool)
    found[valid] = np.asarray(truth[rows[valid], cols[valid]]).ravel() > 0
    return found.reshape(top.shape)


def n_relevant(truth: sp.csr_matrix) -> np.ndarray:
    """Held-out items per user."""
    return np.diff(truth.tocsr().indptr)


def precision_at_k(hit: np.ndarray, k: int) -> np.ndarray:
    return hit[:, :k].sum(axis=1) / k


def recall_at_k(hit: np.ndarray, relevant: np.ndarray, k: int) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(relevant > 0, hit[:, :k].sum(axis=1) / relevant, np.nan)


def hit_rate_at_k(hit: np.ndarray, k: int) -> np.ndarray:
    return hit[:, :k].any(axis=1).astype(float)


def ndcg_at_k(hit: np.ndarray, relevant: np.ndarray, k: int) -> np.ndarray:
    """Binary-relevance NDCG: the ideal list puts ``min(relevant, k)`` hits first."""
    discounts = 1.0 / np.log2(np.arange(2, k + 2))
    dcg = (hit[:, :k] * discounts[: hit[:, :k].shape[1]]).sum(axis=1)
    ideal = np.concatenate([[0.0], np.cumsum(discounts)])[np.minimum(relevant, k)]
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(relevant > 0, dcg / ideal, np.nan)


def average_precision_at_k(hit: np.ndarray, relevant: np.ndarray, k: int) -> np.ndarray:
    """AP@k normalised by ``min(relevant, k)``, so a perfect list scores one."""
    h = hit[:, :k].astype(float)
    precision_at_rank = np.cumsum(h, axis=1) / np.arange(1, h.shape[1] + 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(relevant > 0, (precision_at_rank * h).sum(axis=1) / np.minimum(relevant, k), np.nan)


def auc(scores: np.ndarray, truth: sp.csr_matrix) -> np.ndarray:
    """Per-user ROC AUC of held-out items against the other candidates.

    ``scores`` is ``(n_users, n_items)`` with ``-inf`` for non-candidates (seen items);
    ties count one half, as in the Mann-Whitney statistic.  Only the held-out items are
    ranked, in one compiled pass over each row (a user has a handful of held-out items
    against tens of thousands of candidates): no sort, no copy of the row.
    """
    truth = sp.csr_matrix(truth, copy=True)
    truth.sum_duplicates()
    truth = (truth > 0).tocsr()
    if truth.shape != scores.shape:
        raise ValueError(f"truth has shape {truth.shape}, scores {scores.shape}")
    scores = np.ascontiguousarray(scores, dtype=np.float32)
    rank_sum, n_pos, n_candidates = _held_out_ranks(
        scores, truth.indptr.astype(np.int64), truth.indices.astype(np.int64)
    )
    n_neg = n_candidates - n_pos
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where((n_pos > 0) & (n_neg > 0), (rank_sum - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg), np.nan)


@nb.njit(nogil=True, cache=True, fastmath=False)
def _held_out_ranks(scores, indptr, indices):
    """Per row: sum of the mid-ranks of its finite held-out scores among the finite
    scores, how many there are, and how many finite scores (candidates) the row has.

    One branch-free counting pass per held-out item (vectorised); ``-inf`` cells are
    below every finite score and are subtracted once.
    """
    n = scores.shape[0]
    rank_sum, n_pos, n_candidates = np.zeros(n), np.zeros(n), np.zeros(n)
    for r in range(n):
        row = scores[r]
        candidates = 0
        for x in row:
            candidates += x > -np.inf
        excluded = row.shape[0] - candidates
        for p in range(indptr[r], indptr[r + 1]):
            held = row[indices[p]]
            if not held > -np.inf:
                continue
            below = 0
            level = 0
            for x in row:
                below += x < held
                level += x == held
            rank_sum[r] += below - excluded + (level + 1) / 2
            n_pos[r] += 1
        n_candidates[r] = candidates
    return rank_sum, n_pos, n_candidates


def catalogue_coverage(top: np.ndarray, n_items: int) -> float:
    """Share of the catalogue that appears in at least one list."""
    return len(np.unique(top[top >= 0])) / n_items if n_items else float("nan")


def recommendation_counts(top: np.ndarray, n_items: int) -> np.ndarray:
    """How often each item is recommended."""
    return np.bincount(top[top >= 0], minlength=n_items)


def gini(counts: np.ndarray) -> float:
    """Gini coefficient of how recommendations spread over the catalogue.

    0 when every item is recommended equally often, close to 1 when a few items take
    every slot (popularity concentration).
    """
    x = np.sort(np.asarray(counts, dtype=float))
    n, total = len(x), x.sum()
    if n == 0 or total == 0:
        return float("nan")
    return float((2 * np.arange(1, n + 1) - n - 1) @ x / (n * total))


def intra_list_diversity(top: np.ndarray, category: np.ndarray) -> np.ndarray:
    """Share of item pairs within each list whose categories differ.

    ``category`` gives an int code per item column, ``-1`` for unknown; pairs with an
    unknown side are not counted, and a list with no countable pair gives ``nan``.
    """
    codes = np.where(top >= 0, category[np.maximum(top, 0)], -1)
    known = codes >= 0
    i, j = np.triu_indices(top.shape[1], k=1)
    countable = known[:, i] & known[:, j]
    differ = (codes[:, i] != codes[:, j]) & countable
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(countable.any(axis=1), differ.sum(axis=1) / countable.sum(axis=1), np.nan)


def novelty(top: np.ndarray, popularity: np.ndarray, n_users: int) -> np.ndarray:
    """Mean self-information ``-log2 p(item)`` of each list, ``p`` = share of training users.

    Add-one smoothing keeps items nobody had in training finite (and most novel).
    """
    information = -np.log2((popularity + 1.0) / (n_users + 1.0))
    valid = top >= 0
    total = np.where(valid, information[np.maximum(top, 0)], 0.0).sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(valid.any(axis=1), total / valid.sum(axis=1), np.nan)
