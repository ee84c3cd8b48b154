"""Cold start: customers without history and products the model has never seen.

* A customer the model does not know gets the best items of their segment and country:
  recency-weighted popularity among customers of the same (segment, country), shrunk
  towards the country and then the shop (:func:`segment_popularity`).  The season and
  calendar factors then apply to it like to any list.
* A product created after training is scored from its features: the LightFM hybrid's
  representation of an item is the (row-normalised) sum of its feature embeddings, so a
  new item's features (``category=...``, ``title:<word>``, ...) found in the model's
  vocabulary give it an embedding and a bias (:func:`item_vectors_from_features`).
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import scipy.sparse as sp

from recsys.training.features import _WORD, TEXT_COLUMNS

#: Pseudo-customers of the broader level in each popularity shrinkage step.
POPULARITY_STRENGTH = 20.0
POPULARITY_HALF_LIFE_DAYS = 90.0
ALL = "all"


def feature_rows(items: pd.DataFrame, vocabulary: tuple[str, ...]) -> sp.csr_matrix:
    """``(n_items, len(vocabulary))`` row-normalised features of ``items`` in the model's vocabulary.

    Text columns give ``<column>:<word>``, other columns ``<column>=<value>``; features
    the model never learnt are dropped (they have no embedding).
    """
    position = {name: j for j, name in enumerate(vocabulary)}
    rows, cols = [], []
    for row, record in enumerate(items.drop(columns=["item_id"], errors="ignore").to_dict("records")):
        for column, value in record.items():
            if value is None or (isinstance(value, float) and np.isnan(value)):
                continue
            if column in TEXT_COLUMNS:
                names = {f"{column}:{w}" for w in _WORD.findall(str(value).lower())}
            else:
                names = {f"{column}={str(value).strip()}"}
            for name in names:
                if name in position:
                    rows.append(row)
                    cols.append(position[name])
    matrix = sp.csr_matrix((np.ones(len(rows), np.float32), (rows, cols)), shape=(len(items), len(vocabulary)))
    sums = np.asarray(matrix.sum(axis=1)).ravel()
    return (sp.diags(np.where(sums > 0, 1.0 / np.maximum(sums, 1), 0.0)).astype(np.float32) @ matrix).tocsr()


def item_vectors_from_features(
    items: pd.DataFrame, vocabulary: tuple[str, ...], feature_embeddings: np.ndarray, feature_biases: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(embeddings, biases, known)`` of new items from their features.

    ``known`` is False for an item none of whose features the model knows: it gets a
    zero embedding and the mean item bias, so it neither wins nor vanishes.
    """
    rows = feature_rows(items, vocabulary)
    embeddings = np.asarray(rows @ feature_embeddings, dtype=np.float32)
    biases = np.asarray(rows @ feature_biases, dtype=np.float32).ravel()
    known = rows.getnnz(axis=1) > 0
    biases[~known] = float(np.mean(feature_biases)) if len(feature_biases) else 0.0
    return embeddings, biases, known


def lightfm_item_parameters(model) -> tuple[np.ndarray, np.ndarray]:
    """Adapter to the model artifact: per-feature item embeddings and biases.

    ``model`` is a :class:`recsys.training.artifacts.LoadedModel`; its LightFM parameters are
    read back with :func:`recsys.training.artifacts.restore_lightfm`.
    """
    from recsys.training.artifacts import restore_lightfm

    lightfm, _, _ = restore_lightfm(model.path)
    return np.asarray(lightfm.item_embeddings, np.float32), np.asarray(lightfm.item_biases, np.float32)


def segment_keys(users: pd.DataFrame) -> pd.DataFrame:
    """``segment, country`` of each user, ``all`` where unknown."""
    out = pd.DataFrame(index=users.index)
    for column in ("segment", "country"):
        values = users[column] if column in users else pd.Series(None, index=users.index, dtype=object)
        out[column] = values.astype(object).where(values.notna(), ALL).astype(str)
    return out


def segment_popularity(
    purchases: pd.DataFrame, users: pd.DataFrame, item_ids: np.ndarray, keys: pd.DataFrame, as_of: dt.date
) -> np.ndarray:
    """``(len(keys), n_items)`` log popularity of items among customers of each key.

    Parameters
    ----------
    purchases : DataFrame
        ``user_id, item_id, timestamp`` before ``as_of``.
    users : DataFrame
        ``user_id`` with optional ``segment``, ``country`` (who belongs where).
    keys : DataFrame
        ``segment, country`` rows to compute (``all`` matches everyone).

    A purchase counts ``0.5 ** (age / 90 days)``; each level is shrunk towards the next
    broader one (segment+country -> country -> shop) with 20 pseudo-purchases.
    """
    member = segment_keys(users.set_index("user_id", drop=False)) if len(users) else None
    ts = pd.to_datetime(purchases["timestamp"])
    weight = 0.5 ** ((pd.Timestamp(as_of) - ts).dt.total_seconds() / 86400 / POPULARITY_HALF_LIFE_DAYS)
    frame = pd.DataFrame(
        {
            "item": pd.Index(item_ids).get_indexer(purchases["item_id"].astype(str)),
            "w": weight.to_numpy(),
            "user_id": purchases["user_id"].astype(str).to_numpy(),
        }
    )
    frame = frame[(frame["item"] >= 0) & (ts < pd.Timestamp(as_of)).to_numpy()]
    if member is not None:
        frame = frame.join(member, on="user_id")
    for column in ("segment", "country"):
        frame[column] = frame[column].fillna(ALL) if column in frame else ALL

    def counts(mask) -> np.ndarray:
        return np.bincount(frame.loc[mask, "item"], weights=frame.loc[mask, "w"], minlength=len(item_ids))

    shop = (counts(np.ones(len(frame), bool)) + 1) / (frame["w"].sum() + len(item_ids))
    result = np.empty((len(keys), len(item_ids)))
    for row, (segment, country) in enumerate(keys[["segment", "country"]].itertuples(index=False)):
        in_country = (frame["country"] == country) if country != ALL else np.ones(len(frame), bool)
        level = _shrink(counts(in_country), shop)
        if segment != ALL:
            level = _shrink(counts(in_country & (frame["segment"] == segment)), level)
        result[row] = np.log(level)
    return result.astype(np.float32)


def _shrink(counts: np.ndarray, prior: np.ndarray) -> np.ndarray:
    return (counts + POPULARITY_STRENGTH * prior) / (counts.sum() + POPULARITY_STRENGTH)
