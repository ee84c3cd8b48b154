"""The whole nightly pipeline on generated or bundled data, run by Airflow (``make demo``).

The demo starts Airflow's components on this machine (:mod:`recsys.platform.airflow_local`:
LocalExecutor, metadata in the warehouse server's ``airflow_meta`` database) and runs the
real DAGs over a sequence of business dates, as an operator re-running those nights would:
each run's logical date is its business date and its run id ``demo__<date>``, so the UI
(``make airflow``) lists them with their task logs and real durations.  The DAGs ship
paused; each is switched on only while the demo runs it, so the asset event its run emits
finds the next DAG paused and starts nothing on its own (the demo runs that DAG next, for
the same business date), and all are paused again at the end.

Running it twice gives the same row counts: landing files are deterministic, loads skip
known checksums and every DAG converges for a given date (a rerun replaces the runs of
the same dates).
"""

from __future__ import annotations

import datetime as dt
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from recsys.cli.campaign_demo import CampaignOutcome, run_campaigns
from recsys.platform.airflow_local import FINISHED_TASK_STATES, LocalAirflow
from recsys.platform.settings import Settings
from recsys.platform.sqlfiles import SqlFiles

_sql = SqlFiles(__name__)

#: DAGs run for every business date, then once more for the last date only.
DAILY_DAGS = ("shop_ingest", "warehouse_build")
NIGHTLY_DAGS = ("recsys_training", "recs_publish")
#: The CRM DAGs, run by the campaigns part of the demo (generated shop only).
CAMPAIGN_DAGS = ("crm_campaigns", "crm_results")
DAG_IDS = frozenset(DAILY_DAGS + NIGHTLY_DAGS + CAMPAIGN_DAGS)
RUN_ID_PREFIX = "demo__"


class DemoError(RuntimeError):
    """A DAG run of the demo failed; the message names the failed tasks and their logs."""


@dataclass
class StageTimer:
    """Wall time per named stage, in the order they ran."""

    seconds: dict[str, float] = field(default_factory=dict)

    def add(self, name: str, seconds: float) -> None:
        self.seconds[name] = self.seconds.get(name, 0.0) + seconds


class StageProgress:
    """One progress bar per stage (a DAG run counts its finished tasks), and the time it took."""

    def __init__(self, console: Console | None = None):
        self.timer = StageTimer()
        self.bars = Progress(
            TextColumn("{task.description:<34}"),
            BarColumn(bar_width=30),
            MofNCompleteColumn(),
            TextColumn("{task.fields[status]}"),
            TimeElapsedColumn(),
            console=console,
        )

    def __enter__(self) -> StageProgress:
        self.bars.start()
        return self

    def __exit__(self, *exc) -> None:
        self.bars.stop()

    @contextmanager
    def stage(self, name: str, label: str | None = None, total: int = 1) -> Iterator[Callable[..., None]]:
        """A bar for one stage; the body gets ``update(completed, total, status)``."""
        task = self.bars.add_task(label or name, total=total, status="")
        started = time.perf_counter()
        try:
            yield lambda completed, total=None, status="": self._update(task, completed, total, status)
        except BaseException:
            self.bars.update(task, status="[red]failed")
            raise
        finally:
            self.timer.add(name, time.perf_counter() - started)
        self.bars.update(task, completed=self.bars.tasks[task].total, status="[green]done")
        self.bars.stop_task(task)

    def _update(self, task: TaskID, completed: int, total: int | None, status: str) -> None:
        self.bars.update(task, completed=completed, total=total, status=status)


@dataclass(frozen=True)
class DagRunResult:
    """A finished DAG run of the demo, as Airflow recorded it."""

    dag_id: str
    run_id: str
    business_date: dt.date
    seconds: float
    tasks: int


def stage_online_retail(source: Path, landing_dir: Path) -> list[dt.date]:
    """Put the UCI Online Retail file in the order-lines landing folder.

    Returns the business dates to run: the last three days of the data.
    """
    if not source.exists():
        raise FileNotFoundError(
            f"{source} not found: DEMO_DATASET=online_retail needs the shared data folder beside the repo"
        )
    target = landing_dir / "order_lines" / source.name
    target.parent.mkdir(parents=True, exist_ok=True)
    if not target.exists():
        shutil.copyfile(source, target)
    last = dt.date(2011, 12, 9)
    return [last - dt.timedelta(days=n) for n in (2, 1, 0)]


def stage_generated(settings: Settings, size: str, days: int) -> list[dt.date]:
    """Write a generated shop to the landing folder; the last ``days`` days come as daily files.

    Returns the business dates to run: those daily dates.
    """
    from recsys.generator.shop import generate_shop, landing_dates
    from recsys.generator.spec import shop_spec

    spec = shop_spec(size)
    generate_shop(spec, settings.landing_dir, daily_days=days, with_truth=False)
    _, daily = landing_dates(spec, days)
    return list(daily)


def run_id_for(date: dt.date) -> str:
    return f"{RUN_ID_PREFIX}{date.isoformat()}"


def run_dag(stack: LocalAirflow, dag_id: str, date: dt.date, update: Callable[..., None]) -> DagRunResult:
    """Run ``dag_id`` for business date ``date`` (a rerun replaces the earlier run) and wait.

    The DAG is unpaused only for the run, so the asset events it emits trigger nothing.

    Raises
    ------
    DemoError
        The run failed: the failed tasks and where their logs are.
    """
    run_id = run_id_for(date)
    stack.replace_runs(dag_id, date)
    stack.api.set_paused(dag_id, False)
    try:
        stack.api.trigger(dag_id, run_id, date)

        def on_progress(task_instances: list[dict]) -> None:
            done = sum(ti["state"] in FINISHED_TASK_STATES for ti in task_instances)
            running = [ti["task_id"] for ti in task_instances if ti["state"] == "running"]
            update(done, max(len(task_instances), 1), ", ".join(running)[:40])

        run = stack.wait_for_run(dag_id, run_id, on_progress=on_progress)
    finally:
        stack.api.set_paused(dag_id, True)
    task_instances = stack.api.task_instances(dag_id, run_id)
    if run["state"] != "success":
        failed = [ti for ti in task_instances if ti["state"] in {"failed", "upstream_failed"}]
        logs = stack.home / "logs" / f"dag_id={dag_id}" / f"run_id={run_id}"
        raise DemoError(
            f"{dag_id} failed for {date} (run {run_id}): "
            + ", ".join(f"{ti['task_id']} {ti['state']}" for ti in failed)
            + f"\ntask logs: {logs}/ (or the run's page in `make airflow`)"
        )
    seconds = (
        dt.datetime.fromisoformat(run["end_date"]) - dt.datetime.fromisoformat(run["start_date"])
    ).total_seconds()
    return DagRunResult(dag_id, run_id, date, seconds, len(task_instances))


def run_demo(
    stack: LocalAirflow,
    settings: Settings,
    dataset: str,
    size: str,
    days: int,
    shared_dir: Path,
    progress: StageProgress,
) -> tuple[list[DagRunResult], CampaignOutcome | None]:
    """Stage the data, start Airflow (``stack``), then run every DAG for each business date.

    The daily DAGs run for every date; training and publishing once, for the last date
    (they train on and score from everything loaded by then); on the generated shop, the
    campaigns then go out and their simulated responses are loaded and measured
    (:mod:`recsys.cli.campaign_demo`).  Airflow is asked to stop at
    the end (:meth:`LocalAirflow.terminate`); the caller closes ``stack``, which waits for
    its processes, after printing what it wants while they exit.
    """
    from recsys.platform.dbt_runner import parse_project
    from recsys.platform.warehouse import ensure_schemas

    ensure_schemas(stack.warehouse_url)
    # The metadata database migrates while the data is staged and dbt parses.
    migrated: list[BaseException] = []
    migration = threading.Thread(target=_capture(stack.migrate, migrated))
    migration.start()
    with progress.stage("stage data", f"stage data ({dataset})"):
        dates = _stage(settings, dataset, size, days, shared_dir)
    with progress.stage("dbt parse"):
        parse_project(settings)
    with progress.stage("airflow start", f"start Airflow ({stack.executor})"):
        migration.join()
        if migrated:
            raise migrated[0]
        stack.open()
        stack.wait_for_dags(set(DAG_IDS))
    plan = [(dag_id, date) for date in dates for dag_id in DAILY_DAGS]
    plan += [(dag_id, dates[-1]) for dag_id in NIGHTLY_DAGS]
    results: list[DagRunResult] = []

    def run(dag_id: str, date: dt.date) -> None:
        with progress.stage(dag_id, f"{dag_id} {date}") as update:
            results.append(run_dag(stack, dag_id, date, update))

    campaigns = None
    try:
        for dag_id, date in plan:
            run(dag_id, date)
        if dataset == "generated":
            campaigns = run_campaigns(settings, stack.warehouse_url, dates[-1], size, run, progress.stage)
    finally:
        stack.terminate()
    return results, campaigns


def _stage(settings: Settings, dataset: str, size: str, days: int, shared_dir: Path) -> list[dt.date]:
    if dataset == "online_retail":
        return stage_online_retail(shared_dir / "data" / "online_retail" / "online_retail.csv.gz", settings.landing_dir)
    if dataset == "generated":
        return stage_generated(settings, size, days)
    raise ValueError(f"unknown demo dataset {dataset!r}: use 'generated' or 'online_retail'")


def _capture(fn: Callable[[], Any], errors: list[BaseException]) -> Callable[[], None]:
    def run() -> None:
        try:
            fn()
        except BaseException as exc:  # handed to the main thread
            errors.append(exc)

    return run


# -- the summary ---------------------------------------------------------------------


def row_counts(url: str) -> list[tuple[str, str, int]]:
    """``(kind, table, rows)`` for the tables the demo fills; kind ``data`` must not change
    when the same dates are run again, kind ``history`` records every run."""
    from recsys.platform.warehouse import connect

    with connect(url) as conn:
        return [(kind, name, int(n)) for kind, name, n in conn.execute(_sql("demo_row_counts.sql")).fetchall()]


@dataclass(frozen=True)
class ModelQuality:
    """The training run of a date: its verdict and every model's headline metrics."""

    run_id: str
    status: str
    gate_reason: str | None
    report_path: str | None
    metrics: dict[str, dict[str, float]]  # model -> metric -> value (overall)


def model_quality(url: str, date: dt.date) -> ModelQuality | None:
    """The latest training run recorded for business date ``date`` (``ml.model_runs``)."""
    from recsys.platform.warehouse import connect

    with connect(url) as conn:
        row = conn.execute(_sql("demo_model_run.sql"), {"logical_date": date}).fetchone()
    if row is None:
        return None
    run_id, status, gate_reason, report_path, metrics = row
    overall = {name: model["overall"] for name, model in (metrics or {}).get("models", {}).items()}
    return ModelQuality(run_id, status, gate_reason, report_path, overall)


def gate_results(url: str, since: dt.datetime) -> list[tuple]:
    """Per suite validated since ``since``: ``(suite, table, checks, failed errors, failed warnings)``."""
    from recsys.platform.warehouse import connect

    with connect(url) as conn:
        return conn.execute(_sql("demo_gate_results.sql"), {"since": since}).fetchall()
