"""Tasks of ``warehouse_build`` (the dbt models themselves are cosmos tasks)."""

from __future__ import annotations

from airflow.sdk import Metadata, task

from recsys_airflow.assets import WAREHOUSE_MARTS
from recsys_airflow.dates import BUSINESS_DATE_KEY
from recsys_airflow.tasks.common import warehouse_url


@task
def mart_quality_gate(business_date: str) -> None:
    """Great Expectations mart suites; fails the run on an error."""
    from recsys_airflow.quality import gate

    gate("marts", business_date, warehouse_url())


@task(outlets=[WAREHOUSE_MARTS])
def announce_marts(business_date: str):
    """Tell ``recsys_training`` that validated marts for the business date are ready."""
    yield Metadata(WAREHOUSE_MARTS, extra={BUSINESS_DATE_KEY: business_date})
