"""Behavioural segments: K-means with k chosen by silhouette, labels kept from night to night.

:func:`fit_segments` is the nightly step, data in and data out:

1. The scaling (:mod:`recsys.segments.features`) is learnt on the customers with enough
   history (``min_products`` distinct products); the clusters are fitted on them (a seeded
   sample of at most ``fit_sample``).
2. ``k`` is the best silhouette (seeded sample of ``silhouette_sample``) from ``k_min`` to
   ``k_max``.  Yesterday's ``k`` stays while its silhouette, starting from yesterday's
   centres, is within ``k_tolerance`` of the best: a segmentation that changes its number
   of segments on noise is useless to a marketer.
3. Each of tonight's clusters takes the code of the nearest of yesterday's centres under a
   one-to-one assignment (the Hungarian method on centre distances); a cluster without a
   partner gets a new code.  So "B3" keeps meaning the same customers.
4. Every customer with an interaction joins the nearest cluster.

Codes are ``B1``, ``B2``, ...; a retired code is never reused.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import time
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.optimize import linear_sum_assignment
from sklearn.cluster import KMeans
from sklearn.metrics import silhouette_score

from recsys.platform.settings import SegmentsConfig
from recsys.segments import describe
from recsys.segments.features import Profiles, Scaling, coordinates, fit_scaling, from_space, to_space

log = logging.getLogger(__name__)

CODE_PREFIX = "B"
_CODE = re.compile(rf"^{CODE_PREFIX}(\d+)$")


@dataclass(frozen=True)
class PreviousFit:
    """Yesterday's fit as stored: centres in transformed units (index = segment code) and
    each customer's segment."""

    fit_date: dt.date
    centres: pd.DataFrame
    assignments: pd.Series  # customer_id -> segment
    codes_used: tuple[str, ...] = ()


@dataclass(frozen=True)
class SegmentFit:
    """One night's segments.

    ``assignments`` maps every customer with an interaction to a code; ``segments`` has one
    row per code (``segment, name, description, customers``), ``centres`` the K-means centres
    in transformed units and ``profiles`` the members' mean profile (natural units), both
    indexed by code.
    """

    fit_date: dt.date
    k: int
    silhouette: float
    silhouettes: dict[int, float]
    scaling: Scaling
    assignments: pd.Series
    centres: pd.DataFrame
    profiles: pd.DataFrame
    segments: pd.DataFrame
    n_fitted: int
    previous_fit_date: dt.date | None
    stability: float | None
    seconds: float

    def features_json(self) -> dict:
        """What the fit was made of, for ``ml.behaviour_segment_fits.features``."""
        return self.scaling.to_json() | {"silhouettes": {str(k): v for k, v in self.silhouettes.items()}}


def fit_segments(
    profiles: Profiles, fit_date: dt.date, config: SegmentsConfig, previous: PreviousFit | None = None
) -> SegmentFit:
    """Tonight's segments of ``profiles`` (module docstring)."""
    started = time.perf_counter()
    if config.k_min > config.k_max:
        raise ValueError(f"segments k_min {config.k_min} is above k_max {config.k_max}")
    eligible = profiles.values["products"].to_numpy() >= config.min_products
    if eligible.sum() < config.k_max * 2:
        raise ValueError(
            f"{int(eligible.sum())} customers have {config.min_products}+ products: too few to fit up to "
            f"{config.k_max} segments (lower RECSYS_SEGMENTS__MIN_PRODUCTS or K_MAX)"
        )
    weights = {"rfm": config.rfm_weight, "category": config.category_weight, "price_band": config.price_weight}
    scaling = fit_scaling(Profiles(profiles.values[eligible]), weights)
    points = coordinates(profiles, scaling)
    rng = np.random.default_rng(config.seed)
    fitted = np.flatnonzero(eligible)
    if len(fitted) > config.fit_sample:
        fitted = np.sort(rng.choice(fitted, config.fit_sample, replace=False))
    scored = fitted if len(fitted) <= config.silhouette_sample else rng.choice(fitted, config.silhouette_sample, False)
    previous_centres = to_space(previous.centres, scaling) if previous is not None else None

    models: dict[int, KMeans] = {}
    silhouettes: dict[int, float] = {}
    for k in range(config.k_min, config.k_max + 1):
        warm = previous_centres is not None and len(previous_centres) == k
        models[k] = _kmeans(k, points[fitted], config, previous_centres if warm else None)
        silhouettes[k] = float(silhouette_score(points[scored], models[k].predict(points[scored])))
    best = max(silhouettes, key=lambda k: (silhouettes[k], -k))
    k = best
    if previous is not None and len(previous.centres) in silhouettes:
        kept = len(previous.centres)
        if silhouettes[kept] >= silhouettes[best] - config.k_tolerance:
            k = kept
    model = models[k]
    labels = model.predict(points)
    codes = _codes(model.cluster_centers_, np.bincount(labels, minlength=k), previous_centres, previous)
    assignments = pd.Series(np.asarray(codes, dtype=object)[labels], index=profiles.values.index, name="segment")
    centres = from_space(model.cluster_centers_, scaling).set_axis(codes)
    member_profiles = profiles.values.groupby(assignments.to_numpy()).mean()
    segments = describe.describe(member_profiles, assignments.value_counts(), profiles.values)
    stability = _stability(assignments, previous.assignments) if previous is not None else None
    fit = SegmentFit(
        fit_date=fit_date,
        k=k,
        silhouette=silhouettes[k],
        silhouettes=silhouettes,
        scaling=scaling,
        assignments=assignments,
        centres=centres,
        profiles=member_profiles,
        segments=segments,
        n_fitted=int(eligible.sum()),
        previous_fit_date=previous.fit_date if previous is not None else None,
        stability=stability,
        seconds=time.perf_counter() - started,
    )
    log.info(
        "segments of %s: k=%d (silhouette %.3f; best k=%d), %d customers (%d fitted), stability %s, %.1f s",
        fit_date,
        k,
        fit.silhouette,
        best,
        len(assignments),
        fit.n_fitted,
        "n/a" if stability is None else f"{stability:.3f}",
        fit.seconds,
    )
    return fit


def _kmeans(k: int, points: np.ndarray, config: SegmentsConfig, init: np.ndarray | None) -> KMeans:
    """K-means from yesterday's centres when given (one run), else k-means++ (``n_init`` runs)."""
    if init is not None:
        return KMeans(n_clusters=k, init=init, n_init=1, random_state=config.seed).fit(points)
    return KMeans(n_clusters=k, n_init=config.n_init, random_state=config.seed).fit(points)


def _codes(
    centres: np.ndarray, sizes: np.ndarray, previous_centres: np.ndarray | None, previous: PreviousFit | None
) -> list[str]:
    """A code per centre: the matched previous centre's code, else a code never used before
    (the larger cluster first, so a first fit numbers its segments by size)."""
    codes: list[str | None] = [None] * len(centres)
    used = set(previous.codes_used) if previous is not None else set()
    if previous is not None and previous_centres is not None and len(previous_centres):
        used |= set(previous.centres.index)
        distance = np.linalg.norm(centres[:, None, :] - previous_centres[None, :, :], axis=2)
        rows, cols = linear_sum_assignment(distance)
        for row, col in zip(rows, cols):
            codes[row] = str(previous.centres.index[col])
    numbers = [int(m.group(1)) for code in used if (m := _CODE.match(code))]
    next_number = max(numbers, default=0) + 1
    for row in np.argsort(-sizes, kind="stable"):
        if codes[row] is None:
            codes[row] = f"{CODE_PREFIX}{next_number}"
            next_number += 1
    return [str(code) for code in codes]


def _stability(current: pd.Series, previous: pd.Series) -> float | None:
    """Share of the customers in both fits who kept their segment."""
    both = current.index.intersection(previous.index)
    if len(both) == 0:
        return None
    return float((current.loc[both].to_numpy() == previous.loc[both].to_numpy()).mean())
