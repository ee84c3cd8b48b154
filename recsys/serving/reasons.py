"""Reason codes: why each recommended item is in the list, in words a CRM template can use.

Every row gets a ``reason_code`` and a ``reason_ref``:

==================== ===================================================================
``new_arrival``      an exploration slot given to a new product (ref: empty)
``promoted``         the promotion boost is the adjustment that lifted it most
``seasonal``         the calendar or season factor lifted it most (ref: the event, or
                     ``season`` when no calendar event ties it)
``similar_to_viewed`` recent activity lifted it most (ref: the viewed or carted item)
``bought_together``  the model ranked it; ref: the customer's past purchase most similar
                     to it (``similar_to_viewed`` with a viewed item when they bought nothing)
``popular_in_segment`` cold-start or fill-in item (ref: the segment, else the country)
==================== ===================================================================

An adjustment "lifted it most" when it is the largest positive one and at least
:data:`MIN_LIFT` of the model's score scale; smaller nudges leave the model's reason.
"""

from __future__ import annotations

import numba as nb
import numpy as np

NEW_ARRIVAL, PROMOTED, SEASONAL = "new_arrival", "promoted", "seasonal"
SIMILAR_TO_VIEWED, BOUGHT_TOGETHER, POPULAR_IN_SEGMENT = "similar_to_viewed", "bought_together", "popular_in_segment"
REASON_CODES = (BOUGHT_TOGETHER, SIMILAR_TO_VIEWED, POPULAR_IN_SEGMENT, SEASONAL, NEW_ARRIVAL, PROMOTED)
#: Share of the score scale an adjustment must add to become the reason.
MIN_LIFT = 0.25


def reasons(
    *,
    season: np.ndarray,
    event: np.ndarray,
    promotion: np.ndarray,
    recent: np.ndarray,
    scale: float,
    exploration: np.ndarray,
    popular: np.ndarray,
    event_name: np.ndarray,
    recent_item: np.ndarray,
    nearest_item: np.ndarray,
    nearest_bought: np.ndarray,
    segment: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """``(reason_code, reason_ref)`` object arrays, one entry per recommendation row.

    Parameters
    ----------
    season, event, promotion, recent : ndarray of float
        Each adjustment's contribution to the row's score (score units).
    exploration, popular : ndarray of bool
        Rows of an exploration slot; rows from popularity (cold start, fill-in).
    event_name, recent_item : ndarray of object
        The event tying the item (or None) and the recent item that boosted it (or None).
    nearest_item, nearest_bought : ndarray
        The customer's history item most similar to the row's item (None without
        history) and whether it was bought (else viewed or carted).
    segment : ndarray of object
        The customer's segment label for ``popular_in_segment``.
    """
    lifts = np.vstack([promotion, season + event, recent])
    best = lifts.argmax(axis=0)
    lifted = lifts.max(axis=0) >= MIN_LIFT * scale
    seasonal_ref = np.where(event_name == None, "season", event_name)  # noqa: E711 (elementwise)
    has_history = nearest_item != None  # noqa: E711
    model_code = np.where(nearest_bought, BOUGHT_TOGETHER, SIMILAR_TO_VIEWED)
    conditions = [exploration, popular, lifted & (best == 0), lifted & (best == 1), lifted & (best == 2), has_history]
    codes = np.select(
        conditions,
        [NEW_ARRIVAL, POPULAR_IN_SEGMENT, PROMOTED, SEASONAL, SIMILAR_TO_VIEWED, model_code],
        default=POPULAR_IN_SEGMENT,
    ).astype(object)
    none = np.full(len(segment), None, dtype=object)
    refs = np.select(conditions, [none, segment, none, seasonal_ref, recent_item, nearest_item], default=segment)
    return codes, refs


def nearest_history(unit_vectors: np.ndarray, rec_items: np.ndarray, history: np.ndarray) -> np.ndarray:
    """Column of ``history`` most similar (cosine) to each recommended item.

    Parameters
    ----------
    unit_vectors : ndarray, shape (n_items, d)
        Normalised item embeddings.
    rec_items : ndarray of int, shape (n_rows,)
        The recommended item of each row.
    history : ndarray of int, shape (n_rows, h)
        The row's customer's history items, -1 padding.

    Returns
    -------
    ndarray of int, shape (n_rows,)
        Position in ``history`` of the nearest item (the first of equals), -1 when the
        history is empty.  Compiled, one dot product per history item: no gathered copy.
    """
    return _nearest(
        np.ascontiguousarray(unit_vectors, np.float32),
        np.asarray(rec_items, np.int64),
        np.ascontiguousarray(history, np.int64),
    )


@nb.njit(nogil=True, cache=True)
def _nearest(unit, items, history):
    out = np.full(len(items), -1, np.int64)
    for r in range(len(items)):
        best = -np.inf
        target = unit[items[r]]
        for h in range(history.shape[1]):
            item = history[r, h]
            if item < 0:
                continue
            other = unit[item]
            sim = 0.0
            for d in range(target.shape[0]):
                sim += target[d] * other[d]
            if sim > best:
                best, out[r] = sim, h
    return out
