"""A data-quality gate as an Airflow task.

Great Expectations 1.x is called directly through :func:`expectations.run_suite`, not
through the official ``airflow-provider-great-expectations``: its 1.0 release pins
``structlog<25.5`` while Airflow 3.3.2 needs ``structlog>=26.1``, so the two cannot be
installed together cleanly.  The operator is a thin shell: the suites, the runner, the
result table and Data Docs live in the ``expectations`` package and behave the same
under ``recsys dq run``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from airflow.sdk import BaseOperator
from airflow.sdk.exceptions import AirflowFailException

from recsys_airflow.dates import business_date
from recsys_airflow.hooks.warehouse import WarehouseHook


class DataQualityOperator(BaseOperator):
    """Validate a table (or every table of a pipeline stage) for the run's business date.

    Every expectation's outcome is written to ``dq.validation_results`` and rendered into
    the Data Docs under ``Settings.dq_dir`` whether the gate passes or not.  A failed
    ``error`` expectation fails the task with :class:`AirflowFailException` (a data
    failure does not get better on retry), whose message names the table, the
    expectation and the observed value; downstream tasks do not run.  Warnings are logged.

    Parameters
    ----------
    suite
        A suite name (``raw_events``, ``recommendations``...) or a stage (``raw``,
        ``marts``, ``model_inputs``, ``recommendations``: all suites of that gate).
    table
        ``schema.table`` to validate instead of the suite's own table (a staging copy of
        the recommendations before the swap).  Only with a single suite.
    logical_date
        ``YYYY-MM-DD``; default: the run's business date (logical date or asset event).
    options
        Extra suite inputs, e.g. ``{"k": 20}`` for the recommendations suite.
    """

    template_fields: Sequence[str] = ("suite", "table", "logical_date", "options")
    ui_color = "#f0e4ff"

    def __init__(
        self,
        *,
        suite: str,
        table: str | None = None,
        logical_date: str | None = None,
        options: dict[str, Any] | None = None,
        warehouse_conn_id: str = WarehouseHook.default_conn_name,
        **kwargs,
    ) -> None:
        super().__init__(**kwargs)
        self.suite = suite
        self.table = table
        self.logical_date = logical_date
        self.options = options
        self.warehouse_conn_id = warehouse_conn_id

    def execute(self, context) -> list[dict]:
        """Run the suite(s); return a small summary per suite (XCom)."""
        from recsys.platform.settings import get_settings
        from recsys_expectations import (
            DataQualityError,
            raise_for_errors,
            run_stage,
            run_suite,
        )
        from recsys_expectations.gates import raw_gate

        day = dt.date.fromisoformat(self.logical_date) if self.logical_date else business_date(context)
        run_id = context.get("run_id") or f"manual__{day.isoformat()}"
        from recsys.platform.roles import role_url

        url = role_url(WarehouseHook(self.warehouse_conn_id).get_warehouse_url(), "quality", get_settings())
        settings = get_settings()
        try:
            if self.suite == "raw" and not self.table:
                results = raw_gate(url, settings, day, run_id)
            elif self.table:
                results = [run_suite(url, self.suite, day, self.table, run_id, settings=settings, options=self.options)]
            else:
                results = run_stage(url, self.suite, day, run_id, settings=settings, options=self.options)
        except DataQualityError as exc:
            raise AirflowFailException(str(exc)) from exc
        for r in results:
            self.log.info(
                "%s on %s: %d expectations, %d error(s), %d warning(s), %.2fs; Data Docs: %s",
                r.suite_name,
                r.table,
                len(r.outcomes),
                len(r.errors),
                len(r.warnings),
                r.seconds,
                r.docs_url,
            )
        try:
            raise_for_errors(results)
        except DataQualityError as exc:
            raise AirflowFailException(str(exc)) from exc
        return [
            {"suite": r.suite_name, "table": r.table, "warnings": len(r.warnings), "docs_url": r.docs_url}
            for r in results
        ]
