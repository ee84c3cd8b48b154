"""Default task arguments shared by every recsys DAG."""

from __future__ import annotations

import datetime as dt
from typing import Any

from recsys_airflow.callbacks import log_task_failure, log_task_retry

DEFAULT_ARGS: dict[str, Any] = {
    "owner": "recsys",
    "retries": 2,
    "retry_delay": dt.timedelta(minutes=2),
    "retry_exponential_backoff": True,
    "on_failure_callback": log_task_failure,
    "on_retry_callback": log_task_retry,
}

#: Every DAG processes whole days, one run at a time, never catching up on its own.
DAG_KWARGS: dict[str, Any] = {
    "start_date": dt.datetime(2010, 1, 1, tzinfo=dt.UTC),
    "catchup": False,
    "max_active_runs": 1,
    "tags": ["recsys"],
}
