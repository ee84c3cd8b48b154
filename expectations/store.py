"""Keep results for people: ``dq.validation_results``, one row per expectation."""

from __future__ import annotations

import json
import math
from typing import Any

import psycopg

from .results import SuiteResult
from .sqltext import read_sql


def write_results(conn: psycopg.Connection, result: SuiteResult) -> None:
    """Replace the rows of this (run, table, suite): a retried task converges."""
    key = {"run_id": result.run_id, "table_name": result.table, "suite_name": result.suite_name}
    conn.execute(read_sql("delete_validation_results.sql"), key)
    rows = [
        {
            **key,
            "logical_date": result.logical_date,
            "batch_name": o.batch_name,
            "expectation": o.expectation,
            "description": o.description,
            "severity": o.severity,
            "success": o.success,
            "observed_value": o.observed_value,
            "threshold": o.threshold,
            "details": json.dumps(_json_safe(o.details), default=str),
        }
        for o in result.outcomes
    ]
    with conn.cursor() as cur:
        cur.executemany(read_sql("insert_validation_results.sql"), rows)


def _json_safe(value: Any) -> Any:
    """PostgreSQL's json has no NaN or Infinity: a non-finite score becomes its name."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    return value
