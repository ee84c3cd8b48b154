"""Inputs every task needs: the warehouse URL, the settings and the business date."""

from __future__ import annotations

from airflow.sdk import task

from recsys_airflow.dates import business_date
from recsys_airflow.hooks.warehouse import WarehouseHook


def warehouse_url() -> str:
    """URL of the ``warehouse`` Airflow connection."""
    return WarehouseHook().get_warehouse_url()


@task
def resolve_business_date(**context) -> str:
    """The run's business date as ``YYYY-MM-DD`` (pulled by templated dbt vars)."""
    return business_date(context).isoformat()
