"""The strong baselines against naive references, and the gate that holds the served model to them."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from recsys.platform.settings import EvaluationConfig
from recsys.training import registry
from recsys.training.baselines import ease_items, ease_weights, rp3beta_weights
from recsys.training.models import keep_largest


def _binary(seed: int = 0, users: int = 60, items: int = 25) -> sp.csr_matrix:
    rng = np.random.default_rng(seed)
    return sp.csr_matrix((rng.random((users, items)) < 0.2).astype(np.float32))


def test_ease_is_a_ridge_regression_of_each_item_on_the_others():
    """EASE's closed form with a zero diagonal equals, column by column, the ridge regression
    of the item on every other item (Steck 2019, eq. 8)."""
    x = _binary()
    weights = ease_weights(x, np.arange(x.shape[1]), 10.0)
    dense = x.toarray().astype(np.float64)
    for j in range(x.shape[1]):
        others = np.delete(np.arange(x.shape[1]), j)
        a = dense[:, others]
        expected = np.linalg.solve(a.T @ a + 10.0 * np.eye(len(others)), a.T @ dense[:, j])
        np.testing.assert_allclose(weights[others, j], expected, rtol=1e-3, atol=1e-4)
        assert weights[j, j] == 0


def test_ease_keeps_the_most_popular_items_when_the_catalogue_outgrows_its_inverse():
    popularity = np.array([5, 0, 9, 1, 7, 3])
    np.testing.assert_array_equal(ease_items(popularity, 10), [0, 2, 3, 4, 5])  # never-bought items carry nothing
    np.testing.assert_array_equal(ease_items(popularity, 3), [0, 2, 4])


def test_rp3beta_matches_the_dense_random_walk():
    x = _binary(seed=1)
    alpha, beta = 0.8, 0.4
    dense = x.toarray().astype(np.float64)
    p_ui = dense / np.maximum(dense.sum(axis=1, keepdims=True), 1)
    p_iu = dense.T / np.maximum(dense.sum(axis=0)[:, None], 1)
    walk = (p_iu**alpha) @ (p_ui**alpha) * np.maximum(dense.sum(axis=0), 1)[None, :] ** -beta
    np.fill_diagonal(walk, 0)
    got = rp3beta_weights(x, alpha, beta, neighbours=x.shape[1]).toarray()
    np.testing.assert_allclose(got, walk, rtol=1e-4, atol=1e-6)
    pruned = rp3beta_weights(x, alpha, beta, neighbours=5)
    assert (np.diff(pruned.indptr) <= 5).all()
    for row in range(x.shape[1]):  # the kept weights are the row's largest
        kept = pruned[row].toarray().ravel()
        assert kept[kept > 0].min(initial=np.inf) >= np.sort(walk[row])[-5] - 1e-6


def test_keep_largest_by_magnitude_keeps_strong_negative_weights():
    dense = np.array([[0.125, -0.75, 0.5, 0.25]], np.float32)
    assert keep_largest(dense, 2, by_magnitude=True).toarray().tolist() == [[0, -0.75, 0.5, 0]]
    assert keep_largest(dense, 2).toarray().tolist() == [[0, 0, 0.5, 0.25]]


@pytest.mark.parametrize(
    ("candidate", "promote", "reason"),
    [(0.25, True, "ease 0.2000"), (0.19, False, "below the best baseline, ease 0.2000")],
)
def test_the_gate_holds_the_candidate_to_the_best_tuned_baseline(candidate, promote, reason):
    baselines = {"ease": {"ndcg@10": 0.20}, "rp3beta": {"ndcg@10": 0.15}, "recent_popularity": {"ndcg@10": 0.12}}
    decision = registry.champion_gate(
        {"ndcg@10": candidate}, None, {"ndcg@10": 0.10}, EvaluationConfig(), baselines=baselines
    )
    assert decision.promote is promote and reason in decision.reason
