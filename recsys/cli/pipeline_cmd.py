"""``recsys demo`` and ``recsys airflow``: the whole platform on one machine."""

from __future__ import annotations

import datetime as dt
import os
import signal

import typer
from rich.console import Console
from rich.table import Table

from recsys.cli import demo
from recsys.cli.campaign_demo import ensure_demo_key, print_campaigns
from recsys.platform.airflow_local import LocalAirflow, local_workers
from recsys.platform.settings import Settings, get_settings
from recsys.platform.warehouse import ensure_schemas, warehouse_url

console = Console()

#: Metrics of the summary's model table (the champion gate's metric first).
SUMMARY_METRICS = ("ndcg@10", "recall@10", "coverage@10")


def register(app: typer.Typer) -> None:
    @app.command("demo")
    def demo_cmd(
        dataset: str = typer.Option(
            os.environ.get("DEMO_DATASET", "generated"), help="generated (synthetic shop) or online_retail (../shared)."
        ),
        size: str = typer.Option("small", help="Generator preset for the generated shop."),
        days: int = typer.Option(3, help="Business dates to run, one DAG run each."),
    ) -> None:
        """Run the nightly pipeline end to end through Airflow and print what it produced."""
        settings = get_settings()
        if dataset == "online_retail" and not settings.warehouse_url:
            # Its own database and landing folder: the two demo shops never mix.
            settings = settings.model_copy(
                update={"warehouse_db": "online_retail", "data_root": settings.data_dir / "online_retail"}
            )
        url = warehouse_url(settings)
        started = dt.datetime.now(dt.UTC)
        console.print(f"warehouse: {url}")
        if dataset == "generated":
            # The campaigns' files hash addresses: the key must be in the environment the
            # stack hands to Airflow's processes when it is made.
            ensure_demo_key(settings)
        stack = LocalAirflow(settings, url)
        try:
            with demo.StageProgress(console) as progress:
                runs, campaigns = demo.run_demo(
                    stack, settings, dataset, size, days, settings.home.parent / "shared", progress
                )
            # Airflow's processes exit while the summary prints.
            _print_counts(url)
            _print_times(progress.timer, runs)
            _print_gates(url, started)
            # The night that trained (the campaigns' runs come after it, for later dates).
            trained = [run.business_date for run in runs if run.dag_id == "recsys_training"]
            quality = demo.model_quality(url, trained[-1]) if trained else None
            _print_quality(quality)
            if campaigns is not None:
                print_campaigns(console, settings, campaigns)
            _print_next_steps(settings, quality, runs)
        finally:
            stack.close()

    @app.command("airflow")
    def airflow_cmd(
        celery: bool = typer.Option(
            False, help="CeleryExecutor with a local Redis and RECSYS_AIRFLOW__CELERY_WORKERS workers."
        ),
    ) -> None:
        """Airflow's UI and scheduler on the same warehouse, until Ctrl-C (`make airflow`)."""
        # Ctrl-C stops it even when its parent ignores SIGINT (a script's background job).
        signal.signal(signal.SIGINT, signal.default_int_handler)
        settings = get_settings()
        url = warehouse_url(settings)
        ensure_schemas(url)
        from recsys.platform.dbt_runner import parse_project

        parse_project(settings)
        workers = local_workers(settings) if celery else ()
        stack = LocalAirflow(settings, url, api_port=settings.airflow.api_port, workers=workers)
        with stack:
            console.print(
                f"Airflow ({stack.executor}) at [bold]{stack.ui_url}[/bold], no login; "
                f"process logs in {stack.home}/processes; Ctrl-C stops everything"
            )
            for worker in workers:
                console.print(f"  Celery worker {worker.name}: queues {', '.join(worker.queues)}")
            try:
                stack.wait_until_stopped()
            except KeyboardInterrupt:
                console.print("stopping Airflow ...")
        console.print("Airflow stopped")


def _print_counts(url: str) -> None:
    counts = Table(title="rows per table (data: unchanged by a rerun; history: one entry per run)")
    counts.add_column("kind")
    counts.add_column("table")
    counts.add_column("rows", justify="right")
    for kind, name, n in demo.row_counts(url):
        counts.add_row(kind, name, f"{n:,}")
    console.print(counts)


def _print_times(timer: demo.StageTimer, runs: list[demo.DagRunResult]) -> None:
    times = Table(title="time per stage (DAG runs: as Airflow recorded them)")
    times.add_column("stage")
    times.add_column("seconds", justify="right")
    for name, seconds in timer.seconds.items():
        times.add_row(name, f"{seconds:.1f}")
    times.add_row("[bold]total", f"[bold]{sum(timer.seconds.values()):.1f}")
    console.print(times)
    table = Table(title="DAG runs (logical date = business date)")
    for column in ("run id", "DAG", "tasks", "duration s"):
        table.add_column(column, justify="right" if column in {"tasks", "duration s"} else "left")
    for run in runs:
        table.add_row(run.run_id, run.dag_id, str(run.tasks), f"{run.seconds:.1f}")
    console.print(table)


def _print_gates(url: str, since: dt.datetime) -> None:
    table = Table(title="data-quality gates of these runs (dq.validation_results)")
    for column in ("suite", "table", "checks", "failed errors", "failed warnings"):
        table.add_column(column, justify="right" if column[0] in "cf" else "left")
    for suite, name, checks, errors, warnings in demo.gate_results(url, since):
        table.add_row(
            suite, name, str(checks), f"[red]{errors}" if errors else "0", f"[yellow]{warnings}" if warnings else "0"
        )
    console.print(table)


def _print_quality(quality: demo.ModelQuality | None) -> None:
    if quality is None:
        console.print("[yellow]no training run recorded for the last business date")
        return
    from recsys.training.registry import CHAMPION
    from recsys.training.train import CHAMPION as PREVIOUS_CHAMPION
    from recsys.training.train import HYBRID

    notes = {
        HYBRID: "[bold]this run's model, " + ("now serving" if quality.status == CHAMPION else "not promoted"),
        PREVIOUS_CHAMPION: "the champion before this run",
    }
    table = Table(title=f"model quality on the test window (ml.model_runs {quality.run_id}), best first")
    table.add_column("model")
    for metric in SUMMARY_METRICS:
        table.add_column(metric, justify="right")
    table.add_column("")
    gate_metric = SUMMARY_METRICS[0]
    for name, metrics in sorted(quality.metrics.items(), key=lambda item: -item[1].get(gate_metric, 0.0)):
        values = (f"{metrics.get(m, float('nan')):.4f}" for m in SUMMARY_METRICS)
        table.add_row(name, *values, notes.get(name, "baseline"))
    console.print(table)
    console.print(f"champion gate: [bold]{quality.status}[/bold]: {quality.gate_reason}")


def _print_next_steps(settings: Settings, quality: demo.ModelQuality | None, runs: list[demo.DagRunResult]) -> None:
    exports_dir = settings.artifacts_dir / "exports"
    first, last = runs[0].business_date, runs[-1].business_date
    lines = [
        "[bold]next steps",
        f"  training report   {quality.report_path if quality else '(no training run)'}",
        f"  Data Docs         {settings.dq_dir / 'data_docs' / 'index.html'}",
        f"  a CRM export      .venv/bin/recsys export --campaign demo --k 5 --format csv --out {exports_dir}",
        f"  the Airflow UI    make airflow, then http://localhost:{settings.airflow.api_port}: runs "
        f"{demo.run_id_for(first)} .. {demo.run_id_for(last)} with their task logs (DAGs stay paused)",
    ]
    console.print("\n".join(lines))
