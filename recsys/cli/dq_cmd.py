"""``recsys dq``: run the data-quality suites by hand and read their results."""

from __future__ import annotations

import datetime as dt

import typer
from rich.console import Console
from rich.table import Table

from recsys.platform import warehouse
from recsys.platform.settings import get_settings

STATUS = {
    (True, "error"): "[green]pass[/]",
    (True, "warning"): "[green]pass[/]",
    (False, "error"): "[bold red]FAIL[/]",
    (False, "warning"): "[yellow]warn[/]",
}


def results_table(results) -> Table:
    """One row per expectation, failures first, so what stopped the gate is on top."""
    table = Table(title="data quality", show_lines=False, expand=True)
    for column, style in (
        ("suite", "cyan"),
        ("table", "cyan"),
        ("status", None),
        ("severity", None),
        ("expectation", None),
        ("observed", None),
        ("threshold", "dim"),
    ):
        table.add_column(column, style=style, overflow="fold")
    for r in results:
        for o in sorted(r.outcomes, key=lambda o: (o.success, o.severity != "error")):
            table.add_row(
                r.suite_name,
                r.table,
                STATUS[(o.success, o.severity)],
                o.severity,
                o.expectation,
                o.observed_value,
                o.threshold,
            )
    return table


def register(app: typer.Typer) -> None:
    group = typer.Typer(help="Great Expectations data-quality gates.", no_args_is_help=True)

    @group.command("run")
    def run(
        suite: str = typer.Option(
            ...,
            help="Suite (raw_events, marts_fct_events, recommendations...) or stage "
            "(raw, marts, model_inputs, recommendations).",
        ),
        date: dt.datetime = typer.Option(..., "--date", formats=["%Y-%m-%d"], help="Logical date."),
        table: str | None = typer.Option(None, help="schema.table instead of the suite's own (one suite only)."),
        run_id: str | None = typer.Option(None, help="Run id for dq.validation_results (default manual__<date>)."),
        batch_id: list[int] | None = typer.Option(
            None, help="Raw suites: only this load batch (repeatable; judged without changing its gate state)."
        ),
        k: int | None = typer.Option(None, help="Recommendations: expected list length."),
        url: str | None = typer.Option(None, help="Warehouse URL (default: the configured warehouse)."),
        docs: bool = typer.Option(True, help="Build the Data Docs site under artifacts/dq/data_docs."),
    ) -> None:
        """Validate, record in dq.validation_results, print the results; exit 1 on an error."""
        from recsys_expectations import (
            DataQualityError,
            raise_for_errors,
            run_stage,
            run_suite,
        )
        from recsys_expectations.gates import raw_gate

        settings = get_settings()
        url = url or warehouse.component_url(settings, "quality")
        day = date.date()
        options = {**({"batch_ids": batch_id} if batch_id else {}), **({"k": k} if k else {})}
        try:
            if suite == "raw" and not table and not batch_id:
                results = raw_gate(url, settings, day, run_id, build_docs=docs)
            elif table:
                results = [
                    run_suite(url, suite, day, table, run_id, settings=settings, options=options, build_docs=docs)
                ]
            else:
                results = run_stage(url, suite, day, run_id, settings=settings, options=options, build_docs=docs)
        except DataQualityError as exc:
            Console(stderr=True, width=200).print(f"[bold red]{exc}[/]", markup=True, highlight=False)
            raise typer.Exit(1) from exc
        console = Console(width=200)
        console.print(results_table(results))
        for r in results:
            console.print(
                f"{r.suite_name}: {len(r.outcomes)} expectations in {r.seconds:.2f}s"
                + (f"; Data Docs: {r.docs_url}" if r.docs_url else "")
            )
        try:
            raise_for_errors(results)
        except DataQualityError as exc:
            Console(stderr=True, width=200).print(f"[bold red]{exc}[/]", markup=True, highlight=False)
            raise typer.Exit(1) from exc

    @group.command("suites")
    def suites() -> None:
        """List the suites and the stages that group them."""
        from recsys_expectations import STAGES, SUITES

        for stage, names in STAGES.items():
            typer.echo(f"{stage}: {', '.join(names)}")
        typer.echo(f"all suites: {', '.join(SUITES)}")

    @group.command("release")
    def release(
        batch: int = typer.Argument(..., help="The quarantined load batch (raw.load_batches.batch_id)."),
        reason: str = typer.Option(..., help="Why the data may pass anyway; kept in dq.releases."),
        by: str | None = typer.Option(None, help="Who releases it (default: the operating-system user)."),
    ) -> None:
        """Let a quarantined load batch through the raw gate, on the record (dq.releases)."""
        from recsys.ingest.quarantine import release as release_batch

        done = release_batch(warehouse.component_url(get_settings(), "quality"), batch, reason, released_by=by)
        typer.echo(
            f"batch {done.batch_id} released by {done.released_by} at {done.released_at:%Y-%m-%d %H:%M:%S}; "
            "rerun the business date's shop_ingest (or `recsys dq run --suite raw`) to let it in"
        )

    @group.command("page")
    def page() -> None:
        """Write the offline page of every validation (artifacts/dq/validations.html)."""
        from recsys_expectations.page import write_page

        settings = get_settings()
        typer.echo(f"written: {write_page(warehouse.component_url(settings, 'quality'), settings)}")

    app.add_typer(group, name="dq")
