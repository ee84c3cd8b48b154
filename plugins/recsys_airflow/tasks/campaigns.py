"""Tasks of ``crm_campaigns`` (plan, then deliver each due campaign) and ``crm_results``."""

from __future__ import annotations

import datetime as dt

from airflow.sdk import task

from recsys_airflow.tasks.common import warehouse_url


def _send_date(business_date: str) -> dt.date:
    from recsys.platform.settings import get_settings

    return dt.date.fromisoformat(business_date) + dt.timedelta(days=get_settings().recs.send_offset_days)


@task
def plan_campaigns(business_date: str) -> list[str]:
    """Record the audience, arms and items of every campaign due on the send date (one
    transaction, in sending order, so the frequency cap sees the sends planned before);
    the campaigns to deliver."""
    from recsys.campaigns.definitions import load_campaigns
    from recsys.campaigns.delivery import plan_sends
    from recsys.platform.settings import get_settings

    settings = get_settings()
    planned = plan_sends(
        warehouse_url("crm"),
        settings.campaigns,
        _send_date(business_date),
        load_campaigns(settings.campaign_definitions_dir),
        audience_url=warehouse_url("bi"),
    )
    return [p.campaign for p in planned if p.status == "planned"]


@task(max_active_tis_per_dagrun=2)
def deliver_campaign(campaign: str, business_date: str) -> str | None:
    """Write one campaign's files and manifest into its outbox (or its object-storage URL)
    atomically and record the delivery; a send already delivered is skipped."""
    from recsys.campaigns.definitions import load_campaigns
    from recsys.campaigns.delivery import deliver
    from recsys.platform.settings import get_settings
    from recsys_airflow.outbox import upload_folder

    settings = get_settings()
    definition = next(c for c in load_campaigns(settings.campaign_definitions_dir) if c.name == campaign)
    key = settings.pii.email_hash_key
    return deliver(
        warehouse_url("crm"),
        definition,
        _send_date(business_date),
        recs_config=settings.recs,
        config=settings.campaigns,
        outbox_dir=settings.outbox_dir,
        email_hash_key=key.get_secret_value() if key else "",
        upload=upload_folder,
    )


@task
def measure_campaigns(business_date: str) -> int:
    """Uplift of every delivered send from tonight's marts into recs.campaign_results."""
    from recsys.campaigns.results import measure
    from recsys.platform.settings import get_settings

    measured = measure(
        warehouse_url("crm"), warehouse_url("bi"), get_settings().campaigns, dt.date.fromisoformat(business_date)
    )
    return len(measured)


@task
def campaign_report(business_date: str, measured: int) -> str | None:
    """The HTML campaign report (artifacts/campaigns/report.html)."""
    from recsys.campaigns import report, results
    from recsys.platform.settings import get_settings

    found = results.read_results(warehouse_url("crm"))
    if found.empty:
        return None
    arms = results.read_arms(warehouse_url("bi"))
    path = get_settings().artifacts_dir / "campaigns" / "report.html"
    return str(report.write_report(found, arms, business_date, path))
