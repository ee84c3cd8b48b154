"""``recsys warehouse``: start, stop and locate the warehouse."""

from __future__ import annotations

import typer

from recsys.platform import embedded, warehouse
from recsys.platform.settings import get_settings


def register(app: typer.Typer) -> None:
    group = typer.Typer(help="Start, stop and locate the warehouse PostgreSQL.", no_args_is_help=True)

    @group.command("url")
    def url() -> None:
        """Print the warehouse URL (starts the embedded server if needed)."""
        typer.echo(warehouse.warehouse_url(get_settings()))

    @group.command("init")
    def init() -> None:
        """Create the schemas and the tables Python writes."""
        url = warehouse.warehouse_url(get_settings())
        warehouse.ensure_schemas(url)
        typer.echo(f"schemas ready in {warehouse.url_parts(url).dbname}")

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
