"""Run a suite for a table and a logical date, record it, and stop on errors.

Used by the Airflow operator, the DAG tasks and ``recsys dq run`` alike, so a gate
behaves the same wherever it runs.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Mapping, Sequence

from recsys.platform.settings import Settings, get_settings
from recsys.platform.warehouse import connect, transaction

from . import gxrun
from .batches import as_tables
from .checks import SuiteRequest
from .page import write_page
from .results import DataQualityError, SuiteResult, failure_message, outcome
from .sqltext import read_sql, table_identifier
from .store import write_results
from .suites import STAGES, suite_module

log = logging.getLogger(__name__)


def run_suite(
    url: str,
    suite_name: str,
    logical_date: dt.date,
    table: str | None = None,
    run_id: str | None = None,
    *,
    settings: Settings | None = None,
    options: Mapping[str, object] | None = None,
    build_docs: bool = True,
) -> SuiteResult:
    """Validate ``table`` (default: the suite's own table) for ``logical_date``.

    Every expectation's outcome is written to ``dq.validation_results`` under
    ``run_id`` (default ``manual__<date>``; a rerun replaces its rows) and, unless
    ``build_docs`` is false, rendered into the Data Docs under ``settings.dq_dir`` and
    the offline page of every validation (:mod:`recsys_expectations.page`).
    Nothing is raised for failed expectations: call :func:`raise_for_errors`.

    Parameters
    ----------
    options
        ``batch_ids`` (raw suites: only these load batches) and ``k`` (recommendations).
    """
    module = suite_module(suite_name)
    settings = settings or get_settings()
    table = table or module.TABLE
    run_id = run_id or f"manual__{logical_date.isoformat()}"
    request = SuiteRequest(table, logical_date, settings, dict(options or {}))
    started = time.perf_counter()
    with connect(url) as conn:
        _require_table(conn, table)
        groups = module.build(conn, request)
    with as_tables(url, suite_name, groups) as tables:
        raw, docs_url = gxrun.validate(settings.dq_dir, url, suite_name, tables, run_id, build_docs)
    outcomes = tuple(
        outcome(r.batch_name, r.check.severity, r.check.note, r.config, r.result, r.exception, r.success) for r in raw
    )
    result = SuiteResult(
        suite_name, table, logical_date, run_id, outcomes, round(time.perf_counter() - started, 3), docs_url
    )
    with transaction(url) as conn:
        write_results(conn, result)
    if build_docs:
        write_page(url, settings)
    log.info(
        "dq %s on %s for %s: %d expectations, %d error(s), %d warning(s) in %.2fs",
        suite_name,
        table,
        logical_date,
        len(outcomes),
        len(result.errors),
        len(result.warnings),
        result.seconds,
    )
    return result


def _require_table(conn, table: str) -> None:
    table_identifier(table)
    if not conn.execute(read_sql("table_exists.sql"), {"table": table}).fetchone()[0]:
        raise LookupError(f"{table} does not exist: build it (loader, dbt build or publish) before its quality gate")


def run_stage(
    url: str,
    stage: str,
    logical_date: dt.date,
    run_id: str | None = None,
    *,
    settings: Settings | None = None,
    options: Mapping[str, object] | None = None,
    build_docs: bool = True,
) -> list[SuiteResult]:
    """Every suite of a pipeline stage (``raw``, ``marts``, ``model_inputs``,
    ``recommendations``) or a single suite name, on the suites' default tables."""
    suites = STAGES.get(stage, (stage,))
    return [
        run_suite(url, s, logical_date, None, run_id, settings=settings, options=options, build_docs=build_docs)
        for s in suites
    ]


def raise_for_errors(results: SuiteResult | Sequence[SuiteResult]) -> None:
    """Raise :class:`DataQualityError` naming every failed ``error`` expectation, its
    table and observed value; warnings are only logged."""
    results = [results] if isinstance(results, SuiteResult) else list(results)
    for r in results:
        for w in r.warnings:
            log.warning(
                "dq warning %s on %s: %s observed %s; expected %s",
                r.suite_name,
                r.table,
                w.expectation,
                w.observed_value,
                w.threshold,
            )
    failed = [r for r in results if r.errors]
    if failed:
        raise DataQualityError("\n".join(failure_message(r) for r in failed))


def gate(
    url: str,
    stage: str,
    logical_date: dt.date | str,
    run_id: str | None = None,
    *,
    table: str | None = None,
    settings: Settings | None = None,
    options: Mapping[str, object] | None = None,
    build_docs: bool = True,
) -> list[SuiteResult]:
    """A pipeline gate: run a stage (or one suite), record everything, raise on an error.

    This is the function DAG tasks call after a load, after ``dbt build``, before
    training and before publishing.  With ``table``, ``stage`` is one suite run on that
    table: ``recsys.publishing.runs.finish_run(validate=lambda t: gate(url, "recommendations",
    day, run_id, table=t))`` checks a run's table before the swap.
    """
    if isinstance(logical_date, str):
        logical_date = dt.date.fromisoformat(logical_date)
    if table:
        results = [
            run_suite(
                url, stage, logical_date, table, run_id, settings=settings, options=options, build_docs=build_docs
            )
        ]
    else:
        results = run_stage(url, stage, logical_date, run_id, settings=settings, options=options, build_docs=build_docs)
    raise_for_errors(results)
    return results
