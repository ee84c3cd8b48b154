"""``recsys warehouse``: start, stop, initialise and locate the warehouse."""

from __future__ import annotations

import typer

from recsys.platform import embedded, roles, warehouse
from recsys.platform.settings import get_settings


def register(app: typer.Typer) -> None:
    group = typer.Typer(help="Start, stop, initialise and locate the warehouse PostgreSQL.", no_args_is_help=True)

    @group.command("url")
    def url(
        role: roles.Component | None = typer.Option(
            None, help="The URL a component connects with (bi: over TCP with its password when TCP is on)."
        ),
    ) -> None:
        """Print the warehouse URL (starts the embedded server if needed)."""
        settings = get_settings()
        base = warehouse.warehouse_url(settings)
        if role == "bi" and (tcp := roles.bi_tcp_url(settings, warehouse.url_parts(base).dbname)):
            typer.echo(tcp)
            return
        typer.echo(roles.role_url(base, role, settings) if role else base)

    @group.command("init")
    def init() -> None:
        """Create the roles, the schemas and the tables Python writes, each owned by its role."""
        settings = get_settings()
        url = warehouse.warehouse_url(settings)
        warehouse.ensure_schemas(url, with_roles=settings.roles.enabled)
        if settings.roles.enabled and not settings.warehouse_url:
            warehouse.set_password(url, roles.role_name("bi"), roles.bi_password(settings))
        typer.echo(f"schemas and roles ready in {warehouse.url_parts(url).dbname}")

    @group.command("roles-sql")
    def roles_sql() -> None:
        """Print the SQL that creates the roles and their grants (for a DBA; run after init)."""
        typer.echo(roles.script())

    @group.command("stop")
    def stop() -> None:
        """Stop the embedded server (its data stays in .warehouse/)."""
        settings = get_settings()
        if settings.warehouse_url:
            typer.echo("WAREHOUSE_URL is set: nothing embedded to stop")
            return
        embedded.stop_embedded(settings)
        typer.echo("embedded warehouse stopped")

    app.add_typer(group, name="warehouse")
