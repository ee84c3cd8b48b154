"""``recsys bi``: the BI tool (Apache Superset) with the platform's dashboards."""

from __future__ import annotations

from pathlib import Path

import typer

from recsys.platform.settings import get_settings


def register(app: typer.Typer) -> None:
    group = typer.Typer(help="Apache Superset with the dashboards, as the read-only BI role.", no_args_is_help=True)

    @group.command("serve")
    def serve(
        port: int | None = typer.Option(None, help="Port of the web server (default RECSYS_BI__PORT, 8088)."),
    ) -> None:
        """Set up Superset, import the dashboards and serve them until Ctrl-C (make bi)."""
        from recsys.bi import superset

        settings = get_settings()
        site = superset.site(settings, port=port)
        database = superset.bi_database_url(settings)
        typer.echo(f"setting up Superset in {site.state_dir} ...")
        superset.prepare(site)
        superset.import_dashboards(site, database)
        process = superset.start(site)
        try:
            seconds = superset.wait_until_healthy(site, process)
            typer.echo(f"Superset is up in {seconds:.0f} s: {site.url}/dashboard/list/")
            typer.echo(f"log in as {superset.ADMIN}, password in {site.state_dir / 'admin_password'}")
            for slug in superset.dashboard_slugs():
                typer.echo(f"  {site.url}/superset/dashboard/{slug}/")
            typer.echo("Ctrl-C stops it")
            process.wait()
        except KeyboardInterrupt:
            typer.echo("stopping Superset")
        finally:
            superset.stop(process)

    @group.command("check")
    def check(
        out: Path = typer.Option(Path("artifacts/bi/screenshots"), help="Folder of the screenshots."),
        port: int | None = typer.Option(None, help="Port of the running Superset (default RECSYS_BI__PORT)."),
    ) -> None:
        """Open every dashboard of a running Superset in headless Chromium: each chart must show
        data; a screenshot per dashboard (exit 1 when a chart fails)."""
        from recsys.bi import browser, superset

        site = superset.site(get_settings(), port=port)
        checks = browser.check_dashboards(
            site.url, superset.ADMIN, site.admin_password, superset.dashboard_slugs(), out
        )
        problems = [line for c in checks for line in c.problems()]
        for c in checks:
            typer.echo(
                f"{'ok  ' if c.ok else 'FAIL'} {c.slug}: {len(c.charts)} charts, {c.seconds:.1f} s, {c.screenshot}"
            )
        for line in problems:
            typer.echo(f"  {line}", err=True)
        if problems:
            raise typer.Exit(1)

    @group.command("export")
    def export(
        port: int | None = typer.Option(None, help="Port of the running Superset (default RECSYS_BI__PORT)."),
    ) -> None:
        """Write the dashboards of a running Superset (edited in its UI) back into the repository."""
        from recsys.bi import api, superset

        site = superset.site(get_settings(), port=port)
        session = api.SupersetApi.login(site.url, superset.ADMIN, site.admin_password)
        written = api.write_assets(session.export_dashboards())
        typer.echo(f"{len(written)} files written under {superset.ASSETS}")

    app.add_typer(group, name="bi")
