"""The warehouse side of the behavioural segments: the only database code of the package.

Reads the customers' figures and interest mix (dbt's ``int_customer_activity`` and
``int_customer_mix``) and the previous fit; writes a fit to ``ml.behaviour_segment_fits``,
``ml.behaviour_segment_centroids`` and ``ml.behaviour_segments`` in one transaction that
first deletes any fit of the same date, so a rerun converges.  ``marts.dim_customers``
joins the latest fit up to its date.
"""

from __future__ import annotations

import datetime as dt
import logging

import numpy as np
import pandas as pd
import pyarrow as pa
from psycopg.types.json import Jsonb

from recsys.pgio import frames
from recsys.platform import warehouse
from recsys.platform.settings import SegmentsConfig
from recsys.platform.sqlfiles import SqlFiles
from recsys.segments.clusters import PreviousFit, SegmentFit, fit_segments
from recsys.segments.features import Profiles, profiles

log = logging.getLogger(__name__)
_sql = SqlFiles(__name__)

#: dbt selection of the models that read a fit (``dim_customers`` and everything below it,
#: ``dim_behaviour_segments``): rebuilt after :func:`fit_night` so they carry tonight's fit.
DBT_REBUILD = ("source:ml+",)

MIX_TYPES = {
    "customer_id": pa.string(),
    "dimension": pa.string(),
    "value": pa.string(),
    "share": pa.float64(),
    "customer_products": pa.int64(),
}


def read_profiles(url: str, as_of: dt.date) -> Profiles:
    """The profiles of every customer with an interaction, from the marts built as of ``as_of``."""
    with warehouse.connect(url) as conn:
        activity = frames.query_frame(conn, _sql("segments_activity.sql"))
        mix = frames.read_frame(conn, _sql("segments_mix.sql"), None, MIX_TYPES)
    log.info("segment inputs as of %s: %d customers with activity, %d mix rows", as_of, len(activity), len(mix))
    return profiles(activity, mix, as_of)


def read_previous(url: str, fit_date: dt.date) -> PreviousFit | None:
    """The latest fit before ``fit_date``, or ``None`` before the first."""
    with warehouse.connect(url) as conn:
        row = conn.execute(_sql("segments_previous_fit.sql"), {"fit_date": fit_date}).fetchone()
        if row is None:
            return None
        params = {"fit_date": row[0]}
        centres = conn.execute(_sql("segments_centres.sql"), params).fetchall()
        assigned = frames.query_frame(conn, _sql("segments_assignments.sql"), params)
        used = tuple(code for (code,) in conn.execute(_sql("segments_codes_used.sql")))
    return PreviousFit(
        fit_date=row[0],
        centres=pd.DataFrame([centre for _, centre in centres], index=[code for code, _ in centres]),
        assignments=pd.Series(assigned["segment"].to_numpy(), index=assigned["customer_id"].astype(str)),
        codes_used=used,
    )


def write_fit(url: str, fit: SegmentFit, keep_fits: int) -> None:
    """Replace the fit of ``fit.fit_date`` and prune assignments beyond the ``keep_fits`` newest fits."""
    with warehouse.transaction(url) as conn:
        conn.execute(_sql("segments_delete_fit.sql"), {"fit_date": fit.fit_date})
        conn.execute(
            _sql("segments_insert_fit.sql"),
            {
                "fit_date": fit.fit_date,
                "k": fit.k,
                "silhouette": fit.silhouette,
                "previous_fit_date": fit.previous_fit_date,
                "stability": fit.stability,
                "n_fitted": fit.n_fitted,
                "n_assigned": len(fit.assignments),
                "features": Jsonb(fit.features_json()),
                "fit_seconds": round(fit.seconds, 3),
            },
        )
        for segment in fit.segments.itertuples(index=False):
            conn.execute(
                _sql("segments_insert_centroid.sql"),
                {
                    "fit_date": fit.fit_date,
                    "segment": segment.segment,
                    "name": segment.name,
                    "description": segment.description,
                    "customers": int(segment.customers),
                    "centre": Jsonb(_floats(fit.centres.loc[segment.segment])),
                    "profile": Jsonb(_floats(fit.profiles.loc[segment.segment])),
                },
            )
        with conn.cursor().copy(_sql("segments_copy_assignments.sql")) as copy:
            for customer_id, segment in fit.assignments.items():
                copy.write_row((fit.fit_date, customer_id, segment))
        conn.execute(_sql("segments_prune.sql"), {"keep": keep_fits})
    log.info("segments of %s written: %d customers in %d segments", fit.fit_date, len(fit.assignments), fit.k)


def _floats(row: pd.Series) -> dict[str, float]:
    return {str(k): float(v) for k, v in row.items() if np.isfinite(v)}


def fit_night(url: str, fit_date: dt.date, config: SegmentsConfig) -> SegmentFit:
    """The nightly step: read, fit against the previous fit, write (``url`` is the trainer's)."""
    fit = fit_segments(read_profiles(url, fit_date), fit_date, config, read_previous(url, fit_date))
    write_fit(url, fit, config.keep_fits)
    return fit


def fits(url: str) -> pd.DataFrame:
    """Every fit, oldest first (``recsys segments fits``)."""
    with warehouse.connect(url) as conn:
        return frames.query_frame(conn, _sql("segments_fits.sql"))
