"""``recsys generate``: write a realistic, seeded shop into the landing folder."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import typer

from recsys.generator.spec import PresetName
from recsys.platform.settings import get_settings

_DATE = ["%Y-%m-%d"]


def _day(value: dt.datetime | None) -> dt.date | None:
    return value.date() if value else None


def register(app: typer.Typer) -> None:
    @app.command("generate")
    def generate(
        size: PresetName = typer.Option("small", help="Preset of the shop's size (docs/generator.md)."),
        out: Path | None = typer.Option(None, help="Landing root (default: the settings' landing folder)."),
        seed: int | None = typer.Option(None, help="Random seed (default: the preset's, 42)."),
        customers: int | None = typer.Option(None, help="Override the preset's number of customers."),
        products: int | None = typer.Option(None, help="Override the preset's number of products."),
        events: int | None = typer.Option(None, help="Override the preset's target number of events."),
        start: dt.datetime | None = typer.Option(None, formats=_DATE, help="First day with events."),
        end: dt.datetime | None = typer.Option(None, formats=_DATE, help="Last day with events."),
        daily_days: int = typer.Option(0, help="Write the last N days as one file per day (0: one file per source)."),
        chunk_events: int = typer.Option(250_000, help="Events buffered per write (memory bound; same bytes)."),
        truth: bool = typer.Option(True, help="Also write the planted ground truth to <out>/_truth."),
    ) -> None:
        """Generate products, customers and events in the landing file contract."""
        from recsys.generator.shop import (  # numpy/pyarrow only when run
            generate_shop,
            landing_dates,
            shop_spec,
        )

        try:
            spec = shop_spec(
                size,
                seed=seed,
                n_customers=customers,
                n_products=products,
                n_events=events,
                start=_day(start),
                end=_day(end),
            )
            landing_dates(spec, daily_days)
        except ValueError as exc:
            raise typer.BadParameter(str(exc)) from exc
        target = out or get_settings().landing_dir
        report = generate_shop(spec, target, daily_days=daily_days, chunk_events=chunk_events, with_truth=truth)
        typer.echo(
            f"{report.n_events:,} events, {report.n_customers:,} customers, {report.n_products:,} products "
            f"({spec.start}..{spec.end}, seed {spec.seed}) in {report.seconds:.1f} s"
        )
        for path in report.files:
            typer.echo(f"  {path}")
