"""Default task and DAG arguments shared by every recsys DAG.

Retries are for what a later try can cure: the warehouse or another service out of reach
for a moment (a lost worker is retried by the scheduler, whatever the policy says).  Any
other error (a malformed landing file, a failed data-quality gate, a bug) fails the task at
once: it would fail the same way after the back-off, and the people watching learn it
minutes sooner.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from airflow.sdk import CronTriggerTimetable, ExceptionRetryPolicy, RetryAction, RetryRule

from recsys.platform.settings import get_settings
from recsys_airflow.callbacks import log_task_failure, log_task_retry

AIRFLOW_SETTINGS = get_settings().airflow

#: Exceptions worth another try: the connection, not the data.
TRANSIENT_ERRORS: list[str | type[BaseException]] = [
    "psycopg.OperationalError",
    "psycopg2.OperationalError",
    "sqlalchemy.exc.OperationalError",
    ConnectionError,
    TimeoutError,
]

RETRY_POLICY = ExceptionRetryPolicy(
    rules=[RetryRule(exception=TRANSIENT_ERRORS, action=RetryAction.RETRY, reason="a service was out of reach")],
    default=RetryAction.FAIL,
)

DEFAULT_ARGS: dict[str, Any] = {
    "owner": "recsys",
    "retries": AIRFLOW_SETTINGS.retries,
    "retry_delay": dt.timedelta(seconds=AIRFLOW_SETTINGS.retry_delay_seconds),
    "retry_exponential_backoff": 2.0,
    "retry_policy": RETRY_POLICY,
    "on_failure_callback": log_task_failure,
    "on_retry_callback": log_task_retry,
}

#: The nightly schedule of ``shop_ingest``: midnight UTC.  There is no start date, so
#: switching the DAG on runs nothing until the next midnight (``run_immediately`` of zero:
#: never the one that just passed), whatever date the warehouse's data ends on.
NIGHTLY = CronTriggerTimetable("0 0 * * *", timezone="UTC", run_immediately=dt.timedelta(0))

#: Every DAG processes whole days, one run at a time, is shipped paused and never catches up.
DAG_KWARGS: dict[str, Any] = {
    "catchup": False,
    "max_active_runs": 1,
    "is_paused_upon_creation": True,
    "tags": ["recsys"],
}
