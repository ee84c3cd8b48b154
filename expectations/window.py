"""The recent window of an incremental fact table: the days its nightly run rebuilds.

``marts.fct_events`` and ``marts.fct_interactions_daily`` are rebuilt by day: a night
replaces the dbt var ``incremental_lookback_days`` days before the newest day the table
held (the day before the logical date on a nightly schedule) up to the logical date, and
leaves older days as they were.  Row checks (values present, accepted values, references
to the dimensions) read these days only, so a gate costs the night's data and not the
whole history: older rows were checked by the nights that wrote them, and the table's
primary key and NOT NULL constraints hold for every row.
"""

from __future__ import annotations

import datetime as dt

from recsys.platform.dbt_project import dbt_vars
from recsys.platform.settings import Settings

from .checks import QueryBatch, SuiteRequest
from .sqltext import render

#: ``incremental_lookback_days`` when no dbt project is at hand (the value dbt_project.yml ships with).
DEFAULT_LOOKBACK_DAYS = 3


def lookback_days(settings: Settings) -> int:
    """The dbt var ``incremental_lookback_days`` of the settings' dbt project."""
    declared = dbt_vars(settings.dbt_project_dir / "dbt_project.yml").get("incremental_lookback_days")
    days = DEFAULT_LOOKBACK_DAYS if declared is None else int(declared)
    if days < 0:
        raise ValueError(f"incremental_lookback_days must be >= 0 in {settings.dbt_project_dir}, got {days}")
    return days


def recent_from(logical_date: dt.date, lookback: int) -> dt.date:
    """The first day a nightly incremental run rebuilds: ``lookback`` days before the
    previous night's date."""
    return logical_date - dt.timedelta(days=lookback + 1)


def recent_rows(request: SuiteRequest, date_column: str) -> QueryBatch:
    """The rows of the days the run of ``request.logical_date`` rebuilt, and any later day."""
    start = recent_from(request.logical_date, lookback_days(request.settings))
    return QueryBatch(render("recent_rows.sql", {"table": request.table}, [date_column], recent_from=start))
