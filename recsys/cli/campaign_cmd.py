"""``recsys campaign``: campaigns as code, from definitions to measured uplift.

``list`` and ``validate`` read the definitions folder; ``run`` plans and delivers the
campaigns due on a send date (the published run's date) into the outbox; ``measure``
computes the uplift of every delivered send from the marts; ``report`` writes the HTML
report; ``simulate`` writes generated responses of delivered sends into the landing folder
(a generated shop only: it plants a known effect to check the estimator against).
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pandas as pd
import typer
from rich.console import Console
from rich.table import Table

from recsys.platform import warehouse
from recsys.platform.settings import Settings, get_settings
from recsys.platform.sqlfiles import SqlFiles

console = Console()
_sql = SqlFiles(__name__)


def send_date_of(settings: Settings, business_date: dt.date) -> dt.date:
    """The send date of a business date's published lists (``RECSYS_RECS__SEND_OFFSET_DAYS`` later)."""
    return business_date + dt.timedelta(days=settings.recs.send_offset_days)


def run_due(settings: Settings, business_date: dt.date) -> list[tuple[str, str]]:
    """Plan, then deliver every campaign due on the send date of ``business_date``:
    ``(campaign, outcome)`` pairs.  URL destinations are left to the DAG."""
    from recsys.campaigns import delivery, outbox
    from recsys.campaigns.definitions import load_campaigns

    campaigns = load_campaigns(settings.campaign_definitions_dir)
    send_date = send_date_of(settings, business_date)
    crm = warehouse.component_url(settings, "crm")
    planned = delivery.plan_sends(
        crm, settings.campaigns, send_date, campaigns, audience_url=warehouse.component_url(settings, "bi")
    )
    key = settings.pii.email_hash_key
    outcomes = []
    by_name = {c.name: c for c in campaigns}
    for plan in planned:
        campaign = by_name[plan.campaign]
        if plan.status == delivery.SKIPPED:
            outcomes.append((plan.campaign, "skipped: already delivered"))
        elif outbox.is_url(campaign.destination):
            outcomes.append((plan.campaign, f"planned: {campaign.destination} is delivered by the crm_campaigns DAG"))
        else:
            location = delivery.deliver(
                crm,
                campaign,
                send_date,
                recs_config=settings.recs,
                config=settings.campaigns,
                outbox_dir=settings.outbox_dir,
                email_hash_key=key.get_secret_value() if key else "",
            )
            outcomes.append((plan.campaign, f"delivered: {location}" if location else "skipped: already delivered"))
    return outcomes


def results_table(results: pd.DataFrame, title: str = "campaign uplift (treatment - control, 95 % interval)") -> Table:
    table = Table(title=title)
    for name in ("campaign", "send date", "metric", "vs", "n treat", "n ctrl", "effect", "interval", "p", "split"):
        table.add_column(name, justify="right" if name in ("n treat", "n ctrl", "effect", "p") else "left")
    for r in results.itertuples(index=False):
        interval = "" if pd.isna(r.ci_lower) else f"[{r.ci_lower:+.4g}, {r.ci_upper:+.4g}]"
        table.add_row(
            r.campaign,
            str(r.send_date),
            r.metric,
            r.comparison,
            f"{r.n_treatment:,}",
            f"{r.n_control:,}",
            "" if pd.isna(r.effect) else f"{r.effect:+.4g}",
            interval,
            "" if pd.isna(r.p_value) else f"{r.p_value:.3g}",
            "SRM!" if r.srm_flag else "ok",
        )
    return table


def simulate(settings: Settings, url: str, size: str, effects: dict[str, float], seed: int | None = None) -> list[dict]:
    """Generated responses of every delivered send with a planted effect per campaign
    (``effects``; others none), written into the landing folder; the true effects.

    The shop is the generator preset ``size`` (the one the landing folder was generated from).
    """
    from recsys.generator import campaigns as simulation
    from recsys.generator.shop import TRUTH_DIR
    from recsys.generator.spec import shop_spec
    from recsys.pgio import frames

    with warehouse.connect(url) as conn:
        sends = frames.query_frame(conn, _sql("campaign_sends.sql"))
        plans = {
            (s.campaign, s.send_date): tuple(
                frames.query_frame(conn, _sql(name), {"campaign": s.campaign, "send_date": s.send_date})
                for name in ("campaign_send_arms.sql", "campaign_send_items.sql")
            )
            for s in sends.itertuples(index=False)
        }
    planted = [
        simulation.Send(
            campaign=s.campaign,
            send_date=s.send_date,
            tool="klaviyo" if s.layout == "klaviyo" else "braze",
            tool_campaign_name=s.tool_campaign_name,
            attribution_days=int(s.attribution_days),
            assignments=plans[(s.campaign, s.send_date)][0],
            items=plans[(s.campaign, s.send_date)][1],
            effect=simulation.CampaignEffect(conversion_lift=effects.get(s.campaign, 0.0)),
        )
        for s in sends.itertuples(index=False)
    ]
    if not planted:
        raise LookupError("no delivered campaign sends to simulate responses for: run the campaigns first")
    _, responses = simulation.write_window(
        shop_spec(size), planted, settings.landing_dir, pre_period_days=_pre_period_days(settings), seed=seed
    )
    truth = [r.truth for r in responses]
    folder = settings.landing_dir / TRUTH_DIR
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "campaigns.json").write_text(json.dumps(truth, indent=2, default=str) + "\n")
    return truth


def _pre_period_days(settings: Settings) -> int:
    from recsys.platform.dbt_project import dbt_vars

    return int(dbt_vars(settings.dbt_project_dir / "dbt_project.yml").get("campaign_pre_period_days", 90))


def register(app: typer.Typer) -> None:
    group = typer.Typer(help="Campaigns as code: list, validate, run, measure, report.", no_args_is_help=True)

    @group.command("list")
    def list_campaigns(
        date: dt.datetime = typer.Option(
            None, "--date", formats=["%Y-%m-%d"], help="Show which are due on this send date."
        ),
    ) -> None:
        """The campaign definitions and, with --date, whether each goes out that day."""
        from recsys.campaigns.definitions import load_campaigns

        settings = get_settings()
        table = Table(title=f"campaigns in {settings.campaign_definitions_dir}")
        for name in ("name", "layout", "audience", "k", "holdout", "cadence", "destination", "due"):
            table.add_column(name)
        for c in load_campaigns(settings.campaign_definitions_dir):
            audience = (
                c.audience.sql and "sql" or ", ".join(f"{k}={v}" for k, v in c.audience.model_dump().items() if v)
            )
            due = "" if date is None else ("yes" if c.is_due(date.date()) else "no")
            table.add_row(
                c.name,
                c.layout,
                audience or "all",
                str(c.k),
                f"{c.holdout_share:.0%}",
                c.cadence,
                c.destination or "outbox",
                due,
            )
        console.print(table)

    @group.command("validate")
    def validate(
        folder: Path = typer.Option(
            None, "--dir", help="Definitions folder (default RECSYS_CAMPAIGNS__DEFINITIONS_DIR)."
        ),
    ) -> None:
        """Check every definition; one line per problem, exit 1 on the first bad file."""
        from recsys.campaigns.definitions import load_campaigns

        found = load_campaigns(folder or get_settings().campaign_definitions_dir)
        console.print(f"{len(found)} campaign(s) valid: {', '.join(c.name for c in found)}")

    @group.command("run")
    def run(
        date: dt.datetime = typer.Option(
            ..., "--date", formats=["%Y-%m-%d"], help="Business date (sends its lists' send date)."
        ),
    ) -> None:
        """Plan and deliver the campaigns due on the send date into the outbox (a delivered send is skipped)."""
        for campaign, outcome in run_due(get_settings(), date.date()):
            console.print(f"{campaign}: {outcome}")

    @group.command("measure")
    def measure(
        date: dt.datetime = typer.Option(
            ..., "--date", formats=["%Y-%m-%d"], help="Business date of the marts measured."
        ),
    ) -> None:
        """Uplift of every delivered send (recs.campaign_results) from the marts."""
        from recsys.campaigns import results

        settings = get_settings()
        measured = results.measure(
            warehouse.component_url(settings, "crm"),
            warehouse.component_url(settings, "bi"),
            settings.campaigns,
            date.date(),
        )
        console.print(results_table(measured) if len(measured) else "no sends measured")

    @group.command("report")
    def report(
        out: Path = typer.Option(None, "--out", help="HTML file (default artifacts/campaigns/report.html)."),
    ) -> None:
        """The HTML campaign report: uplift with intervals over time, funnel per arm."""
        from recsys.campaigns import report as html
        from recsys.campaigns import results

        settings = get_settings()
        found = results.read_results(warehouse.component_url(settings, "crm"))
        if found.empty:
            raise LookupError("no measured campaign results: run recsys campaign measure first")
        arms = results.read_arms(warehouse.component_url(settings, "bi"))
        path = html.write_report(
            found, arms, str(found["send_date"].max()), out or settings.artifacts_dir / "campaigns" / "report.html"
        )
        console.print(f"report: {path}")

    @group.command("simulate")
    def simulate_cmd(
        size: str = typer.Option("small", help="Generator preset the landing folder was generated with."),
        effect: list[str] = typer.Option([], help="Planted effect CAMPAIGN=LIFT (ITT conversion probability)."),
    ) -> None:
        """Generated responses (email events, orders) of every delivered send, into the landing folder."""
        settings = get_settings()
        effects = {name: float(value) for name, _, value in (e.partition("=") for e in effect)}
        truth = simulate(settings, warehouse.component_url(settings, "crm"), size, effects)
        for t in truth:
            console.print(
                f"{t['campaign']} {t['send_date']}: planted lift {t['conversion_lift']}, true effect "
                f"conversion {t['conversion']:+.4f}, revenue per recipient {t['revenue_per_recipient']:+.3f}"
            )

    app.add_typer(group, name="campaign")
