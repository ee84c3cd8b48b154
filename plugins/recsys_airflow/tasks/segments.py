"""The behavioural-segment tasks of ``warehouse_build``: fit, then rebuild what joins the fit.

The fit reads what dbt just built (``int_customer_mix``, ``int_customer_activity``), so it
runs after the dbt task group; ``marts.dim_customers`` and the marts below it are then
rebuilt (``dbt build --select source:ml+``) to carry tonight's segments instead of
yesterday's.
"""

from __future__ import annotations

import datetime as dt

from airflow.sdk import task

from recsys_airflow.tasks.common import warehouse_url


@task
def fit_behaviour_segments(business_date: str) -> dict:
    """K-means segments of the business date, matched to the previous fit (``ml.behaviour_segment_*``)."""
    from recsys.platform.settings import get_settings
    from recsys.segments.store import fit_night

    fit = fit_night(warehouse_url("trainer"), dt.date.fromisoformat(business_date), get_settings().segments)
    return {"k": fit.k, "silhouette": fit.silhouette, "stability": fit.stability, "customers": len(fit.assignments)}


@task
def rebuild_segmented_marts(business_date: str) -> dict:
    """``dbt build`` of the models that read the fit (``dim_customers+``) as the transformer."""
    from recsys.platform import dbt_runner
    from recsys.platform.settings import get_settings
    from recsys.segments.store import DBT_REBUILD

    settings = get_settings()
    result = dbt_runner.run_dbt(
        settings,
        warehouse_url("transformer"),
        ("build",),
        as_of_date=dt.date.fromisoformat(business_date),
        select=DBT_REBUILD,
        target_path=settings.data_dir / "dbt_target_segments",  # cosmos keeps reading dbt/target
    )
    return result.summary()
