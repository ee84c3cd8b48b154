"""``recsys demo`` and ``recsys airflow-standalone``: the whole platform on one machine."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from recsys.cli import demo
from recsys.platform.airflow_env import airflow_environment
from recsys.platform.settings import get_settings
from recsys.platform.warehouse import ensure_schemas, warehouse_url

console = Console()


def register(app: typer.Typer) -> None:
    @app.command("demo")
    def demo_cmd(
        dataset: str = typer.Option(
            os.environ.get("DEMO_DATASET", "generated"), help="generated (synthetic shop) or online_retail (../shared)."
        ),
        size: str = typer.Option("small", help="Generator preset for the generated shop."),
        days: int = typer.Option(3, help="Business dates to run, one DAG run each."),
    ) -> None:
        """Run the nightly pipeline end to end with `airflow dags test` and print what landed."""
        settings = get_settings()
        if dataset == "online_retail" and not settings.warehouse_url:
            # Its own database and landing folder: the two demo shops never mix.
            settings = settings.model_copy(
                update={"warehouse_db": "online_retail", "data_root": settings.data_dir / "online_retail"}
            )
        url = warehouse_url(settings)
        console.print(f"warehouse: {url}")
        timer = demo.run_demo(
            settings,
            url,
            dataset,
            size,
            days,
            settings.home.parent / "shared",
            progress=lambda step: console.print(f"[bold]running[/bold] {step}"),
        )
        counts = Table(title="rows per table (data: unchanged by a rerun; history: one entry per run)")
        counts.add_column("kind")
        counts.add_column("table")
        counts.add_column("rows", justify="right")
        for kind, name, n in demo.row_counts(url):
            counts.add_row(kind, name, f"{n:,}")
        console.print(counts)
        times = Table(title="time per stage")
        times.add_column("stage")
        times.add_column("seconds", justify="right")
        for name, seconds in timer.seconds.items():
            times.add_row(name, f"{seconds:.1f}")
        console.print(times)
        console.print(f"Airflow logs: {settings.data_dir / 'logs'}; Data Docs: {settings.dq_dir}")

    @app.command("airflow-standalone")
    def airflow_standalone() -> None:
        """Airflow's own UI (`airflow standalone`, http://localhost:8080) on the same warehouse."""
        settings = get_settings()
        url = warehouse_url(settings)
        ensure_schemas(url)
        from recsys.platform.dbt_runner import parse_project

        parse_project(settings)
        env = airflow_environment(settings, url)
        env.setdefault("AIRFLOW__CORE__EXECUTOR", "LocalExecutor")
        console.print(f"AIRFLOW_HOME={env['AIRFLOW_HOME']}; the admin password is printed by Airflow below")
        raise SystemExit(subprocess.call(["airflow", "standalone"], env=env, cwd=Path(settings.home)))
