"""Tasks of ``warehouse_build`` (the dbt models are cosmos tasks, the gate an operator)."""

from __future__ import annotations

from airflow.sdk import Metadata, task

from recsys_airflow.assets import WAREHOUSE_MARTS
from recsys_airflow.dates import BUSINESS_DATE_KEY


@task(outlets=[WAREHOUSE_MARTS])
def announce_marts(business_date: str):
    """Tell ``recsys_training`` that validated marts for the business date are ready."""
    yield Metadata(WAREHOUSE_MARTS, extra={BUSINESS_DATE_KEY: business_date})
