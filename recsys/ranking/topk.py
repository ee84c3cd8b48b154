"""Batch top-k scoring: blocked matrix products through BLAS and a compiled top-k selection.

Every score is ``user_vectors[u] @ item_vectors[i]`` (biases folded in as extra columns,
see :func:`factor_vectors`), optionally plus a per-user-group item offset (context factors
that depend on the item and, say, the customer's country), plus sparse per-user boosts
(recent activity), plus an item-neighbour part summed over the user's history
(:class:`HistoryBoost`: ``history[u] @ neighbours``, added inside the kernel so no user x
item matrix is built), with excluded pairs (already bought) removed.  Never a per-pair loop.

How it stays close to the cost of the bare matrix product
    Users are cut into blocks (:data:`BLOCK_ROWS`) and items into chunks (:data:`CHUNK`
    columns).  Each worker thread multiplies its block with one chunk of items at a time
    (single-threaded BLAS, the GIL released) into a buffer that stays in the core's L2
    cache, and the numba kernel reads that chunk while it is still there: it adds the
    offsets, boosts and history part of the chunk's columns, takes the maximum of LANE
    interleaved lanes (a vectorised pass) and reads again only the lanes whose maximum
    reaches the row's running threshold, keeping their cells as candidates.  The
    threshold is the ``k``-th largest candidate so far (first: the ``k``-th largest lane
    maximum of the first chunk, a lower bound on the row's ``k``-th score); when the
    candidates fill their buffer, the best ``k`` are kept and the threshold rises.  So
    the scores are written to and read from cache only, never to memory, while the bare
    product writes every score to memory: the selection costs a vectorised pass over
    data in L2 per score and a handful of candidates per chunk and row.

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

#: Cells per lane of the first selection level (one lane maximum per LANE cells).
LANE = 16
#: Item columns per BLAS call: ``BLOCK_ROWS x CHUNK`` float32 scores are 1 MiB, which stays in
#: a core's L2 cache (1 MiB per core on the development machine's EPYC) between the BLAS
#: call that writes them and the kernel that reads them.
CHUNK = 1024
#: Users per block (the rows of one BLAS call).
BLOCK_ROWS = 256
_INT32_MAX = np.int64(0x7FFFFFFF)
_NO_KEY = np.uint64(0xFFFFFFFFFFFFFFFF)


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
    """Users per block: :data:`BLOCK_ROWS` (the chunking bounds memory whatever the catalogue)."""
    return BLOCK_ROWS


def chunk_width(n_items: int) -> int:
    """Columns per chunk: :data:`CHUNK`, or the catalogue rounded up to whole lanes when smaller."""
    return min(CHUNK, -(-max(n_items, 1) // LANE) * LANE)


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
        Additive per-pair scores (recent activity).
    group_offsets : GroupOffsets, optional
        Additive per-group item offsets (season, calendar, country).
    history : HistoryBoost, optional
        Additive item-neighbour part over each user's history.
    block_size : int
        Users per block (0: :func:`block_rows`).
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
    sparse = _Sparse(
        _sparse_parts(exclude, u.shape[0], n_items, "exclude"),
        _sparse_parts(boost, u.shape[0], n_items, "boost"),
        *_history_parts(history, u.shape[0], n_items),
    )
    groups, offsets = _group_parts(group_offsets, u.shape[0], n_items)
    width = chunk_width(n_items)
    n_chunks = -(-n_items // width)
    chunks = np.zeros((n_chunks, v.shape[1], width), np.float32)  # item chunks, transposed for BLAS
    padded = np.zeros((n_chunks * width, v.shape[1]), np.float32)
    padded[:n_items] = v
    chunks[:] = padded.reshape(n_chunks, width, v.shape[1]).transpose(0, 2, 1)
    indices = np.full((stop - start, k), -1, np.int32)
    scores = np.full((stop - start, k), -np.inf, np.float32)

    def product(buffer: np.ndarray, lo: int, hi: int, chunk: int) -> None:
        np.matmul(u[lo:hi], chunks[chunk], out=buffer)

    _in_blocks(
        start,
        stop,
        block_size or block_rows(n_items),
        n_items,
        width,
        k,
        sparse,
        groups,
        offsets,
        num_threads,
        product,
        indices,
        scores,
    )
    return TopK(indices, scores, start)


@dataclass(frozen=True)
class _Sparse:
    """CSR parts of the sparse per-user adjustments the kernel reads."""

    exclude: tuple
    boost: tuple
    history: tuple
    neighbours: tuple


def _in_blocks(
    start: int,
    stop: int,
    rows: int,
    n_items: int,
    width: int,
    k: int,
    sparse: _Sparse,
    groups: np.ndarray,
    offsets: np.ndarray,
    num_threads: int,
    product,
    indices: np.ndarray,
    scores: np.ndarray,
) -> None:
    """Select the top ``k`` of users ``start:stop`` block by block, chunk by chunk.

    ``product(buffer, lo, hi, chunk)`` writes the scores of users ``lo:hi`` for the items of
    chunk ``chunk`` into ``buffer``.  Worker threads take blocks in turn and reuse one
    ``(rows, width)`` buffer and the candidate state; BLAS runs single-threaded inside (the
    workers are the parallelism, and BLAS and the kernel release the GIL).
    """
    threads = num_threads or os.cpu_count() or 1
    blocks = [(b, min(b + rows, stop)) for b in range(start, stop, rows)]
    n_chunks = -(-n_items // width)
    capacity = 2 * k + LANE * LANE  # room for a whole chunk's first lanes before the first compaction

    def work(worker: int) -> None:
        buffer = np.empty((rows, width), np.float32)
        lanes = np.empty(width // LANE, np.float32)
        work = np.empty(width // LANE, np.float32)
        keys = np.empty((rows, capacity), np.uint64)  # candidates: score and item in one sortable key
        count = np.empty(rows, np.int64)
        bound = np.empty(rows, np.float32)  # a cell below it cannot make the row's top k
        worst = np.empty(rows, np.uint64)  # ... nor one whose key is not below this one
        for lo, hi in blocks[worker::threads]:
            n = hi - lo
            adds = _bucket(lo, hi, width, n_chunks, *sparse.exclude, *sparse.boost, *sparse.history, *sparse.neighbours)
            count[:n], bound[:n], worst[:n] = 0, -np.inf, _NO_KEY
            for chunk in range(n_chunks):
                product(buffer[:n], lo, hi, chunk)
                _chunk_select(
                    buffer[:n],
                    lo,
                    chunk * width,
                    n_items,
                    k,
                    groups,
                    offsets,
                    *adds,
                    chunk,
                    lanes,
                    work,
                    keys,
                    count,
                    bound,
                    worst,
                )
            _finish(keys, count[:n], k, indices[lo - start : hi - start], scores[lo - start : hi - start])

    with threadpool_limits(1, user_api="blas"), ThreadPoolExecutor(threads) as pool:
        list(pool.map(work, range(min(threads, max(len(blocks), 1)))))


def select_top_k(scores: np.ndarray, k: int, *, num_threads: int = 0) -> TopK:
    """The ``k`` best columns of each row of a dense score matrix (``-inf``: never chosen).

    For models whose scores are not one matrix product (co-occurrence, popularity by
    segment) and for evaluation, where the scores are needed whole anyway: the same
    selection kernel and tie order as :func:`top_k`, each chunk copied into the buffer.
    """
    scores = np.asarray(scores, dtype=np.float32)
    if scores.ndim != 2:
        raise ValueError(f"scores must be 2-d (users, items), got shape {scores.shape}")
    if k <= 0:
        raise ValueError(f"k must be positive, got {k}")
    n_users, n_items = scores.shape
    sparse = _Sparse(
        _sparse_parts(None, n_users, n_items, "exclude"),
        _sparse_parts(None, n_users, n_items, "boost"),
        *_history_parts(None, n_users, n_items),
    )
    groups, offsets = _group_parts(None, n_users, n_items)
    width = chunk_width(n_items)
    indices = np.full((n_users, k), -1, np.int32)
    values = np.full((n_users, k), -np.inf, np.float32)

    def copy(buffer: np.ndarray, lo: int, hi: int, chunk: int) -> None:
        part = scores[lo:hi, chunk * width : (chunk + 1) * width]
        buffer[:, : part.shape[1]] = part

    _in_blocks(
        0, n_users, block_rows(n_items), n_items, width, k, sparse, groups, offsets, num_threads, copy, indices, values
    )
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
    _quickselect(a, n - k)
    return a[n - k]


@nb.njit(nogil=True, cache=True)
def _bucket(
    lo,
    hi,
    width,
    n_chunks,
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
):
    """The sparse additions of users ``lo:hi`` grouped by row and chunk (a counting sort).

    Returns ``(ptr, column, value)``: the additions of block row ``r`` in chunk ``c`` are
    ``ptr[r * n_chunks + c] : ptr[r * n_chunks + c + 1]``.  Boosts and the history part
    add their value; an exclusion adds ``-inf``, which no later addition undoes.
    """
    n = hi - lo
    counts = np.zeros(n * n_chunks + 1, np.int64)
    for r in range(n):
        row = lo + r
        for p in range(boost_ptr[row], boost_ptr[row + 1]):
            counts[r * n_chunks + boost_idx[p] // width + 1] += 1
        for p in range(excl_ptr[row], excl_ptr[row + 1]):
            counts[r * n_chunks + excl_idx[p] // width + 1] += 1
        for p in range(hist_ptr[row], hist_ptr[row + 1]):
            source = hist_idx[p]
            for q in range(nbr_ptr[source], nbr_ptr[source + 1]):
                counts[r * n_chunks + nbr_idx[q] // width + 1] += 1
    ptr = np.cumsum(counts)
    fill = ptr[:-1].copy()
    column = np.empty(ptr[-1], np.int32)
    value = np.empty(ptr[-1], np.float32)
    for r in range(n):
        row = lo + r
        for p in range(boost_ptr[row], boost_ptr[row + 1]):
            at = r * n_chunks + boost_idx[p] // width
            column[fill[at]], value[fill[at]] = boost_idx[p], boost_val[p]
            fill[at] += 1
        for p in range(hist_ptr[row], hist_ptr[row + 1]):
            source, weight = hist_idx[p], hist_val[p]
            for q in range(nbr_ptr[source], nbr_ptr[source + 1]):
                at = r * n_chunks + nbr_idx[q] // width
                column[fill[at]], value[fill[at]] = nbr_idx[q], weight * nbr_val[q]
                fill[at] += 1
        for p in range(excl_ptr[row], excl_ptr[row + 1]):
            at = r * n_chunks + excl_idx[p] // width
            column[fill[at]], value[fill[at]] = excl_idx[p], -np.inf
            fill[at] += 1
    return ptr, column, value


@nb.njit(nogil=True, cache=True)
def _key(bits, j):
    """Ascending key = descending score, then ascending item index (``bits``: the float's bits)."""
    b = np.int64(bits)
    if b == 0 or b == -2147483648:  # -0.0 and 0.0 tie, as in a float comparison
        b = 0
    elif b < 0:  # negative floats order backwards as integers
        b = b ^ _INT32_MAX
    return (np.uint64(_INT32_MAX - b) << np.uint64(32)) | np.uint64(j)


@nb.njit(nogil=True, cache=True)
def _bits(key):
    """The float bits a key was made from (:func:`_key` reversed; -0.0 comes back as 0.0)."""
    b = _INT32_MAX - np.int64(key >> np.uint64(32))
    return np.int32(b ^ _INT32_MAX if b < 0 else b)


@nb.njit(nogil=True, cache=True)
def _select_keys(keys, k):
    """Reorder ``keys`` so that its ``k`` smallest come first (quickselect, in place)."""
    _quickselect(keys, k - 1)


@nb.njit(nogil=True, cache=True)
def _quickselect(a, target):
    """Reorder ``a`` in place so that ``a[target]`` is what a sort would put there, nothing
    larger before it and nothing smaller after it (Hoare's selection)."""
    lo, hi = 0, a.shape[0] - 1
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


@nb.njit(nogil=True, cache=True)
def _compact(keys, count, bound, worst, r, k, scratch):
    """Keep row ``r``'s best ``k`` candidates; the worst of them becomes the row's bound."""
    row = keys[r, : count[r]]
    _select_keys(row, k)
    worst[r] = row[0]
    for t in range(1, k):
        if row[t] > worst[r]:
            worst[r] = row[t]
    count[r] = k
    scratch[0] = _bits(worst[r])
    bound[r] = scratch.view(np.float32)[0]


@nb.njit(nogil=True, fastmath=True, cache=True)
def _lane_maxima(x, n, out):
    """``out[c] = max(x[c], x[c + n], ..., x[c + (LANE - 1) n])``: contiguous, so it vectorises."""
    for c in range(n):
        out[c] = x[c]
    for t in range(1, LANE):
        for c in range(n):
            a = out[c]
            b = x[t * n + c]
            out[c] = a if a > b else b


@nb.njit(nogil=True, cache=True)
def _chunk_select(
    block,
    row0,
    col0,
    n_items,
    k,
    groups,
    offsets,
    add_ptr,
    add_col,
    add_val,
    chunk,
    lanes,
    work,
    keys,
    count,
    bound,
    worst,
):
    """Adjust one chunk of each row's scores (still in cache) and keep the cells that can
    still make the row's top ``k`` as candidates (compacted to the best ``k`` once there
    are ``2k``, which raises the bound)."""
    width = block.shape[1]
    n1 = width // LANE
    n_chunks = (len(add_ptr) - 1) // block.shape[0]
    capacity = keys.shape[1]
    stop = min(width, n_items - col0)
    scratch = np.empty(1, np.int32)
    for r in range(block.shape[0]):
        x = block[r]
        if groups.shape[0] > 0:
            off = offsets[groups[row0 + r]]
            for j in range(stop):
                x[j] += off[col0 + j]
        at = r * n_chunks + chunk
        for p in range(add_ptr[at], add_ptr[at + 1]):
            x[add_col[p] - col0] += add_val[p]
        for j in range(stop, width):
            x[j] = -np.inf
        _lane_maxima(x, n1, lanes)
        if bound[r] == -np.inf and n1 >= k:  # a first lower bound: the k-th best lane maximum
            bound[r] = _kth_largest(lanes[:n1], k, work)
        bits = x.view(np.int32)
        for c in range(n1):
            if lanes[c] >= bound[r]:
                for t in range(LANE):
                    j = t * n1 + c
                    if x[j] >= bound[r] and x[j] > -np.inf:
                        key = _key(bits[j], col0 + j)
                        if key < worst[r]:
                            keys[r, count[r]] = key
                            count[r] += 1
                            if count[r] == capacity or count[r] >= 2 * k:
                                _compact(keys, count, bound, worst, r, k, scratch)


@nb.njit(nogil=True, cache=True)
def _finish(keys, count, k, out_idx, out_val):
    """Each row's best ``k`` candidates, best first."""
    for r in range(count.shape[0]):
        n = count[r]
        row = keys[r, :n]
        if n > k:
            _select_keys(row, k)
            n = k
        best = row[:n]
        best.sort()
        bits = out_val[r].view(np.int32)
        for t in range(n):
            out_idx[r, t] = np.int32(best[t] & np.uint64(0xFFFFFFFF))
            bits[t] = _bits(best[t])
