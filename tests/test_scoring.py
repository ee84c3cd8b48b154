"""The top-k kernel against a naive reference: a stable descending argsort of dense scores."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from recsys.ranking import topk


def reference(u, v, k, *, exclude=None, boost=None, group_offsets=None, history=None, start=0, stop=None):
    """Dense scores, the same adjustments, a stable argsort: slow and obviously right."""
    stop = len(u) if stop is None else stop
    scores = (u[start:stop] @ v.T).astype(np.float32)
    if group_offsets is not None:
        scores = scores + group_offsets.offsets[group_offsets.groups[start:stop]]
    if boost is not None:
        scores = scores + boost[start:stop].toarray().astype(np.float32)
    if history is not None:
        scores = scores + (history.history[start:stop] @ history.neighbours).toarray().astype(np.float32)
    if exclude is not None:
        scores[exclude[start:stop].toarray() != 0] = -np.inf
    scores = np.hstack([scores, np.full((len(scores), k), -np.inf, np.float32)])  # padding for k > items
    order = np.argsort(-scores, axis=1, kind="stable")[:, :k]
    top = np.take_along_axis(scores, order, axis=1)
    return np.where(np.isfinite(top), order, -1), top


def random_problem(n_users, n_items, d, seed, *, integer=False):
    rng = np.random.default_rng(seed)
    u = rng.standard_normal((n_users, d)).astype(np.float32)
    v = rng.standard_normal((n_items, d)).astype(np.float32)
    if integer:  # small integers: many exact ties
        u, v = np.round(u).astype(np.float32), np.round(v).astype(np.float32)
    return u, v


def assert_same(result, expected_idx, expected_val):
    np.testing.assert_array_equal(result.indices, expected_idx)
    # offsets and boosts are added in another order than the reference's: scores to rounding
    np.testing.assert_allclose(result.scores, expected_val, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize(("n_items", "k"), [(1, 20), (50, 20), (257, 20), (3000, 20), (3000, 50), (12_000, 50)])
def test_matches_stable_argsort(n_items, k):
    u, v = random_problem(120, n_items, 8, seed=n_items, integer=True)
    result = topk.top_k(u, v, k, block_size=16)
    idx, val = reference(u, v, k)
    assert result.indices.shape == (120, k)
    np.testing.assert_array_equal(result.indices, idx)
    np.testing.assert_array_equal(result.scores, val)


@pytest.mark.parametrize("n_items", [5, 700, 10_000])
def test_select_top_k_of_dense_scores_matches_stable_argsort(n_items):
    u, v = random_problem(90, n_items, 8, seed=n_items, integer=True)
    scores = (u @ v.T).astype(np.float32)
    excluded = np.random.default_rng(0).random(scores.shape) < 0.3
    scores[excluded] = -np.inf
    exclude = sp.csr_matrix(excluded.astype(np.float32))
    result = topk.select_top_k(scores, 10)
    assert_same(result, *reference(u, v, 10, exclude=exclude))


def test_exclusions_boosts_group_offsets_and_history_neighbours():
    u, v = random_problem(200, 700, 16, seed=1)
    rng = np.random.default_rng(2)
    exclude = sp.random(200, 700, density=0.05, format="csr", random_state=3, dtype=np.float32)
    exclude.data[:] = 1
    boost = sp.random(200, 700, density=0.02, format="csr", random_state=4, dtype=np.float32) * 5
    offsets = topk.GroupOffsets(
        groups=rng.integers(0, 3, 200), offsets=rng.standard_normal((3, 700)).astype(np.float32)
    )
    history = topk.HistoryBoost(
        sp.random(200, 90, density=0.05, format="csr", random_state=5, dtype=np.float32),
        sp.random(90, 700, density=0.03, format="csr", random_state=6, dtype=np.float32) * 3,
    )
    result = topk.top_k(u, v, 30, exclude=exclude, boost=boost, group_offsets=offsets, history=history, block_size=32)
    idx, val = reference(u, v, 30, exclude=exclude, boost=boost, group_offsets=offsets, history=history)
    assert_same(result, idx, val)
    excluded = exclude.toarray() != 0
    assert not excluded[np.arange(200)[:, None], result.indices].any()


def test_block_ranges_threads_and_block_sizes_agree():
    u, v = random_problem(301, 900, 12, seed=5)
    whole = topk.top_k(u, v, 10, num_threads=1, block_size=8)
    parts = [
        topk.top_k(u, v, 10, start=a, stop=b, num_threads=2, block_size=64)
        for a, b in [(0, 100), (100, 101), (101, 301)]
    ]
    np.testing.assert_array_equal(np.vstack([p.indices for p in parts]), whole.indices)
    assert [p.start for p in parts] == [0, 100, 101]
    np.testing.assert_array_equal(topk.top_k(u, v, 10, start=5, stop=5).indices.shape, (0, 10))


def test_fewer_candidates_than_k_are_padded():
    u, v = random_problem(4, 6, 3, seed=6)
    exclude = sp.csr_matrix(np.eye(4, 6, dtype=np.float32))
    result = topk.top_k(u, v, 8, exclude=exclude)
    assert (result.indices[:, 5:] == -1).all() and np.isneginf(result.scores[:, 5:]).all()
    assert (result.indices[:, :5] >= 0).all()
    assert all(len(set(row[:5])) == 5 for row in result.indices)


def test_factor_vectors_reproduce_the_factor_model_score():
    rng = np.random.default_rng(7)
    ue, ub = rng.standard_normal((5, 4)), rng.standard_normal(5)
    ie, ib = rng.standard_normal((9, 4)), rng.standard_normal(9)
    u, v = topk.factor_vectors(ue, ub, ie, ib)
    np.testing.assert_allclose(u @ v.T, ue @ ie.T + ub[:, None] + ib[None, :], rtol=1e-5, atol=1e-5)


def test_similar_items_are_nearest_by_cosine_and_never_themselves():
    rng = np.random.default_rng(8)
    v = rng.standard_normal((300, 6)).astype(np.float32)
    result = topk.similar_items(v, 5)
    assert not (result.indices == np.arange(300)[:, None]).any()
    unit = v / np.linalg.norm(v, axis=1, keepdims=True)
    cosine = unit @ unit.T
    np.fill_diagonal(cosine, -np.inf)
    np.testing.assert_array_equal(result.indices, np.argsort(-cosine, axis=1, kind="stable")[:, :5])


def test_bad_inputs_are_refused_with_a_reason():
    u, v = random_problem(3, 4, 2, seed=9)
    with pytest.raises(ValueError, match="same width"):
        topk.top_k(u, v[:, :1], 2)
    with pytest.raises(ValueError, match="outside"):
        topk.top_k(u, v, 2, start=2, stop=9)
    bad = u.copy()
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        topk.top_k(bad, v, 2)
    with pytest.raises(ValueError, match="exclude has shape"):
        topk.top_k(u, v, 2, exclude=sp.csr_matrix((2, 4)))
