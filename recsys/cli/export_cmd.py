"""``recsys export``: a campaign's CRM files from the published recommendations."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

from recsys.contracts.marts import RfmSegment
from recsys.platform import warehouse
from recsys.platform.settings import get_settings
from recsys.publishing import exports
from recsys.publishing.export_files import ExportFormat

console = Console()


def register(app: typer.Typer) -> None:
    @app.command("export")
    def export_command(
        campaign: str = typer.Option(..., help="Campaign name (names the folder; seeds its holdout)."),
        out: Path = typer.Option(..., "--out", help="Folder to write <campaign>_<send date>/ into."),
        k: int = typer.Option(5, help="Products per customer."),
        fmt: ExportFormat = typer.Option("csv", "--format", help="File format of the send files."),
        segment: RfmSegment | None = typer.Option(None, help="Only customers of this RFM segment."),
        audience_sql: str = typer.Option(None, help="SQL returning customer_id (text, or a path to a .sql file)."),
        holdout_share: float = typer.Option(None, help="Share held out (default RECSYS_RECS__HOLDOUT_SHARE)."),
        run_id: str = typer.Option(None, help="Export a kept run instead of the current one."),
    ) -> None:
        """Write send files (wide and long), the catalogue feed and a manifest; record the audience.

        Only consenting, unsuppressed customers outside the global control group are sent."""
        settings = get_settings()
        if audience_sql and audience_sql.endswith(".sql") and Path(audience_sql).exists():
            audience_sql = Path(audience_sql).read_text()
        key = settings.pii.email_hash_key
        manifest = exports.export_campaign(
            warehouse.component_url(settings, "crm"),
            settings.recs,
            campaign,
            out,
            k=k,
            fmt=fmt,
            audience=exports.Audience(segment=segment, sql_text=audience_sql),
            holdout_share=holdout_share,
            run_id=run_id,
            email_hash_key=key.get_secret_value() if key else None,
            audience_url=warehouse.component_url(settings, "bi"),
            control_share=settings.campaigns.global_control_share,
            control_salt=settings.campaigns.global_control_salt,
        )
        console.print(f"campaign files and manifest in {manifest.parent}")
