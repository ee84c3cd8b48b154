"""``recsys load``: landing files and the shop's OLTP tables into the raw layer."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from pathlib import Path

import typer

from recsys.contracts.raw import SOURCES
from recsys.platform import warehouse
from recsys.platform.settings import get_settings

_DATE = ["%Y-%m-%d"]


def _known_sources(values: list[str] | None) -> list[str] | None:
    """A repeatable option cannot be a typer choice; the same check and message by hand."""
    unknown = [v for v in values or () if v not in SOURCES]
    if unknown:
        raise typer.BadParameter(f"{', '.join(map(repr, unknown))}: not a source; choose from {', '.join(SOURCES)}")
    return values


def _day(value: dt.datetime | None) -> dt.date:
    return value.date() if value else dt.date.today()


def _print_batches(results: Iterable) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title="raw load batches")
    for name in ("source", "file"):
        table.add_column(name, justify="left", overflow="fold")
    for name in ("read", "loaded", "rejected"):
        table.add_column(name, justify="right", overflow="fold")
    table.add_column("outcome", justify="left", overflow="fold")
    for r in results:
        table.add_row(
            r.source,
            r.file_name,
            f"{r.rows_read:,}",
            f"{r.rows_loaded:,}",
            f"{r.rows_rejected:,}",
            f"refused: {r.error}" if r.failed else "skipped (loaded before)" if r.skipped else "loaded",
        )
    Console(width=200).print(table)


def register(app: typer.Typer) -> None:
    group = typer.Typer(help="Load landing files and OLTP extracts into the raw layer.", no_args_is_help=True)

    @group.command("files")
    def files(
        date: dt.datetime | None = typer.Option(None, formats=_DATE, help="Logical date (default: today)."),
        landing: Path | None = typer.Option(None, help="Landing root (default: the settings' landing folder)."),
        source: list[str] | None = typer.Option(
            None, callback=_known_sources, help=f"Only this source (repeatable): {', '.join(SOURCES)}."
        ),
    ) -> None:
        """Load every landing file available on the date that has not loaded yet."""
        from rich.progress import (
            BarColumn,
            Progress,
            TaskID,
            TaskProgressColumn,
            TextColumn,
            TimeElapsedColumn,
        )

        from recsys.ingest.landing import load_landing
        from recsys.ingest.layout import LoadError

        settings = get_settings()
        url = warehouse.component_url(settings, "loader")
        tasks: dict[Path, TaskID] = {}
        columns = (TextColumn("{task.description}"), BarColumn(), TaskProgressColumn(), TimeElapsedColumn())
        with Progress(*columns, transient=True) as bar:

            def report(path: Path, done: float) -> None:
                if path not in tasks:
                    tasks[path] = bar.add_task(path.name, total=1.0)
                bar.update(tasks[path], completed=done)

            results = load_landing(url, landing or settings.landing_dir, _day(date), source or None, progress=report)
        _print_batches(results)
        refused = [r for r in results if r.failed]
        if refused:
            raise LoadError(
                f"{len(refused)} file(s) refused, the others loaded: "
                + "; ".join(f"{r.source}/{r.error}" for r in refused)
            )

    @group.command("oltp")
    def oltp(
        source_url: str = typer.Option(..., help="libpq URL of the shop's PostgreSQL."),
        date: dt.datetime | None = typer.Option(None, formats=_DATE, help="Logical date (default: today)."),
    ) -> None:
        """Load what changed in the shop's tables since their watermarks."""
        import psycopg

        from recsys.ingest.oltp import load_oltp

        url = warehouse.component_url(get_settings(), "loader")
        try:
            results = load_oltp(url, source_url, _day(date))
        except (psycopg.OperationalError, psycopg.errors.UndefinedTable) as exc:
            raise typer.BadParameter(f"cannot read the shop database: {exc}", param_hint="--source-url") from exc
        _print_batches(results)

    app.add_typer(group, name="load")
