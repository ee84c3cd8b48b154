"""Metric functions against hand-computed examples and a naive reference implementation."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.sparse as sp

from recsys.training import metrics


def _truth(rows: list[set[int]], n_items: int) -> sp.csr_matrix:
    r = [u for u, items in enumerate(rows) for _ in items]
    c = [i for items in rows for i in sorted(items)]
    return sp.csr_matrix((np.ones(len(c)), (r, c)), shape=(len(rows), n_items))


# user 0 holds out items {1, 3} and gets [1, 2, 3]; user 1 holds out {0} and gets [2, 4, -1]
TOP = np.array([[1, 2, 3], [2, 4, -1]])
TRUTH = _truth([{1, 3}, {0}], 5)


def test_hits_mark_held_out_items_and_ignore_padding():
    assert metrics.hits(TOP, TRUTH).tolist() == [[True, False, True], [False, False, False]]


def test_precision_recall_hit_rate_by_hand():
    hit, relevant = metrics.hits(TOP, TRUTH), metrics.n_relevant(TRUTH)
    assert metrics.precision_at_k(hit, 3) == pytest.approx([2 / 3, 0])
    assert metrics.precision_at_k(hit, 1) == pytest.approx([1, 0])
    assert metrics.recall_at_k(hit, relevant, 3) == pytest.approx([1, 0])
    assert metrics.recall_at_k(hit, relevant, 1) == pytest.approx([0.5, 0])
    assert metrics.hit_rate_at_k(hit, 3) == pytest.approx([1, 0])


def test_ndcg_by_hand():
    hit, relevant = metrics.hits(TOP, TRUTH), metrics.n_relevant(TRUTH)
    # hits at ranks 1 and 3; the ideal list has its two hits at ranks 1 and 2
    expected = (1 + 1 / math.log2(4)) / (1 + 1 / math.log2(3))
    assert metrics.ndcg_at_k(hit, relevant, 3) == pytest.approx([expected, 0])
    assert metrics.ndcg_at_k(hit, relevant, 1) == pytest.approx([1, 0])


def test_average_precision_by_hand():
    hit, relevant = metrics.hits(TOP, TRUTH), metrics.n_relevant(TRUTH)
    # precision 1/1 at the first hit, 2/3 at the second, over min(2 relevant, k=3)
    assert metrics.average_precision_at_k(hit, relevant, 3) == pytest.approx([(1 + 2 / 3) / 2, 0])
    assert metrics.average_precision_at_k(hit, relevant, 1) == pytest.approx([1, 0])


def test_users_without_truth_have_undefined_recall_and_ndcg():
    truth = _truth([set()], 3)
    hit, relevant = metrics.hits(np.array([[0, 1]]), truth), metrics.n_relevant(truth)
    assert np.isnan(metrics.recall_at_k(hit, relevant, 2)[0])
    assert np.isnan(metrics.ndcg_at_k(hit, relevant, 2)[0])


def test_auc_by_hand_with_seen_items_excluded_and_ties_halved():
    scores = np.array([[-np.inf, 0.2, 0.8, 0.5], [-np.inf, 0.2, 0.8, 0.5], [0.5, 0.5, -np.inf, -np.inf]])
    truth = _truth([{2}, {3}, {0}], 4)
    # row 0: 0.8 beats both negatives; row 1: 0.5 beats 0.2, loses to 0.8; row 2: a tie
    assert metrics.auc(scores, truth) == pytest.approx([1.0, 0.5, 0.5])


def test_auc_equals_the_mann_whitney_statistic_of_each_row():
    rng = np.random.default_rng(7)
    scores = rng.integers(0, 6, (40, 30)).astype(np.float32)  # many ties
    scores[rng.random(scores.shape) < 0.2] = -np.inf
    truth = sp.csr_matrix((rng.random(scores.shape) < 0.15).astype(np.float32))
    expected = []
    for row, held in zip(scores, truth.toarray() > 0):
        pos, neg = row[held & np.isfinite(row)], row[~held & np.isfinite(row)]
        wins = (pos[:, None] > neg[None, :]).sum() + 0.5 * (pos[:, None] == neg[None, :]).sum()
        expected.append(wins / (len(pos) * len(neg)) if len(pos) and len(neg) else np.nan)
    np.testing.assert_allclose(metrics.auc(scores, truth), expected)


def test_catalogue_coverage_and_gini_by_hand():
    assert metrics.catalogue_coverage(np.array([[0, 1], [1, 2]]), 10) == pytest.approx(0.3)
    assert metrics.gini(np.array([5, 5, 5, 5])) == pytest.approx(0.0)
    # all recommendations on one of four items: (n - 1) / n
    assert metrics.gini(np.array([0, 0, 0, 10])) == pytest.approx(0.75)
    assert metrics.recommendation_counts(np.array([[0, 1], [1, -1]]), 3).tolist() == [1, 2, 0]


def test_intra_list_diversity_by_hand():
    category = np.array([0, 0, 1, -1])
    values = metrics.intra_list_diversity(np.array([[0, 1, 2], [0, 3, -1]]), category)
    # pairs (0,1) same, (0,2) and (1,2) differ; the second list has no pair of known categories
    assert values[0] == pytest.approx(2 / 3)
    assert np.isnan(values[1])


def test_novelty_by_hand():
    popularity = np.array([3, 1, 0])
    # -log2((p + 1) / (3 + 1)): 0, 1 and 2 bits
    assert metrics.novelty(np.array([[1, 2], [0, -1]]), popularity, 3) == pytest.approx([1.5, 0.0])


def _naive(top, truth_sets, k):
    """Textbook definitions, one user at a time."""
    out = []
    for items, relevant in zip(top, truth_sets):
        ranked = list(items[:k])
        gains = [1.0 if i in relevant else 0.0 for i in ranked]
        dcg = sum(g / math.log2(r + 2) for r, g in enumerate(gains))
        idcg = sum(1 / math.log2(r + 2) for r in range(min(len(relevant), k)))
        ap = sum(sum(gains[: r + 1]) / (r + 1) * g for r, g in enumerate(gains)) / min(len(relevant), k)
        out.append((sum(gains) / k, sum(gains) / len(relevant), dcg / idcg, ap))
    return np.array(out)


def test_vectorised_metrics_match_the_naive_reference():
    rng = np.random.default_rng(3)
    n_users, n_items, k = 50, 30, 10
    truth_sets = [set(rng.choice(n_items, rng.integers(1, 6), replace=False).tolist()) for _ in range(n_users)]
    top = np.array([rng.permutation(n_items)[:k] for _ in range(n_users)])
    truth = _truth(truth_sets, n_items)
    hit, relevant = metrics.hits(top, truth), metrics.n_relevant(truth)
    got = np.column_stack(
        [
            metrics.precision_at_k(hit, k),
            metrics.recall_at_k(hit, relevant, k),
            metrics.ndcg_at_k(hit, relevant, k),
            metrics.average_precision_at_k(hit, relevant, k),
        ]
    )
    np.testing.assert_allclose(got, _naive(top, truth_sets, k))
