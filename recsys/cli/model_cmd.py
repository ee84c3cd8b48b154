"""``recsys train``, ``recsys evaluate``, ``recsys recommend``: the model outside Airflow.

``evaluate`` and ``recommend`` work on any data set given as files with the standard
columns (``user_id,item_id,timestamp[,weight][,rating]``; items: ``item_id`` + feature
columns; users: ``user_id`` + feature columns) or, for ``evaluate``, on order lines in the
Online Retail layout or on the warehouse marts.  Long steps log their progress.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import time
from pathlib import Path

import typer
from rich.console import Console
from rich.logging import RichHandler
from rich.table import Table

from recsys.config import Settings, get_settings

console = Console(stderr=True)

TABLE_COLUMNS = ("ndcg@10", "recall@10", "precision@10", "map@10", "hit_rate@10", "auc", "coverage@10",
                 "gini@10", "diversity@10", "novelty@10")


def _logging() -> None:
    logging.basicConfig(level=logging.INFO, format="%(message)s", datefmt="%H:%M:%S",
                        handlers=[RichHandler(console=console, show_path=False)], force=True)


def _weighting(settings: Settings):
    from recsys.dataset import load_weighting

    return load_weighting(settings.dbt_project_dir / "dbt_project.yml")


def _frames(settings: Settings, interactions: Path | None, items: Path | None, users: Path | None,
            order_lines: Path | None, date: dt.date | None):
    """Standard frames from files, Online Retail order lines, or the warehouse."""
    from recsys import dataset, warehouse

    if interactions and order_lines:
        raise typer.BadParameter("give --interactions or --order-lines, not both")
    if interactions:
        return dataset.read_files(interactions, items, users)
    if order_lines:
        fees = dataset.dbt_vars(settings.dbt_project_dir / "dbt_project.yml").get("fee_product_codes", ())
        return dataset.order_lines_to_frames(dataset.read_table(order_lines), fees)
    if date is None:
        raise typer.BadParameter("the warehouse path needs --date (the logical date)")
    return dataset.read_warehouse(warehouse.warehouse_url(settings), date)


def print_table(evaluations, title: str) -> None:
    """Every model's headline metrics, one row per model."""
    from recsys.evaluate import metrics_table

    frame = metrics_table(evaluations)
    table = Table(title=title)
    table.add_column("model")
    columns = [c for c in TABLE_COLUMNS if c in frame]
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
        from recsys import registry, warehouse
        from recsys.train import run_training

        _logging()
        settings = get_settings()
        url = warehouse.warehouse_url(settings)
        warehouse.ensure_schemas(url)
        result = run_training(url, date.date(), settings.training, settings.evaluation,
                              artifacts_dir or settings.artifacts_dir, weighting=_weighting(settings),
                              git_revision=registry.git_revision(settings.home))
        typer.echo(json.dumps({k: v for k, v in result.__dict__.items() if k != "metrics"}, indent=2))

    @app.command("evaluate")
    def evaluate(
        interactions: Path = typer.Option(None, help="Interactions file (user_id,item_id,timestamp[,weight][,rating])."),
        items: Path = typer.Option(None, help="Items file: item_id + feature columns."),
        users: Path = typer.Option(None, help="Users file: user_id + feature columns."),
        order_lines: Path = typer.Option(None, help="Order lines in the Online Retail layout instead of --interactions."),
        date: dt.datetime = typer.Option(None, formats=["%Y-%m-%d"],
                                         help="Logical date: the test window ends with it (default: last date of the data)."),
        protocol: str = typer.Option("temporal", help="temporal, leave-last-out or both."),
        output: Path = typer.Option(Path("metrics.json"), help="JSON file with every model's metrics."),
        report: Path = typer.Option(None, help="Also write an HTML report here."),
    ) -> None:
        """Compare the hybrid with every baseline on held-out data; print a table, write JSON."""
        from recsys import split as splits
        from recsys.report import write_report
        from recsys.train import train_and_evaluate

        if protocol not in ("temporal", "leave-last-out", "both"):
            raise typer.BadParameter(f"unknown protocol {protocol!r}")
        _logging()
        settings = get_settings()
        frames = _frames(settings, interactions, items, users, order_lines, date.date() if date else None)
        logical = date.date() if date else frames.interactions["timestamp"].max().date()
        chosen = {
            "temporal": lambda: splits.temporal_split(frames.interactions,
                                                      *splits.windows(logical, settings.evaluation.test_days)),
            "leave-last-out": lambda: splits.leave_last_out(frames.interactions),
        }
        results = {}
        for name in chosen if protocol == "both" else (protocol,):
            started = time.perf_counter()
            run = train_and_evaluate(frames, chosen[name](), settings.training, settings.evaluation, _weighting(settings))
            results[name] = run.to_json() | {"wall_seconds": round(time.perf_counter() - started, 1)}
            print_table(run.evaluations, f"{name}: {run.split.describe()}")
            if run.ratings:
                typer.echo(f"ratings: {json.dumps(run.ratings)}")
            if report:
                write_report(report.with_name(f"{report.stem}_{name}{report.suffix}"), run,
                             title=f"Evaluation ({name})", decision_text="offline evaluation: no gate")
        output.write_text(json.dumps(results, indent=2, default=str, allow_nan=True))
        console.print(f"metrics written to {output}")

    @app.command("recommend")
    def recommend(
        interactions: Path = typer.Option(..., help="Interactions file (user_id,item_id,timestamp[,weight][,rating])."),
        items: Path = typer.Option(None, help="Items file: item_id + feature columns."),
        users: Path = typer.Option(None, help="Users file: user_id + feature columns."),
        k: int = typer.Option(10, help="Recommendations per user."),
        output: Path = typer.Option(..., help="CSV file: user_id,rank,item_id,score."),
    ) -> None:
        """Train the hybrid on all interactions and write the top k unseen items of every user."""
        from recsys.dataset import read_files
        from recsys.train import train_and_recommend

        _logging()
        settings = get_settings()
        frames = read_files(interactions, items, users)
        recommendations, fit = train_and_recommend(frames, settings.training, settings.evaluation,
                                                   _weighting(settings), k)
        recommendations.to_csv(output, index=False, float_format="%.6f")
        console.print(f"{len(recommendations)} recommendations for {recommendations['user_id'].nunique()} users "
                      f"written to {output} ({fit.epochs} epochs, blend {fit.blend_weight})")
