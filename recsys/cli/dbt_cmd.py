"""``recsys dbt``: build the warehouse marts, generate the docs, parse the project."""

from __future__ import annotations

import datetime as dt

import typer

from recsys.platform import dbt_runner, warehouse
from recsys.platform.settings import get_settings

#: How many of the slowest nodes a build reports.
SLOWEST = 5


def _echo_result(result: dbt_runner.DbtResult) -> None:
    """Counts per status, the slowest nodes, and the failures with dbt's messages."""
    counts = ", ".join(f"{status}={n}" for status, n in sorted(result.summary().items()))
    typer.echo(
        f"dbt {' '.join(result.command)}: {'ok' if result.success else 'FAILED'} in {result.elapsed:.1f} s ({counts})"
    )
    for node in sorted(result.nodes, key=lambda n: n.execution_time, reverse=True)[:SLOWEST]:
        typer.echo(f"  {node.execution_time:7.2f} s  {node.status:<8} {node.unique_id}")
    if not result.success:
        typer.echo(dbt_runner.describe_failure(result), err=True)
        raise typer.Exit(1)


def _as_date(value: dt.datetime | None) -> dt.date | None:
    return value.date() if value else None


def register(app: typer.Typer) -> None:
    group = typer.Typer(
        help="Build the warehouse marts with dbt (staging -> intermediate -> marts).", no_args_is_help=True
    )

    @group.command("build")
    def build(
        date: dt.datetime | None = typer.Option(
            None, "--date", formats=["%Y-%m-%d"], help="Logical date of the run (default: the latest loaded date)."
        ),
        select: list[str] = typer.Option([], "--select", "-s", help="dbt selector, repeatable (e.g. fct_events+)."),
        full_refresh: bool = typer.Option(False, "--full-refresh", help="Rebuild incremental models from scratch."),
    ) -> None:
        """Run and test every model as of --date (dbt build)."""
        settings = get_settings()
        url = warehouse.component_url(settings, "transformer")
        result = dbt_runner.run_dbt(
            settings, url, ("build",), as_of_date=_as_date(date), select=select, full_refresh=full_refresh, check=False
        )
        _echo_result(result)

    @group.command("docs")
    def docs(
        date: dt.datetime | None = typer.Option(
            None, "--date", formats=["%Y-%m-%d"], help="Logical date for the docs."
        ),
    ) -> None:
        """Generate the dbt docs site (one self-contained static_index.html)."""
        settings = get_settings()
        url = warehouse.component_url(settings, "transformer")
        result = dbt_runner.run_dbt(settings, url, ("docs", "generate"), as_of_date=_as_date(date), check=False)
        _echo_result(result)
        typer.echo(f"docs: {settings.dbt_project_dir / 'target' / 'static_index.html'}")

    @group.command("parse")
    def parse() -> None:
        """Write dbt/target/manifest.json without a database (astronomer-cosmos renders the DAG from it)."""
        typer.echo(f"manifest: {dbt_runner.parse_project(get_settings())}")

    @group.command("sources")
    def sources(
        check: bool = typer.Option(False, "--check", help="Only report whether the file is current (exit 1 if not)."),
    ) -> None:
        """Write the raw tables' dbt source declaration from the contract (recsys/contracts/raw.py)."""
        from recsys.contracts import dbt_sources

        project = get_settings().dbt_project_dir
        if check:
            if not dbt_sources.is_current(project):
                typer.echo(
                    f"{project / dbt_sources.SOURCES_FILE} differs from the contract: run `recsys dbt sources`",
                    err=True,
                )
                raise typer.Exit(1)
            typer.echo("dbt sources match the contract")
            return
        typer.echo(f"written: {dbt_sources.write(project)}")

    app.add_typer(group, name="dbt")
