"""The demo's campaigns: the repository's definitions sent after the nightly publish, their
responses simulated with a planted effect, loaded and measured like any night's data.

``run_campaigns`` is the one call ``recsys demo`` makes after ``recs_publish``:

1. ``crm_campaigns`` for the publish date: plans and delivers the campaigns due on the send
   date (``dbt/campaigns/*.yml``) into ``artifacts/outbox``;
2. simulated responses of those sends (``recsys campaign simulate``): the shop's week after
   its window, the email tools' event exports and the orders the e-mails caused, with a
   planted lift for ``new_for_you`` and none for ``loyal_favourites``;
3. ``shop_ingest`` and ``warehouse_build`` for the last day of the attribution window (the
   loader, the raw gate and dbt, as every night), then ``crm_results``;
4. the uplift of each campaign with its interval, beside the planted truth.
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
from collections.abc import Callable
from pathlib import Path

from rich.console import Console

from recsys.platform.settings import Settings

#: Planted conversion lift per demo campaign (intention to treat; the other has none).
DEMO_EFFECTS = {"new_for_you": 0.04, "loyal_favourites": 0.0}
KEY_VARIABLE = "RECSYS_PII__EMAIL_HASH_KEY"


def _demo_key(settings: Settings) -> None:
    """A stable e-mail hash key for the demo when none is configured (kept beside its data)."""
    if os.environ.get(KEY_VARIABLE):
        return
    stored = settings.data_dir / "demo_email_hash_key"
    if not stored.exists():
        stored.parent.mkdir(parents=True, exist_ok=True)
        stored.touch(mode=0o600)
        stored.write_text(secrets.token_urlsafe(32))
    os.environ[KEY_VARIABLE] = stored.read_text().strip()


def run_campaigns(
    settings: Settings,
    url: str,
    business_date: dt.date,
    size: str,
    log_dir: Path,
    run_dag: Callable[[Settings, str, str, dt.date, Path], None],
    progress: Callable[[str], object] = print,
) -> None:
    """Send, simulate, load, measure and print the demo's campaigns (see the module doc)."""
    from recsys.campaigns import results
    from recsys.cli.campaign_cmd import results_table, send_date_of, simulate
    from recsys.platform import roles

    _demo_key(settings)
    progress(f"crm_campaigns {business_date}")
    run_dag(settings, url, "crm_campaigns", business_date, log_dir)
    progress(
        "simulated campaign responses (planted lifts: " + ", ".join(f"{k} {v}" for k, v in DEMO_EFFECTS.items()) + ")"
    )
    crm = roles.role_url(url, "crm", settings)
    truth = simulate(settings, crm, size, DEMO_EFFECTS)
    end = send_date_of(settings, business_date) + dt.timedelta(days=settings.campaigns.attribution_days - 1)
    for dag_id in ("shop_ingest", "warehouse_build", "crm_results"):
        progress(f"{dag_id} {end}")
        run_dag(settings, url, dag_id, end, log_dir)
    console = Console()
    measured = results.read_results(crm)
    console.print(results_table(measured))
    for t in truth:
        console.print(
            f"planted in {t['campaign']} ({t['send_date']}): lift {t['conversion_lift']}; true effect on its audience: "
            f"conversion {t['conversion']:+.4f}, revenue per recipient {t['revenue_per_recipient']:+.3f}"
        )
    console.print(
        f"outbox: {settings.outbox_dir}; campaign report: {settings.artifacts_dir / 'campaigns' / 'report.html'}"
    )
