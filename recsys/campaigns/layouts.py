"""The send files an email tool loads as they are.

``braze``
    Braze's user CSV import: ``external_id`` first (the identifier column), ``email`` (a
    default attribute; blank when unknown, and a blank value does not overwrite a profile),
    then custom attributes: ``currency`` and, for each rank r, ``rec_<r>_product_id,
    rec_<r>_name, rec_<r>_price, rec_<r>_url, rec_<r>_image_url, rec_<r>_reason``.
``klaviyo``
    Klaviyo's list upload CSV: ``Email`` first (every row has one), then custom properties
    ``customer_id``, ``currency`` and the same ``rec_<r>_*`` fields (prices as plain numbers).
``wide`` / ``long``
    The generic files of ``recsys export`` (addresses only as keyed hashes), with the
    currency and the reason in words.

Every layout has one row per treated customer in customer order; ``holdout.csv`` beside it
names the customers deliberately not sent (the campaign's holdout and the global control).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

#: Reason codes of the published lists in words (``recsys.serving.reasons``); ``{ref}`` is
#: the product's name (or the calendar event) the reason refers to.
REASON_TEXT = {
    "bought_together": "Because you bought {ref}",
    "similar_to_viewed": "Because you looked at {ref}",
    "popular_in_segment": "Popular with customers like you",
    "seasonal": "In season: {ref}",
    "new_arrival": "New in",
    "promoted": "On offer now",
}
_WITHOUT_REF = {"bought_together": "Picked for you", "similar_to_viewed": "Picked for you", "seasonal": "In season now"}
ITEM_FIELDS = (
    ("product_id", "product_id"),
    ("name", "title"),
    ("price", "price"),
    ("url", "product_url"),
    ("image_url", "image_url"),
    ("reason", "reason"),
)


def reason_text(codes: pd.Series, refs: pd.Series, titles: dict[str, str]) -> pd.Series:
    """Each row's reason in words; a product id ``ref`` is shown by its name."""
    out = []
    for code, ref in zip(codes, refs):
        name = titles.get(ref, ref) if isinstance(ref, str) and ref and ref != "season" else None
        template = REASON_TEXT.get(code, "Picked for you")
        out.append(template.format(ref=name) if name or "{ref}" not in template else _WITHOUT_REF[code])
    return pd.Series(out, index=codes.index, dtype=object)


def _per_customer(long: pd.DataFrame, k: int, currency: str) -> pd.DataFrame:
    """One row per customer: ``currency`` and ``rec_<r>_<field>`` for r = 1..k (empty past a short list)."""
    codes, customers = pd.factorize(long["customer_id"])
    first = np.full(len(customers), len(long), np.int64)
    np.minimum.at(first, codes, np.arange(len(long)))
    columns: dict[str, object] = {
        "customer_id": customers,
        "email": long["email"].to_numpy(dtype=object)[first] if len(long) else np.array([], dtype=object),
        "email_hash": long["email_hash"].to_numpy(dtype=object)[first] if len(long) else np.array([], dtype=object),
        "currency": np.full(len(customers), currency, dtype=object),
    }
    ranks = long["rank"].to_numpy()
    for rank in range(1, k + 1):
        rows = np.flatnonzero(ranks == rank)
        for name, source in ITEM_FIELDS:
            values = np.full(len(customers), None, dtype=object)
            values[codes[rows]] = long[source].to_numpy(dtype=object)[rows]
            columns[f"rec_{rank}_{name}"] = values
    return pd.DataFrame(columns)


def send_file(long: pd.DataFrame, layout: str, k: int, currency: str) -> pd.DataFrame:
    """The send file of ``layout`` from the treated customers' rows (one per customer and rank).

    ``long`` has ``customer_id, email, email_hash, rank, product_id, title, price,
    product_url, image_url, reason_code, reason``, ordered by customer and rank.
    """
    if layout == "long":
        frame = long.assign(currency=currency)
        return frame[
            [
                "customer_id",
                "email_hash",
                "rank",
                "product_id",
                "title",
                "price",
                "currency",
                "product_url",
                "image_url",
                "reason_code",
                "reason",
            ]
        ].reset_index(drop=True)
    wide = _per_customer(long, k, currency)
    items = [c for c in wide.columns if c.startswith("rec_")]
    if layout == "braze":
        return wide.rename(columns={"customer_id": "external_id"})[["external_id", "email", "currency", *items]]
    if layout == "klaviyo":
        return wide.rename(columns={"email": "Email"})[["Email", "customer_id", "currency", *items]]
    if layout == "wide":
        return wide[["customer_id", "email_hash", "currency", *items]]
    raise ValueError(f"unknown layout {layout!r}")
