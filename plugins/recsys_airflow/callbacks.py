"""Failure and retry callbacks that say what failed, for the people watching the DAGs."""

from __future__ import annotations

import logging

log = logging.getLogger("recsys_airflow")


def _describe(context) -> str:
    ti = context.get("task_instance") or context.get("ti")
    exc = context.get("exception")
    run_id = context.get("run_id") or getattr(context.get("dag_run"), "run_id", "?")
    where = f"{getattr(ti, 'dag_id', '?')}.{getattr(ti, 'task_id', '?')} (run {run_id}, try {getattr(ti, 'try_number', '?')})"
    return f"{where}: {type(exc).__name__ if exc else 'failed'}: {exc}" if exc else where


def log_task_failure(context) -> None:
    """``on_failure_callback``: one line naming the DAG, task, run and error."""
    log.error("recsys task failed: %s", _describe(context))


def log_task_retry(context) -> None:
    """``on_retry_callback``: the same line at warning level."""
    log.warning("recsys task will retry: %s", _describe(context))


def log_dag_failure(context) -> None:
    """DAG-level ``on_failure_callback``."""
    dag_run = context.get("dag_run")
    log.error(
        "recsys DAG run failed: %s %s (%s)",
        getattr(dag_run, "dag_id", "?"),
        getattr(dag_run, "run_id", "?"),
        context.get("reason", "a task failed"),
    )
