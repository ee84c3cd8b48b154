"""``recsys publish``: score every active customer for a send date and swap the run in;
list runs; restore an earlier one."""

from __future__ import annotations

import datetime as dt
import logging

import pandas as pd
import typer
from rich.console import Console
from rich.table import Table

from recsys.platform import warehouse
from recsys.platform.settings import get_settings
from recsys.publishing import job, runs

console = Console()


def _count(value) -> str:
    return "" if pd.isna(value) else f"{int(value):,}"


def register(app: typer.Typer) -> None:
    group = typer.Typer(
        help="Publish recommendations into schema recs (atomic swap, history, restore).", no_args_is_help=True
    )

    @group.command("run")
    def run(
        date: dt.datetime = typer.Option(
            ..., "--date", formats=["%Y-%m-%d"], help="Logical (business) date: the last day of data used."
        ),
        send_date: dt.datetime = typer.Option(
            None,
            "--send-date",
            formats=["%Y-%m-%d"],
            help="Date the lists are for (default: --date + RECSYS_RECS__SEND_OFFSET_DAYS).",
        ),
        validate: bool = typer.Option(True, help="Run the output data-quality suite before the swap."),
        range_size: int = typer.Option(job.DEFAULT_RANGE_SIZE, help="Customers per COPY block."),
    ) -> None:
        """Score, check and publish one run with the champion model."""
        from recsys_expectations.gates import recommendations_gate

        logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        logging.getLogger("recsys").setLevel(logging.INFO)
        settings = get_settings()
        url = warehouse.component_url(settings, "publisher")
        logical = date.date()
        gate = (
            recommendations_gate(warehouse.component_url(settings, "quality"), settings, logical) if validate else None
        )
        info = job.publish_for_date(
            url, settings, logical, gate, range_size, send_date=send_date.date() if send_date else None
        )
        console.print(
            f"run {info.run_id} is current: {info.n_rows} rows for {info.n_customers} customers "
            f"(send date {info.context_date}, model {info.model_version})"
        )

    @group.command("runs")
    def list_runs() -> None:
        """List publishing runs, newest first."""
        frame = runs.list_runs(warehouse.component_url(get_settings(), "publisher"))
        table = Table("run_id", "status", "send date", "model", "customers", "rows", "published at")
        for row in frame.itertuples(index=False):
            table.add_row(
                row.run_id,
                row.status,
                str(row.context_date),
                str(row.model_version),
                _count(row.n_customers),
                _count(row.n_rows),
                "" if pd.isna(row.published_at) else f"{row.published_at:%Y-%m-%d %H:%M}",
            )
        console.print(table)

    @group.command("restore")
    def restore(run_id: str = typer.Option(..., "--run-id", help="A kept run (see `recsys publish runs`).")) -> None:
        """Make an earlier run current again, in one transaction."""
        settings = get_settings()
        info = runs.restore_run(warehouse.component_url(settings, "publisher"), run_id, job.yielding(settings))
        console.print(f"run {info.run_id} is current again ({info.n_rows} rows, send date {info.context_date})")

    app.add_typer(group, name="publish")
