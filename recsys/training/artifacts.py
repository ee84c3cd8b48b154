"""Versioned model artifacts: numpy arrays and JSON, never pickle.

Layout of one artifact, ``<artifacts_dir>/models/<run_id>/``:

``model.npz``
    What scoring needs, float32: ``user_embeddings (n_users, d)``, ``user_biases (n_users,)``,
    ``item_embeddings (n_items, d)``, ``item_biases (n_items,)``, ``item_prior (n_items,)``.
    The score of user row ``u`` for item column ``i`` is
    ``user_embeddings[u] @ item_embeddings[i] + user_biases[u] + item_biases[i] + item_prior[i]``:
    score in blocked matrix products (:meth:`LoadedModel.score`), never a per-pair loop.
``neighbours.npz``
    The blend's item neighbours ``S`` (CSR parts, ``(n_items, n_items)`` in ``item_ids``
    order): the neighbour part of a score is ``knn_coefficient * history_u @ S`` with the
    customer's recency-weighted items (:mod:`recsys.training.blend`); coefficient and
    half-life are in ``config.json`` under ``served``.
``lightfm.npz``
    LightFM's own per-feature parameters (with their adagrad state) and the user/item feature matrices (CSR parts),
    enough to rebuild the ``LightFM`` object (:func:`restore_lightfm`).
``mappings.json``
    ``user_ids`` and ``item_ids`` (row/column order of every array), ``user_features`` and
    ``item_features`` (the feature vocabularies, column order of the feature matrices).
``config.json``
    Training and evaluation configuration, interaction weighting, what validation chose
    (``choice``: epochs, the item-item models' settings, blend settings), the coefficients a scorer
    applies (``served``), the data window, which fit this is (``fit``: ``backtest``,
    ``production`` or ``incremental``) and, for a served model, what data it has seen
    (``production``), run id.
``metrics.json``
    The evaluation of the model and every baseline on the test window.
``manifest.json``
    SHA-256 of each file above and ``checksum``, the SHA-256 over the hashes of the five
    files that define the model (not ``metrics.json``, which holds timings): the artifact's
    identity, recorded in ``ml.model_runs``.  Archives are written with fixed timestamps,
    so the same model always has the same checksum.
``report.html``
    The training report (written after the manifest; not part of the checksum).

Every array is written and read with ``allow_pickle=False``.
"""

from __future__ import annotations

import hashlib
import json
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from recsys.training.blend import Blend
from recsys.training.matrix import index_of
from recsys.training.models import LightFMRecommender, factor_scores

MODEL, NEIGHBOURS, LIGHTFM, MAPPINGS, CONFIG, METRICS, MANIFEST, REPORT = (
    "model.npz",
    "neighbours.npz",
    "lightfm.npz",
    "mappings.json",
    "config.json",
    "metrics.json",
    "manifest.json",
    "report.html",
)
#: The files that define the model: their hashes make the checksum (metrics hold timings).
MODEL_FILES = (MODEL, NEIGHBOURS, LIGHTFM, MAPPINGS, CONFIG)
#: Subfolder of a run's artifact with the model fitted up to the test cutoff: the one the
#: next nights' gates compare with (the served model has seen their test windows).
BACKTEST = "backtest"
#: LightFM's arrays kept in ``lightfm.npz``: the parameters and their adagrad state, so a
#: warm start (:mod:`recsys.training.warm`) continues where the fit stopped.
LIGHTFM_PARAMETERS = tuple(
    f"{side}_{name}"
    for side in ("user", "item")
    for name in ("embeddings", "biases", "embedding_gradients", "embedding_momentum", "bias_gradients", "bias_momentum")
)
#: Path and checksum of a model that was never saved (:func:`in_memory_model`).
IN_MEMORY = "<in-memory>"


@dataclass(frozen=True)
class LoadedModel:
    """A saved model's representations and id mappings, ready for blocked scoring."""

    path: Path
    user_embeddings: np.ndarray
    user_biases: np.ndarray
    item_embeddings: np.ndarray
    item_biases: np.ndarray
    item_prior: np.ndarray
    user_ids: np.ndarray
    item_ids: np.ndarray
    user_feature_names: tuple[str, ...]
    item_feature_names: tuple[str, ...]
    config: dict
    checksum: str
    neighbours: sp.csr_matrix | None = None  # None: a factor model without the neighbour part
    knn_coefficient: float = 0.0
    half_life_days: float = 90.0

    def user_index(self, ids) -> np.ndarray:
        """Row of each user id, -1 for users the model does not know."""
        return index_of(self.user_ids, ids)

    def item_index(self, ids) -> np.ndarray:
        """Column of each item id, -1 for items the model does not know."""
        return index_of(self.item_ids, ids)

    @property
    def scoring_item_biases(self) -> np.ndarray:
        """Item biases with the popularity prior folded in: what a blocked scorer adds per item."""
        return self.item_biases + self.item_prior

    def score(self, user_rows: np.ndarray, history: sp.csr_matrix | None = None) -> np.ndarray:
        """``(len(user_rows), n_items)`` scores; call it on blocks of users.

        ``history`` (rows aligned with ``user_rows``, columns in ``item_ids`` order) holds the
        users' recency weights (:func:`recsys.training.blend.history_weights`); without it the
        neighbour part is left out.
        """
        block = factor_scores(
            self.user_embeddings,
            self.user_biases,
            self.item_embeddings,
            self.scoring_item_biases,
            np.asarray(user_rows),
        )
        if history is not None and self.neighbours is not None and self.knn_coefficient:
            block += (history @ self.neighbours).toarray().astype(np.float32) * np.float32(self.knn_coefficient)
        return block


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _write_npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """An ``.npz`` without pickle and with fixed entry timestamps (``np.savez`` stamps the clock)."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as archive:
        for name in sorted(arrays):
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            with archive.open(info, "w", force_zip64=True) as handle:
                np.lib.format.write_array(handle, np.ascontiguousarray(arrays[name]), allow_pickle=False)


def _csr_parts(prefix: str, matrix: sp.csr_matrix) -> dict[str, np.ndarray]:
    return {
        f"{prefix}_data": matrix.data,
        f"{prefix}_indices": matrix.indices,
        f"{prefix}_indptr": matrix.indptr,
        f"{prefix}_shape": np.asarray(matrix.shape),
    }


def _csr_from(arrays, prefix: str) -> sp.csr_matrix:
    return sp.csr_matrix(
        (arrays[f"{prefix}_data"], arrays[f"{prefix}_indices"], arrays[f"{prefix}_indptr"]),
        shape=tuple(arrays[f"{prefix}_shape"]),
    )


def _scoring_arrays(model: LightFMRecommender) -> dict[str, np.ndarray]:
    """The float32 arrays of ``model.npz``, the popularity prior of the blend included."""
    user_embeddings, user_biases, item_embeddings, item_biases = model.representations()
    arrays = {
        "user_embeddings": user_embeddings,
        "user_biases": user_biases,
        "item_embeddings": item_embeddings,
        "item_biases": item_biases,
        "item_prior": model.item_prior,
    }
    return {name: np.asarray(array, dtype=np.float32) for name, array in arrays.items()}


def _feature_vocabularies(model: LightFMRecommender) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """User and item feature names the model uses (column order of its feature matrices).

    Identity features come first, so the used vocabulary is a prefix of the full one.
    """
    data = model.data
    return (
        tuple(data.user_feature_names[: model.user_feature_matrix().shape[1]]),
        tuple(data.item_feature_names[: model.item_feature_matrix().shape[1]]),
    )


def _served(blend: Blend) -> dict:
    """The blend's settings and the coefficients a scorer applies (``config.json``'s ``served``)."""
    return blend.settings.to_json() | {
        "knn_coefficient": blend.knn_coefficient,
        "scale": blend.scale,
        "knn_scale": blend.knn_scale,
    }


def in_memory_model(blend: Blend) -> LoadedModel:
    """A freshly fitted blend in the shape :func:`load_model` gives its saved artifact.

    The arrays, the popularity prior, the item neighbours and the mappings are exactly what
    :func:`save_model` would write, so ranking it offline (``recsys recommend``, benchmarks)
    gives what the nightly job gives for the saved model, without writing files.  It has no
    artifact folder: :func:`restore_lightfm` (and so scoring new products from features)
    needs a saved model.
    """
    model = blend.lightfm
    if getattr(model, "data", None) is None:
        raise ValueError("the model is not fitted: fit it before ranking with it")
    user_vocabulary, item_vocabulary = _feature_vocabularies(model)
    return LoadedModel(
        path=Path(IN_MEMORY),
        **_scoring_arrays(model),
        user_ids=np.asarray(model.data.user_ids, dtype=str),
        item_ids=np.asarray(model.data.item_ids, dtype=str),
        user_feature_names=user_vocabulary,
        item_feature_names=item_vocabulary,
        config={"served": _served(blend)},
        checksum=IN_MEMORY,
        neighbours=blend.neighbours,
        knn_coefficient=blend.knn_coefficient,
        half_life_days=blend.settings.half_life_days,
    )


def save_model(directory: Path, blend: Blend, config: dict, metrics: dict) -> str:
    """Write ``blend`` as an artifact in ``directory`` and return its checksum.

    Writing is idempotent: a rerun of the same run id rewrites the same files.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    model = blend.lightfm
    _write_npz(directory / MODEL, _scoring_arrays(model))
    _write_npz(directory / NEIGHBOURS, _csr_parts("neighbours", blend.neighbours))
    user_features, item_features = model.user_feature_matrix(), model.item_feature_matrix()
    _write_npz(
        directory / LIGHTFM,
        {name: getattr(model.model, name) for name in LIGHTFM_PARAMETERS}
        | _csr_parts("user_features", user_features)
        | _csr_parts("item_features", item_features),
    )
    user_vocabulary, item_vocabulary = _feature_vocabularies(model)
    _write_json(
        directory / MAPPINGS,
        {
            "user_ids": model.data.user_ids.tolist(),
            "item_ids": model.data.item_ids.tolist(),
            "user_features": list(user_vocabulary),
            "item_features": list(item_vocabulary),
        },
    )
    _write_json(directory / CONFIG, config | {"served": _served(blend)})
    _write_json(directory / METRICS, metrics)
    files = {name: sha256_file(directory / name) for name in (*MODEL_FILES, METRICS)}
    checksum = hashlib.sha256("".join(f"{files[n]}  {n}\n" for n in MODEL_FILES).encode()).hexdigest()
    _write_json(directory / MANIFEST, {"files": files, "checksum": checksum})
    return checksum


def _write_json(path: Path, value) -> None:
    path.write_text(json.dumps(value, indent=2, sort_keys=True, default=str) + "\n")


def verify(directory: Path) -> str:
    """The artifact's checksum after checking every file against the manifest.

    Raises
    ------
    ValueError
        When a file is missing or changed: a model that is not what was evaluated must
        not serve.
    """
    directory = Path(directory)
    if not (directory / MANIFEST).exists():
        raise ValueError(f"{directory} is not a model artifact: {MANIFEST} is missing")
    manifest = json.loads((directory / MANIFEST).read_text())
    for name, expected in manifest["files"].items():
        if not (directory / name).exists() or sha256_file(directory / name) != expected:
            raise ValueError(f"{directory / name} is missing or does not match its checksum in {MANIFEST}")
    return manifest["checksum"]


class ArtifactMismatch(ValueError):
    """An artifact whose files are not the ones the registry recorded."""


def load_model(directory: Path, expected_checksum: str | None = None) -> LoadedModel:
    """A verified artifact's representations, neighbours and mappings (no pickle anywhere).

    ``expected_checksum`` is the registry's ``ml.model_runs.artifact_checksum``: the
    manifest only proves the files agree with each other, so a model whose files and
    manifest were both rewritten is caught only by comparing with the registry.

    Raises
    ------
    ArtifactMismatch
        The artifact's checksum differs from ``expected_checksum`` (both are named).
    """
    directory = Path(directory)
    checksum = verify(directory)
    if expected_checksum is not None and checksum != expected_checksum:
        raise ArtifactMismatch(
            f"{directory}: artifact checksum {checksum} differs from {expected_checksum} recorded in "
            "ml.model_runs: the model was changed after it was evaluated; it is refused (retrain or restore it)"
        )
    mappings = json.loads((directory / MAPPINGS).read_text())
    config = json.loads((directory / CONFIG).read_text())
    with np.load(directory / MODEL, allow_pickle=False) as arrays:
        parts = {name: arrays[name] for name in arrays.files}
    with np.load(directory / NEIGHBOURS, allow_pickle=False) as arrays:
        neighbours = _csr_from(arrays, "neighbours").astype(np.float32)
    return LoadedModel(
        path=directory,
        **parts,
        user_ids=np.asarray(mappings["user_ids"], dtype=str),
        item_ids=np.asarray(mappings["item_ids"], dtype=str),
        user_feature_names=tuple(mappings["user_features"]),
        item_feature_names=tuple(mappings["item_features"]),
        config=config,
        checksum=checksum,
        neighbours=neighbours,
        knn_coefficient=float(config["served"]["knn_coefficient"]),
        half_life_days=float(config["served"]["half_life_days"]),
    )


def restore_lightfm(directory: Path):
    """``(LightFM, user_features, item_features)`` rebuilt from an artifact.

    For continuing training or cross-checking; scoring should use :func:`load_model`.
    """
    from lightfm import LightFM

    directory = Path(directory)
    verify(directory)
    config = json.loads((directory / CONFIG).read_text())["training"]
    with np.load(directory / LIGHTFM, allow_pickle=False) as arrays:
        user_features, item_features = _csr_from(arrays, "user_features"), _csr_from(arrays, "item_features")
        model = LightFM(
            no_components=config["no_components"],
            loss=config["loss"],
            learning_rate=config["learning_rate"],
            item_alpha=config["item_alpha"],
            user_alpha=config["user_alpha"],
            max_sampled=config["max_sampled"],
        )
        model._initialize(config["no_components"], item_features.shape[1], user_features.shape[1])
        for name in LIGHTFM_PARAMETERS:
            getattr(model, name)[...] = arrays[name]
    return model, user_features, item_features
