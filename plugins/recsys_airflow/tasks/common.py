"""Inputs every task needs: the warehouse URL, the settings and the business date."""

from __future__ import annotations

from airflow.sdk import task

from recsys_airflow.dates import business_date
from recsys_airflow.hooks.warehouse import WarehouseHook


def warehouse_url(component: str) -> str:
    """The URL ``component`` connects with: the ``warehouse`` connection as that component's
    role (recsys.platform.roles)."""
    from recsys.platform.roles import role_url
    from recsys.platform.settings import get_settings

    return role_url(WarehouseHook().get_warehouse_url(), component, get_settings())


@task
def resolve_business_date(**context) -> str:
    """The run's business date as ``YYYY-MM-DD`` (pulled by templated dbt vars)."""
    return business_date(context).isoformat()
