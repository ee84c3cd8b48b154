"""``recsys segments`` (behavioural segments) and ``recsys stock`` (stock alerts)."""

from __future__ import annotations

import datetime as dt

import typer
from rich.console import Console
from rich.table import Table

from recsys.platform import warehouse
from recsys.platform.settings import get_settings


def register(app: typer.Typer) -> None:
    segments = typer.Typer(help="Behavioural segments: K-means on RFM and category/price mix.", no_args_is_help=True)

    @segments.command("fit")
    def fit(
        date: dt.datetime = typer.Option(..., "--date", formats=["%Y-%m-%d"], help="Business date of the fit."),
        rebuild: bool = typer.Option(
            True, help="Then rebuild dim_customers and the marts below it with the new segments (dbt)."
        ),
    ) -> None:
        """Fit the segments on the marts as built for --date, matched to the previous fit."""
        from recsys.segments.store import fit_night

        settings = get_settings()
        result = fit_night(warehouse.component_url(settings, "trainer"), date.date(), settings.segments)
        stability = "n/a (first fit)" if result.stability is None else f"{result.stability:.1%}"
        typer.echo(
            f"segments of {result.fit_date}: k={result.k}, silhouette {result.silhouette:.3f}, "
            f"{len(result.assignments):,} customers, stability {stability}"
        )
        table = Table(show_lines=False, expand=True)
        for column in ("segment", "name", "customers", "description"):
            table.add_column(column, overflow="fold")
        for row in result.segments.itertuples(index=False):
            table.add_row(row.segment, row.name, f"{row.customers:,}", row.description)
        Console().print(table)
        if rebuild:
            from recsys.platform import dbt_runner
            from recsys.segments.store import DBT_REBUILD

            built = dbt_runner.run_dbt(
                settings,
                warehouse.component_url(settings, "transformer"),
                ("build",),
                as_of_date=date.date(),
                select=DBT_REBUILD,
            )
            typer.echo(f"dbt build --select {' '.join(DBT_REBUILD)}: {built.summary()}")

    @segments.command("fits")
    def fits() -> None:
        """Every fit: k, silhouette and the share of customers who kept their segment."""
        from recsys.segments.store import fits as read_fits

        frame = read_fits(warehouse.component_url(get_settings(), "trainer"))
        table = Table(expand=True)
        for column in frame.columns:
            table.add_column(column)
        for row in frame.itertuples(index=False):
            table.add_row(*("" if v is None else f"{v:.3f}" if isinstance(v, float) else str(v) for v in row))
        Console().print(table)

    app.add_typer(segments, name="segments")

    stock = typer.Typer(help="Stock cover alerts (marts.fct_stock_alerts).", no_args_is_help=True)

    @stock.command("alerts")
    def alerts(
        date: dt.datetime = typer.Option(..., "--date", formats=["%Y-%m-%d"], help="Business date of the alerts."),
    ) -> None:
        """Print the stock alerts of --date, the message the DAG's notifier sends."""
        from recsys.stock.alerts import alert_message, read_alerts

        url = warehouse.component_url(get_settings(), "quality")
        typer.echo(alert_message(read_alerts(url, date.date()), date.date()).text)

    app.add_typer(stock, name="stock")
