"""Batch top-k scoring: blocked matrix products through BLAS and a compiled top-k selection.

Every score is ``user_vectors[u] @ item_vectors[i]`` (biases folded in as extra columns,
see :func:`factor_vectors`), optionally plus a per-user-group item offset (context factors
that depend on the item and, say, the customer's country), plus sparse per-user boosts
(recent activity), plus an item-neighbour part summed over the user's history
(:class:`HistoryBoost`: ``history[u] @ neighbours``, added inside the kernel so no user x
item matrix is built), with excluded pairs (already bought) removed.  Never a per-pair loop.

How it stays close to the cost of the bare matrix product
    Users are cut into blocks (256 rows, see :data:`MAX_BLOCK_ROWS`).  Each worker
    thread multiplies its block with a single-threaded BLAS call (the GIL is released),
    then runs the numba kernel on the block.  The kernel never sorts a row: it takes the maximum
    of 16 interleaved lanes of the row (vectorised), the maximum of 16 lanes of those
    maxima, and the ``k``-th largest of the second level is a lower bound on the row's
    ``k``-th largest score.  Only the few lanes whose maximum reaches that bound are
    read again, and the ~``k``-``2k`` scores above it are sorted.

Ties are broken by the lower item index, so results equal a stable descending argsort.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numba as nb
import numpy as np
import scipy.sparse as sp
from threadpoolctl import threadpool_limits

#: Lanes of the first and second selection level; columns are padded to a multiple of both.
LANE, GROUP = 16, 16
#: Users per block: BLAS re-packs the item matrix on every call, so taller blocks multiply
#: faster (single thread: 32 GFLOP/s at 16 rows, 40 at 32, 55-65 at 128-256), and past
#: 20k items a block outgrows L3 whatever its height.  Interleaved best-of-3 runs of
#: 100k users (``python -m bench.scoring --block-size N``, quiet 2-core EPYC of
#: docs/benchmarks.md) gave, kernel over bare product: at 50k items 1.52x at 128 rows,
#: 1.39x at 256, 1.42x at 1024; at 20k items 1.39x, 1.28x, 1.37x at 128, 256, 512.  So
#: 256 rows, fewer only when one worker's block would pass BLOCK_BYTES (huge catalogues).
BLOCK_BYTES = 256 << 20
MIN_BLOCK_ROWS, MAX_BLOCK_ROWS = 16, 256
_INT32_MAX = np.int64(0x7FFFFFFF)


@dataclass(frozen=True)
class TopK:
    """The ``k`` best items of a range of users.

    Attributes
    ----------
    indices : ndarray of int32, shape (n_users, k)
        Item rows in descending score order; -1 where a user has fewer than ``k``
        candidates left after exclusions.
    scores : ndarray of float32, shape (n_users, k)
        The matching scores; ``-inf`` where ``indices`` is -1.
    start : int
        Absolute row of the first user (the ``start`` of the scored range).
    """

    indices: np.ndarray
    scores: np.ndarray
    start: int = 0


@dataclass(frozen=True)
class GroupOffsets:
    """Item offsets shared by a group of users (for example all customers of a country).

    ``offsets[groups[u]]`` is added to the scores of user row ``u``.
    """

    groups: np.ndarray  # (n_users,) int, values in [0, n_groups)
    offsets: np.ndarray  # (n_groups, n_items) float32


@dataclass(frozen=True)
class HistoryBoost:
    """``history @ neighbours`` added to the scores, computed row by row inside the kernel.

    An item-kNN part over each user's own items: for every item ``i`` of user ``u`` (weight
    ``history[u, i]``) the kernel adds ``history[u, i] * neighbours[i, j]`` to each neighbour
    ``j``: a few hundred additions per user instead of a sparse matrix product.
    """

    history: sp.csr_matrix  # (n_users, n_sources) weights, e.g. recency of each item
    neighbours: sp.csr_matrix  # (n_sources, n_items) similarity, coefficient included


def user_factor_vectors(embeddings, biases) -> np.ndarray:
    """``[embedding, bias, 1]`` rows: the user side of :func:`factor_vectors`."""
    emb = np.asarray(embeddings, dtype=np.float32)
    ones = np.ones((len(emb), 1), np.float32)
    return np.ascontiguousarray(np.hstack([emb, np.asarray(biases, np.float32).reshape(-1, 1), ones]))


def item_factor_vectors(embeddings, biases) -> np.ndarray:
    """``[embedding, 1, bias]`` rows: the item side of :func:`factor_vectors`."""
    emb = np.asarray(embeddings, dtype=np.float32)
    ones = np.ones((len(emb), 1), np.float32)
    return np.ascontiguousarray(np.hstack([emb, ones, np.asarray(biases, np.float32).reshape(-1, 1)]))


def factor_vectors(user_embeddings, user_biases, item_embeddings, item_biases):
    """``(U, V)`` with ``U @ V.T == emb_u @ emb_i + bias_u + bias_i``, both float32.

    Folding the biases in as two extra columns turns a factor model into one plain
    matrix product, which is what BLAS and the kernel are fast at.
    """
    if np.shape(user_embeddings)[1] != np.shape(item_embeddings)[1]:
        raise ValueError(
            f"user embeddings have {np.shape(user_embeddings)[1]} components, "
            f"item embeddings {np.shape(item_embeddings)[1]}"
        )
    return user_factor_vectors(user_embeddings, user_biases), item_factor_vectors(item_embeddings, item_biases)


def block_rows(n_items: int) -> int:
    """Users per block so one worker's scores fit :data:`BLOCK_BYTES`."""
    return int(np.clip(BLOCK_BYTES // max(_padded(n_items) * 4, 1), MIN_BLOCK_ROWS, MAX_BLOCK_ROWS))


def _padded(n_items: int) -> int:
    step = LANE * GROUP
    return -(-n_items // step) * step


def top_k(
    user_vectors: np.ndarray,
    item_vectors: np.ndarray,
    k: int,
    *,
    start: int = 0,
    stop: int | None = None,
    exclude: sp.csr_matrix | None = None,
    boost: sp.csr_matrix | None = None,
    group_offsets: GroupOffsets | None = None,
    history: HistoryBoost | None = None,
    block_size: int = 0,
    num_threads: int = 0,
) -> TopK:
    """The ``k`` highest-scoring items of users ``start:stop``.

    Parameters
    ----------
    user_vectors : ndarray, shape (n_users, d)
        ``U`` (float32; see :func:`factor_vectors`).
    item_vectors : ndarray, shape (n_items, d)
        ``V``: only the candidate items (in stock, active), so nothing else can win.
    k : int
        List length; more than ``n_items`` gives -1 padding.
    start, stop : int
        Absolute user rows to score: Airflow maps one task per range.
    exclude : csr_matrix, shape (n_users, n_items), optional
        Stored entries are pairs never to return (already bought).
    boost : csr_matrix, shape (n_users, n_items), optional
        Additive per-pair scores (recent activity); applied before ``exclude``.
    group_offsets : GroupOffsets, optional
        Additive per-group item offsets (season, calendar, country).
    history : HistoryBoost, optional
        Additive item-neighbour part over each user's history (applied before ``exclude``).
    block_size : int
        Users per block (0: :func:`block_rows`); bounds memory at
        ``threads * block_size * n_items`` floats.
    num_threads : int
        Worker threads (0: every core).
    """
    u, v = _check_vectors(user_vectors, item_vectors)
    stop = len(u) if stop is None else stop
    if not 0 <= start <= stop <= len(u):
        raise ValueError(f"user range {start}:{stop} is outside 0:{len(u)}")
    if k <= 0:
        raise ValueError(f"k must be positive, got {k}")
    n_items = len(v)
    excl = _sparse_parts(exclude, u.shape[0], n_items, "exclude")
    bst = _sparse_parts(boost, u.shape[0], n_items, "boost")
    groups, offsets = _group_parts(group_offsets, u.shape[0], n_items)
    hist, nbrs = _history_parts(history, u.shape[0], n_items)
    item_t = np.zeros((v.shape[1], _padded(n_items)), np.float32)
    item_t[:, :n_items] = v.T
    indices = np.full((stop - start, k), -1, np.int32)
    scores = np.full((stop - start, k), -np.inf, np.float32)

    def fill(block: np.ndarray, keys: np.ndarray, lo: int, hi: int) -> None:
        np.matmul(u[lo:hi], item_t, out=block)
        _select_block(
            block,
            k,
            lo,
            n_items,
            *excl,
            *bst,
            *hist,
            *nbrs,
            groups,
            offsets,
            keys,
            indices[lo - start : hi - start],
            scores[lo - start : hi - start],
        )

    _in_blocks(start, stop, block_size or block_rows(n_items), item_t.shape[1], num_threads, fill)
    return TopK(indices, scores, start)


def _in_blocks(start: int, stop: int, rows: int, n_cols: int, num_threads: int, fill) -> None:
    """``fill(block, keys, lo, hi)`` for user blocks ``lo:hi`` of ``start:stop``, spread over
    worker threads that each reuse one ``(rows, n_cols)`` score buffer and key buffer.

    BLAS runs single-threaded inside: the workers are the parallelism (the GIL is released
    by BLAS and the kernel).
    """
    threads = num_threads or os.cpu_count() or 1
    blocks = [(b, min(b + rows, stop)) for b in range(start, stop, rows)]

    def work(worker: int) -> None:
        buffer = np.empty((rows, n_cols), np.float32)
        keys = np.empty(n_cols, np.uint64)
        for lo, hi in blocks[worker::threads]:
            fill(buffer[: hi - lo], keys, lo, hi)

    with threadpool_limits(1, user_api="blas"), ThreadPoolExecutor(threads) as pool:
        list(pool.map(work, range(min(threads, max(len(blocks), 1)))))


def select_top_k(scores: np.ndarray, k: int, *, num_threads: int = 0) -> TopK:
    """The ``k`` best columns of each row of a dense score matrix (``-inf``: never chosen).

    For models whose scores are not one matrix product (co-occurrence, popularity by
    segment) and for evaluation, where the scores are needed whole anyway: the same
    selection kernel and tie order as :func:`top_k`, on rows copied into a padded buffer.
    """
    scores = np.asarray(scores, dtype=np.float32)
    if scores.ndim != 2:
        raise ValueError(f"scores must be 2-d (users, items), got shape {scores.shape}")
    if k <= 0:
        raise ValueError(f"k must be positive, got {k}")
    n_users, n_items = scores.shape
    none = _sparse_parts(None, n_users, n_items, "exclude")  # no exclusions, no boosts
    groups, offsets = _group_parts(None, n_users, n_items)
    hist, nbrs = _history_parts(None, n_users, n_items)
    indices = np.full((n_users, k), -1, np.int32)
    values = np.full((n_users, k), -np.inf, np.float32)

    def fill(block: np.ndarray, keys: np.ndarray, lo: int, hi: int) -> None:
        block[:, :n_items] = scores[lo:hi]
        _select_block(
            block, k, lo, n_items, *none, *none, *hist, *nbrs, groups, offsets, keys, indices[lo:hi], values[lo:hi]
        )

    _in_blocks(0, n_users, block_rows(n_items), _padded(n_items), num_threads, fill)
    return TopK(indices, values)


def _check_vectors(user_vectors, item_vectors) -> tuple[np.ndarray, np.ndarray]:
    u = np.ascontiguousarray(user_vectors, dtype=np.float32)
    v = np.ascontiguousarray(item_vectors, dtype=np.float32)
    if u.ndim != 2 or v.ndim != 2 or u.shape[1] != v.shape[1]:
        raise ValueError(f"user vectors {u.shape} and item vectors {v.shape} must be 2-d with the same width")
    if not (np.isfinite(u).all() and np.isfinite(v).all()):
        raise ValueError("user or item vectors contain NaN or infinity: the model artifact is damaged")
    if len(v) >= _INT32_MAX:
        raise ValueError(f"{len(v)} items do not fit the kernel's 32-bit item index")
    return u, v


def _sparse_parts(matrix, n_users: int, n_items: int, name: str):
    """CSR arrays the kernel reads (empty ones when ``matrix`` is None)."""
    if matrix is None:
        return np.zeros(n_users + 1, np.int64), np.zeros(0, np.int32), np.zeros(0, np.float32)
    csr = sp.csr_matrix(matrix)
    if csr.shape != (n_users, n_items):
        raise ValueError(f"{name} has shape {csr.shape}, expected (users, items) = {(n_users, n_items)}")
    data = csr.data.astype(np.float32)
    if not np.isfinite(data).all():
        raise ValueError(f"{name} holds NaN or infinite values")
    return csr.indptr.astype(np.int64), csr.indices.astype(np.int32), data


def _history_parts(history: HistoryBoost | None, n_users: int, n_items: int):
    """CSR arrays of the history and the neighbours (empty ones when ``history`` is None)."""
    if history is None:
        return _sparse_parts(None, n_users, 0, "history"), _sparse_parts(None, 0, n_items, "neighbours")
    n_sources = history.history.shape[1]
    return (
        _sparse_parts(history.history, n_users, n_sources, "history"),
        _sparse_parts(history.neighbours, n_sources, n_items, "neighbours"),
    )


def _group_parts(group_offsets: GroupOffsets | None, n_users: int, n_items: int):
    if group_offsets is None:
        return np.zeros(0, np.int32), np.zeros((0, n_items), np.float32)
    groups = np.asarray(group_offsets.groups, dtype=np.int32)
    offsets = np.ascontiguousarray(group_offsets.offsets, dtype=np.float32)
    if groups.shape != (n_users,) or offsets.ndim != 2 or offsets.shape[1] != n_items:
        raise ValueError(
            f"group offsets need groups ({n_users},) and offsets (n_groups, {n_items}); "
            f"got {groups.shape} and {offsets.shape}"
        )
    if len(groups) and (groups.min() < 0 or groups.max() >= len(offsets)):
        raise ValueError(f"group numbers must lie in [0, {len(offsets)})")
    if not np.isfinite(offsets).all():
        raise ValueError("group offsets hold NaN or infinite values")
    return groups, offsets


def similar_items(item_vectors: np.ndarray, k: int, *, num_threads: int = 0) -> TopK:
    """The ``k`` nearest items of every item by cosine similarity (itself excluded).

    Uses the same kernel: the normalised vectors against themselves.
    """
    v = np.asarray(item_vectors, dtype=np.float32)
    norms = np.linalg.norm(v, axis=1, keepdims=True)
    unit = np.divide(v, norms, out=np.zeros_like(v), where=norms > 0)
    return top_k(unit, unit, k, exclude=sp.identity(len(v), format="csr", dtype=np.float32), num_threads=num_threads)


@nb.njit(nogil=True, fastmath=True, cache=True)
def _lane_maxima(x, n, lanes, out):
    """``out[c] = max(x[c], x[c + n], ..., x[c + (lanes - 1) n])`` for ``c < n``: contiguous,
    so it vectorises."""
    out[:n] = x[:n]
    for t in range(1, lanes):
        y = x[t * n : (t + 1) * n]
        for c in range(n):
            a = out[c]
            b = y[c]
            out[c] = a if a > b else b


@nb.njit(nogil=True, cache=True)
def _kth_largest(values, k, work):
    """The ``k``-th largest of ``values`` (``-inf`` when there are fewer than ``k``).

    A hand-written quickselect on a copy in ``work`` (scratch reused across rows: an
    allocation per row costs as much as the selection): numba's ``np.partition`` and
    ``np.sort`` cost tens of microseconds on the few hundred values of a row.
    """
    n = values.shape[0]
    if n < k:
        return -np.inf
    a = work[:n]
    a[:] = values
    target, lo, hi = n - k, 0, n - 1
    while lo < hi:
        pivot = a[(lo + hi) // 2]
        i, j = lo, hi
        while i <= j:
            while a[i] < pivot:
                i += 1
            while a[j] > pivot:
                j -= 1
            if i <= j:
                a[i], a[j] = a[j], a[i]
                i += 1
                j -= 1
        if target <= j:
            hi = j
        elif target >= i:
            lo = i
        else:
            break
    return a[target]


@nb.njit(nogil=True, cache=True)
def _sort_small(keys):
    """Ascending in place: insertion sort for the usual ~k keys, numba's sort beyond."""
    if keys.shape[0] > 128:
        keys[:] = np.sort(keys)
        return
    for i in range(1, keys.shape[0]):
        key = keys[i]
        j = i - 1
        while j >= 0 and keys[j] > key:
            keys[j + 1] = keys[j]
            j -= 1
        keys[j + 1] = key


@nb.njit(nogil=True, cache=True)
def _row_top_k(x, k, keys, first, second, work, out_idx, out_val):
    """Top ``k`` of one padded score row (length a multiple of LANE * GROUP).

    Lower bounds on the row's ``k``-th largest score, each tighter than the last: the
    ``k``-th largest maximum of GROUP * LANE interleaved cells (cheap: few values), then
    the ``k``-th largest of the LANE-cell maxima that reach it (each such maximum is a
    distinct cell, so at least ``k`` cells reach the bound).  Only cells in lanes whose
    maximum reaches the final bound are read again.
    """
    n1 = x.shape[0] // LANE
    _lane_maxima(x, n1, LANE, first)
    group = GROUP
    while group > 1 and n1 // group < 2 * k:  # enough group maxima for a useful bound
        group //= 2
    _lane_maxima(first, n1 // group, group, second)
    coarse = _kth_largest(second[: n1 // group], k, work)
    m = 0  # the lane maxima that reach it, gathered into ``second``
    for c in range(n1):
        if first[c] >= coarse:
            second[m] = first[c]
            m += 1
    bound = _kth_largest(second[:m], k, work)
    bits = x.view(np.int32)
    q = 0
    for c in range(n1):
        if first[c] >= bound:
            for t in range(LANE):
                j = t * n1 + c
                if x[j] >= bound and x[j] > -np.inf:
                    b = np.int64(bits[j])
                    if x[j] == 0:  # -0.0 and 0.0 tie, as in a float comparison
                        b = 0
                    elif b < 0:  # negative floats order backwards as integers
                        b = b ^ _INT32_MAX
                    # ascending key = descending score, then ascending item index
                    keys[q] = (np.uint64(_INT32_MAX - b) << np.uint64(32)) | np.uint64(j)
                    q += 1
    chosen = keys[:q]
    _sort_small(chosen)
    for t in range(min(k, q)):
        j = np.int32(chosen[t] & np.uint64(0xFFFFFFFF))
        out_idx[t] = j
        out_val[t] = x[j]


@nb.njit(nogil=True, cache=True)
def _select_block(
    block,
    k,
    row0,
    n_items,
    excl_ptr,
    excl_idx,
    excl_val,
    boost_ptr,
    boost_idx,
    boost_val,
    hist_ptr,
    hist_idx,
    hist_val,
    nbr_ptr,
    nbr_idx,
    nbr_val,
    groups,
    offsets,
    keys,
    out_idx,
    out_val,
):
    """Apply offsets, boosts, the history part and exclusions to each row of a score block, then select."""
    n_cols = block.shape[1]
    first = np.empty(n_cols // LANE, np.float32)
    second = np.empty(n_cols // LANE, np.float32)
    work = np.empty(n_cols // LANE, np.float32)
    for r in range(block.shape[0]):
        x = block[r]
        row = row0 + r
        if groups.shape[0] > 0:
            off = offsets[groups[row]]
            for j in range(n_items):
                x[j] += off[j]
        for p in range(boost_ptr[row], boost_ptr[row + 1]):
            x[boost_idx[p]] += boost_val[p]
        for p in range(hist_ptr[row], hist_ptr[row + 1]):
            source, weight = hist_idx[p], hist_val[p]
            for q in range(nbr_ptr[source], nbr_ptr[source + 1]):
                x[nbr_idx[q]] += weight * nbr_val[q]
        for p in range(excl_ptr[row], excl_ptr[row + 1]):
            x[excl_idx[p]] = -np.inf
        for j in range(n_items, n_cols):
            x[j] = -np.inf
        _row_top_k(x, k, keys, first, second, work, out_idx[r], out_val[r])
