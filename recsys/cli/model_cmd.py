"""``recsys train``, ``recsys evaluate``, ``recsys recommend``: the model outside Airflow.

``evaluate`` and ``recommend`` work on any data set given as files with the standard
columns (``user_id,item_id,timestamp[,weight][,rating]``; items: ``item_id`` + feature
columns; users: ``user_id`` + feature columns) or, for ``evaluate``, on order lines in the
Online Retail layout or on the warehouse marts.  ``recommend`` ranks with the nightly
publish's path (:mod:`recsys.serving.offline` turns the files into its inputs).  Long steps log
their progress.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import time
from pathlib import Path
from typing import Literal

import typer
from rich.console import Console
from rich.logging import RichHandler
from rich.table import Table

from recsys.platform.settings import Settings, get_settings

console = Console(stderr=True)
Protocol = Literal["temporal", "leave-last-out", "both"]


def _logging() -> None:
    logging.basicConfig(
        level=logging.INFO,
        format="%(message)s",
        datefmt="%H:%M:%S",
        handlers=[RichHandler(console=console, show_path=False)],
        force=True,
    )


def _weighting(settings: Settings):
    from recsys.training.weighting import load_weighting

    return load_weighting(settings.dbt_project_dir / "dbt_project.yml")


def _frames(
    settings: Settings,
    interactions: Path | None,
    items: Path | None,
    users: Path | None,
    order_lines: Path | None,
    date: dt.date | None,
):
    """Standard frames from files, Online Retail order lines, or the warehouse."""
    from recsys.platform import dbt_project, warehouse
    from recsys.training import frames, marts

    if interactions and order_lines:
        raise typer.BadParameter("give --interactions or --order-lines, not both")
    if interactions:
        return frames.read_files(interactions, items, users)
    if order_lines:
        fees = dbt_project.dbt_vars(settings.dbt_project_dir / "dbt_project.yml").get("fee_product_codes", ())
        return frames.order_lines_to_frames(frames.read_table(order_lines), fees)
    if date is None:
        raise typer.BadParameter("the warehouse path needs --date (the logical date)")
    return marts.read_warehouse(warehouse.component_url(settings, "trainer"), date)


def print_table(evaluations, title: str) -> None:
    """Every model's headline metrics, one row per model."""
    from recsys.training.evaluate import HEADLINE_METRICS, metrics_table

    frame = metrics_table(evaluations)
    table = Table(title=title)
    table.add_column("model")
    columns = [c for c in HEADLINE_METRICS if c in frame]
    for column in columns:
        table.add_column(column, justify="right")
    for name, row in frame.iterrows():
        table.add_row(name, *(f"{row[c]:.4f}" for c in columns))
    output = Console()
    if not output.is_terminal:  # a pipe or a log file: do not squeeze the table to 80 columns
        output = Console(width=220)
    output.print(table)


def register(app: typer.Typer) -> None:
    @app.command("train")
    def train(
        date: dt.datetime = typer.Option(..., "--date", formats=["%Y-%m-%d"], help="Logical date of the run."),
        artifacts_dir: Path = typer.Option(None, help="Where artifacts go (default: <home>/artifacts)."),
    ) -> None:
        """Train on the warehouse marts, evaluate, record the run and apply the champion gate."""
        from recsys.platform import warehouse
        from recsys.training import registry
        from recsys.training.train import run_training

        _logging()
        settings = get_settings()
        url = warehouse.component_url(settings, "trainer")
        result = run_training(
            url,
            date.date(),
            settings.training,
            settings.evaluation,
            artifacts_dir or settings.artifacts_dir,
            weighting=_weighting(settings),
            git_revision=registry.git_revision(settings.home),
        )
        typer.echo(json.dumps({k: v for k, v in result.__dict__.items() if k != "metrics"}, indent=2))

    @app.command("evaluate")
    def evaluate(
        interactions: Path = typer.Option(
            None, help="Interactions file (user_id,item_id,timestamp[,weight][,rating])."
        ),
        items: Path = typer.Option(None, help="Items file: item_id + feature columns."),
        users: Path = typer.Option(None, help="Users file: user_id + feature columns."),
        order_lines: Path = typer.Option(
            None, help="Order lines in the Online Retail layout instead of --interactions."
        ),
        date: dt.datetime = typer.Option(
            None,
            formats=["%Y-%m-%d"],
            help="Logical date: the test window ends with it (default: last date of the data).",
        ),
        protocol: Protocol = typer.Option("temporal", help="How the held-out data is chosen."),
        output: Path = typer.Option(Path("metrics.json"), help="JSON file with every model's metrics."),
        report: Path = typer.Option(None, help="Also write an HTML report here."),
    ) -> None:
        """Compare the served blend with every baseline on held-out data; print a table, write JSON."""
        from recsys.training import split as splits
        from recsys.training.report import write_report
        from recsys.training.train import train_and_evaluate

        _logging()
        settings = get_settings()
        frames = _frames(settings, interactions, items, users, order_lines, date.date() if date else None)
        logical = date.date() if date else frames.interactions["timestamp"].max().date()
        chosen = {
            "temporal": lambda: splits.temporal_split(
                frames.interactions, *splits.windows(logical, settings.evaluation.test_days)
            ),
            "leave-last-out": lambda: splits.leave_last_out(frames.interactions),
        }
        results = {}
        for name in chosen if protocol == "both" else (protocol,):
            started = time.perf_counter()
            run = train_and_evaluate(
                frames, chosen[name](), settings.training, settings.evaluation, _weighting(settings)
            )
            results[name] = run.to_json() | {"wall_seconds": round(time.perf_counter() - started, 1)}
            print_table(run.evaluations, f"{name}: {run.split.describe()}")
            if run.ratings:
                typer.echo(f"ratings: {json.dumps(run.ratings)}")
            if report:
                write_report(
                    report.with_name(f"{report.stem}_{name}{report.suffix}"),
                    run,
                    title=f"Evaluation ({name})",
                    decision_text="offline evaluation: no gate",
                )
        output.write_text(json.dumps(results, indent=2, default=str, allow_nan=True))
        console.print(f"metrics written to {output}")

    @app.command("recommend")
    def recommend(
        interactions: Path = typer.Option(..., help="Interactions file (user_id,item_id,timestamp[,weight][,rating])."),
        items: Path = typer.Option(
            None, help="Items file: item_id + feature columns (in_stock, is_active, category drive the rules)."
        ),
        users: Path = typer.Option(None, help="Users file: user_id + feature columns (country, segment)."),
        k: int = typer.Option(10, min=1, help="Recommendations per user."),
        as_of: dt.datetime = typer.Option(
            None,
            "--as-of",
            formats=["%Y-%m-%d"],
            help="Send date: season, calendar and history as of this day "
            "(default: the day after the last interaction).",
        ),
        output: Path = typer.Option(..., help="CSV file: user_id,rank,item_id,score."),
    ) -> None:
        """Train the served blend on the interactions before the send date and write every user's top k,
        ranked as the nightly publish ranks (context adjustment, cold start, business rules)."""
        from recsys.serving import offline
        from recsys.training.frames import read_files

        _logging()
        settings = get_settings()
        frames = read_files(interactions, items, users)
        rows, fit, send_date = offline.recommend_frames(frames, settings, k, as_of.date() if as_of else None)
        rows[list(offline.OUTPUT_COLUMNS)].to_csv(output, index=False, float_format="%.6f")
        console.print(
            f"{len(rows)} recommendations for {rows['user_id'].nunique()} users as of {send_date} "
            f"written to {output} ({fit.choice.epochs} epochs, blend {fit.choice.settings})"
        )
