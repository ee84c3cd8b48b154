"""Everything a recommender is fitted on, in index space: the interaction matrix, the
feature matrices and the sorted id mappings of one cutoff.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp

from recsys.training import features
from recsys.training.frames import ITEM, USER, WEIGHT, Frames
from recsys.training.weighting import Weighting, aggregate_pairs


@dataclass(frozen=True)
class TrainingData:
    """Everything a recommender is fitted on, in index space, with the id mappings.

    ``user_ids[i]`` / ``item_ids[j]`` are the external ids of row ``i`` / column ``j`` of
    every matrix; both are sorted, so the same data always gives the same mapping.
    """

    user_ids: np.ndarray
    item_ids: np.ndarray
    interactions: sp.csr_matrix
    user_features: sp.csr_matrix
    item_features: sp.csr_matrix
    user_feature_names: tuple[str, ...]
    item_feature_names: tuple[str, ...]
    pairs: pd.DataFrame
    user_attributes: pd.DataFrame
    item_attributes: pd.DataFrame
    cutoff: pd.Timestamp

    @property
    def shape(self) -> tuple[int, int]:
        return self.interactions.shape

    def user_index(self, ids) -> np.ndarray:
        """Row of each id, -1 for ids the data does not know."""
        return index_of(self.user_ids, ids)

    def item_index(self, ids) -> np.ndarray:
        """Column of each id, -1 for ids the data does not know."""
        return index_of(self.item_ids, ids)


def index_of(sorted_ids: np.ndarray, ids) -> np.ndarray:
    """Position of each id in ``sorted_ids``, -1 where absent (vectorised, no dict)."""
    ids = np.asarray(ids, dtype=str)
    if len(sorted_ids) == 0:
        return np.full(len(ids), -1)
    pos = np.searchsorted(sorted_ids, ids).clip(0, len(sorted_ids) - 1)
    return np.where(sorted_ids[pos] == ids, pos, -1)


def build_training_data(
    frames: Frames,
    cutoff: pd.Timestamp,
    weighting: Weighting,
) -> TrainingData:
    """Interaction matrix, feature matrices and id mappings of the data before ``cutoff``.

    Users are those with an interaction before the cutoff; items are those plus every item
    of the catalogue (``frames.items``), so the hybrid can score catalogue items nobody
    has bought yet from their features.
    """
    pairs = aggregate_pairs(frames.interactions, cutoff, weighting)
    if pairs.empty:
        raise ValueError(f"no interactions before the cutoff {cutoff:%Y-%m-%d}: nothing to train on")
    user_ids = np.unique(pairs[USER].to_numpy(dtype=str))
    catalogue = frames.items[ITEM].to_numpy(dtype=str) if frames.items is not None else np.array([], dtype=str)
    item_ids = np.unique(np.concatenate([pairs[ITEM].to_numpy(dtype=str), catalogue]))
    rows, cols = index_of(user_ids, pairs[USER]), index_of(item_ids, pairs[ITEM])
    matrix = sp.csr_matrix((pairs[WEIGHT].to_numpy(np.float32), (rows, cols)), shape=(len(user_ids), len(item_ids)))
    user_attrs = _attributes(frames.users, USER, user_ids)
    item_attrs = _attributes(frames.items, ITEM, item_ids)
    user_features, user_names = features.feature_matrix(user_ids, user_attrs)
    item_features, item_names = features.feature_matrix(item_ids, item_attrs)
    return TrainingData(
        user_ids=user_ids,
        item_ids=item_ids,
        interactions=matrix,
        user_features=user_features,
        item_features=item_features,
        user_feature_names=user_names,
        item_feature_names=item_names,
        pairs=pairs.assign(user_idx=rows, item_idx=cols),
        user_attributes=user_attrs,
        item_attributes=item_attrs,
        cutoff=pd.Timestamp(cutoff),
    )


def _attributes(frame: pd.DataFrame | None, id_column: str, ids: np.ndarray) -> pd.DataFrame:
    """Attribute rows aligned with ``ids`` (empty rows for ids the frame lacks)."""
    if frame is None:
        return pd.DataFrame(index=pd.Index(ids, name=id_column))
    return frame.set_index(id_column).reindex(pd.Index(ids, name=id_column))
