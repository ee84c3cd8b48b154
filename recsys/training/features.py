"""User and item features for the LightFM hybrid.

A feature is a string in the vocabulary kept with the model:

* identity ``id=<id>`` (every user and item has its own, so known entities keep their
  collaborative signal);
* categorical ``<column>=<value>`` (``country=Germany``, ``category=HOLDER``);
* numeric band ``<column>=q<n>`` (quartiles of the column: a price is not a category);
* text token ``<column>:<word>`` for ``title``/``description`` (lower-cased words of three
  letters or more, outside a stop list, present in at least two entities and at most half).

Columns that look like identifiers (more distinct values than half the rows) and
date/time columns are skipped.  Rows sum to one, as with ``lightfm.data.Dataset``'s
normalisation, so an entity with many tokens is not louder than one with few; but the
identity feature keeps ``IDENTITY_SHARE`` of the row and the other features share the
rest equally.  Plain normalisation gives an item with ten tokens an identity weight of
1/11: its own embedding then learns so slowly that the hybrid trails pure collaborative
filtering on warm items (seen on the generator's shop and on the Online Retail validation
window).
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import scipy.sparse as sp

TEXT_COLUMNS = ("title", "description")
#: Weight of an entity's own identity feature in its row when it has other features.
IDENTITY_SHARE = 0.5
NUMERIC_BANDS = 4
MIN_TOKEN_ENTITIES = 2
MAX_TOKEN_SHARE = 0.5
MIN_CATEGORICAL_DISTINCT_CAP = 50
STOPWORDS = frozenset(
    [
        "the",
        "and",
        "for",
        "with",
        "set",
        "of",
        "in",
        "on",
        "to",
        "a",
        "an",
        "is",
        "it",
        "its",
        "this",
        "that",
        "from",
        "by",
        "at",
        "or",
        "as",
        "are",
        "be",
        "you",
        "your",
        "our",
    ]
)
_WORD = re.compile(r"[a-z]{3,}")


def text_tokens(texts: pd.Series, column: str) -> pd.DataFrame:
    """``row, feature`` pairs of the informative words of ``texts`` (row = position)."""
    words = texts.fillna("").astype(str).str.lower().str.findall(_WORD)
    long = pd.DataFrame({"row": np.arange(len(words)), "word": words.to_numpy()}).explode("word").dropna()
    long = long[~long["word"].isin(STOPWORDS)].drop_duplicates()
    entities_per_word = long.groupby("word")["row"].transform("size")
    keep = (entities_per_word >= MIN_TOKEN_ENTITIES) & (entities_per_word <= MAX_TOKEN_SHARE * max(len(texts), 1))
    long = long[keep]
    return pd.DataFrame({"row": long["row"].to_numpy(), "feature": (column + ":" + long["word"]).to_numpy()})


def numeric_bands(values: pd.Series, column: str) -> pd.DataFrame:
    """``row, feature`` pairs placing each value in its quartile of the column."""
    numbers = pd.to_numeric(values, errors="coerce")
    present = numbers.notna().to_numpy()
    if present.sum() < NUMERIC_BANDS:
        return pd.DataFrame({"row": [], "feature": []})
    bands = pd.qcut(numbers[present].rank(method="first"), NUMERIC_BANDS, labels=False) + 1
    return pd.DataFrame({"row": np.flatnonzero(present), "feature": [f"{column}=q{b}" for b in bands]})


def categories(values: pd.Series, column: str) -> pd.DataFrame:
    """``row, feature`` pairs of a categorical column; identifier-like columns give none."""
    present = values.notna().to_numpy() & (values.astype(str).str.strip() != "").to_numpy()
    distinct = values[present].nunique()
    if distinct == 0 or distinct > max(MIN_CATEGORICAL_DISTINCT_CAP, 0.5 * len(values)):
        return pd.DataFrame({"row": [], "feature": []})
    labels = values[present].astype(str).str.strip()
    return pd.DataFrame({"row": np.flatnonzero(present), "feature": (column + "=" + labels).to_numpy()})


def attribute_tokens(attributes: pd.DataFrame) -> pd.DataFrame:
    """All ``row, feature`` pairs of an attribute frame, by the kind of each column."""
    parts = []
    for column in attributes.columns:
        values = attributes[column].reset_index(drop=True)
        if column in TEXT_COLUMNS:
            parts.append(text_tokens(values, column))
        elif pd.api.types.is_datetime64_any_dtype(values):
            continue
        elif pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
            parts.append(numeric_bands(values, column))
        else:
            parts.append(categories(values, column))
    if not parts:
        return pd.DataFrame({"row": np.array([], dtype=int), "feature": np.array([], dtype=str)})
    return pd.concat(parts, ignore_index=True).astype({"row": int, "feature": str})


def feature_matrix(ids: np.ndarray, attributes: pd.DataFrame | None) -> tuple[sp.csr_matrix, tuple[str, ...]]:
    """Row-normalised ``len(ids) x n_features`` float32 matrix and its vocabulary.

    Parameters
    ----------
    ids : ndarray of str, shape (n,)
        Entity ids in matrix-row order; their identity features come first, in that order.
    attributes : DataFrame or None
        Attribute rows aligned with ``ids``; ``None`` gives identity features only
        (pure collaborative filtering).
    """
    n = len(ids)
    tokens = attribute_tokens(attributes) if attributes is not None else pd.DataFrame({"row": [], "feature": []})
    vocabulary = np.unique(tokens["feature"].to_numpy(dtype=str))
    cols = np.searchsorted(vocabulary, tokens["feature"].to_numpy(dtype=str))
    metadata = sp.csr_matrix(
        (np.ones(len(cols), dtype=np.float32), (tokens["row"].to_numpy(dtype=np.int64), cols)),
        shape=(n, len(vocabulary)),
    )
    metadata.sum_duplicates()
    metadata.data[:] = 1.0  # a feature counts once per entity
    counts = np.asarray(metadata.sum(axis=1)).ravel()
    identity = sp.diags(np.where(counts > 0, IDENTITY_SHARE, 1.0))
    metadata = sp.diags(np.where(counts > 0, (1 - IDENTITY_SHARE) / np.maximum(counts, 1), 0.0)) @ metadata
    names = tuple(f"id={i}" for i in ids) + tuple(vocabulary.tolist())
    return sp.hstack([identity, metadata], format="csr", dtype=np.float32), names
