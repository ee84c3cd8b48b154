"""The whole nightly pipeline on bundled or generated data, run by Airflow (``make demo``).

The demo drives the real DAGs with ``airflow dags test`` (in-process runs on Airflow's
SQLite metadata) over a sequence of business dates, exactly as the scheduler would run
them one night after another, then prints what landed where.  Running it twice gives the
same row counts: landing files are deterministic, loads skip known checksums and every
DAG converges for a given date.
"""

from __future__ import annotations

import datetime as dt
import re
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from recsys.platform.airflow_env import airflow_environment
from recsys.platform.settings import Settings
from recsys.platform.sqlfiles import SqlFiles

#: DAGs run for every business date, then once more for the last date only.
DAILY_DAGS = ("shop_ingest", "warehouse_build")
NIGHTLY_DAGS = ("recsys_training", "recs_publish")


@dataclass
class StageTimer:
    """Wall time per named stage, in the order they ran."""

    seconds: dict[str, float] = field(default_factory=dict)

    def run(self, name: str, fn, *args, **kwargs):
        start = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - start


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


def run_dag(settings: Settings, url: str, dag_id: str, date: dt.date, log_dir: Path) -> None:
    """``airflow dags test DAG DATE``; the log goes to a file, the tail to the error."""
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / f"{dag_id}_{date.isoformat()}.log"
    with log_path.open("w") as log:
        proc = subprocess.run(
            ["airflow", "dags", "test", dag_id, date.isoformat()],
            env=airflow_environment(settings, url),
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=settings.home,
        )
    text = log_path.read_text(errors="replace")
    finished = re.findall(r"DagRun Finished: .*? state=(\w+)", text)
    if proc.returncode != 0 or finished[-1:] != ["success"]:
        tail = "\n".join(text.splitlines()[-40:])
        raise RuntimeError(f"DAG {dag_id} failed for {date} (full log: {log_path}):\n{tail}")


def migrate_airflow(settings: Settings, url: str) -> None:
    """Create or upgrade Airflow's SQLite metadata database (idempotent)."""
    settings.airflow_home.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        ["airflow", "db", "migrate"],
        env=airflow_environment(settings, url),
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


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


def row_counts(url: str) -> list[tuple[str, str, int]]:
    """``(kind, table, rows)`` for the tables the demo fills; kind ``data`` must not change
    when the same dates are run again, kind ``history`` records every run."""
    from recsys.platform.warehouse import connect

    with connect(url) as conn:
        return [
            (kind, name, int(n)) for kind, name, n in conn.execute(SqlFiles(__name__)("demo_row_counts.sql")).fetchall()
        ]


def run_demo(
    settings: Settings, url: str, dataset: str, size: str, days: int, shared_dir: Path, progress=print
) -> StageTimer:
    """Stage the data, then run every DAG for each business date, as the scheduler would.

    The daily DAGs run for every date; training and publishing once, for the last date
    (they train on and score from everything loaded by then).
    """
    from recsys.platform.dbt_runner import parse_project
    from recsys.platform.warehouse import ensure_schemas

    timer = StageTimer()
    ensure_schemas(url)
    if dataset == "online_retail":
        dates = timer.run(
            "stage data",
            stage_online_retail,
            shared_dir / "data" / "online_retail" / "online_retail.csv.gz",
            settings.landing_dir,
        )
    elif dataset == "generated":
        dates = timer.run("stage data", stage_generated, settings, size, days)
    else:
        raise ValueError(f"unknown demo dataset {dataset!r}: use 'generated' or 'online_retail'")
    timer.run("dbt parse", parse_project, settings)
    timer.run("airflow db migrate", migrate_airflow, settings, url)
    log_dir = settings.data_dir / "logs"
    for date in dates:
        for dag_id in DAILY_DAGS:
            progress(f"{dag_id} {date}")
            timer.run(dag_id, run_dag, settings, url, dag_id, date, log_dir)
    for dag_id in NIGHTLY_DAGS:
        progress(f"{dag_id} {dates[-1]}")
        timer.run(dag_id, run_dag, settings, url, dag_id, dates[-1], log_dir)
    if dataset == "generated":  # CRM campaigns: sent, simulated responses loaded, uplift measured (issue 12)
        from recsys.cli.campaign_demo import run_campaigns

        timer.run("crm campaigns", run_campaigns, settings, url, dates[-1], size, log_dir, run_dag, progress)
    return timer
