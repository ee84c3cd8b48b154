"""Plan and deliver the campaigns due on a send date.

:func:`plan_sends` runs once per send date, in one transaction, campaigns in sending order:
it picks each campaign's audience among the customers with a published list, excludes who
may not be mailed (:mod:`recsys.campaigns.eligibility`, the frequency cap counting the
sends planned before it), splits the rest into arms and records them with their items
(``recs.campaign_audiences``, ``recs.campaign_items``).  :func:`deliver` then writes one
campaign's files from that record into the outbox (:mod:`recsys.campaigns.outbox`) and
records the delivery; a send already delivered is skipped, and the skip is logged.  The
Airflow DAG maps one ``deliver`` task over the planned campaigns.

Nothing in the files depends on when or how often they were written: the same campaign,
date and inputs give the same bytes.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from psycopg.types.json import Jsonb

from recsys.campaigns import layouts, outbox
from recsys.campaigns.definitions import NEEDS_ADDRESS, Campaign
from recsys.campaigns.eligibility import Rules, assign
from recsys.pgio import frames
from recsys.pgio.copy_stream import copy_binary_stream
from recsys.platform import warehouse
from recsys.platform.settings import CampaignsConfig, RecsConfig
from recsys.platform.sqlfiles import SqlFiles
from recsys.publishing import export_files, exports

log = logging.getLogger(__name__)
_sql = SqlFiles(__name__)

DELIVERED, SKIPPED = "delivered", "skipped"
HOLDOUT_FILE = "holdout"
#: Uploads a finished local send folder to a URL destination; returns where it landed.
Upload = Callable[[Path, str], str]


@dataclass(frozen=True)
class Planned:
    """What planning did with one due campaign."""

    campaign: str
    status: str  # planned, or skipped (already delivered)
    counts: dict


def _log(conn, campaign: str, send_date: dt.date, action: str, reason: str) -> None:
    conn.execute(
        _sql("campaign_log.sql"), {"campaign": campaign, "send_date": send_date, "action": action, "reason": reason}
    )


def _delivered(conn, campaign: str, send_date: dt.date) -> str | None:
    row = conn.execute(_sql("campaign_delivered.sql"), {"campaign": campaign, "send_date": send_date}).fetchone()
    return None if row is None else row[0]


def current_run(conn, send_date: dt.date) -> str:
    """The published run whose lists are for ``send_date``.

    Raises
    ------
    LookupError
        No current run has that context date: a send never goes out with another day's lists.
    """
    row = conn.execute(_sql("campaign_current_run.sql"), {"send_date": send_date}).fetchone()
    if row is None:
        raise LookupError(
            f"no published recommendations for send date {send_date}: publish the run of the day before first "
            "(recsys publish run --date D)"
        )
    return row[0]


def plan_sends(
    url: str,
    config: CampaignsConfig,
    send_date: dt.date,
    campaigns: list[Campaign],
    *,
    audience_url: str | None = None,
) -> list[Planned]:
    """Record the audience, arms and items of every campaign of ``campaigns`` due on
    ``send_date`` that is not delivered yet, in one transaction (``url``: the CRM role's;
    ``audience_url``: the read-only BI role's, for audience queries)."""
    due = [c for c in campaigns if c.is_due(send_date)]
    planned: list[Planned] = []
    with warehouse.transaction(url) as conn:
        conn.execute(_sql("campaign_lock.sql"), {"key": f"plan:{send_date}"})
        run_id = current_run(conn, send_date) if due else None
        for campaign in due:
            keys = {"campaign": campaign.name, "send_date": send_date}
            if _delivered(conn, campaign.name, send_date) is not None:
                _log(conn, campaign.name, send_date, SKIPPED, "already delivered; not planned again")
                planned.append(Planned(campaign.name, SKIPPED, {}))
                continue
            ids = (
                exports.audience_ids(audience_url, campaign.audience.sql)
                if campaign.audience.sql and audience_url
                else None
            )
            if campaign.audience.sql and audience_url is None:
                raise ValueError(f"campaign {campaign.name}: an audience query needs the read-only role's URL")
            params = {"segment": campaign.audience.segment, "country": campaign.audience.country, "ids": ids}
            contacts = frames.query_frame(conn, _sql("campaign_contacts.sql"), params)
            recent = frames.query_frame(conn, _sql("campaign_recent_sends.sql"), keys | {"days": config.frequency_days})
            rules = Rules(
                campaign.holdout_share,
                config.global_control_share,
                config.global_control_salt,
                config.frequency_cap,
                campaign.layout in NEEDS_ADDRESS,
            )
            assigned, excluded = assign(contacts, campaign.name, recent.set_index("customer_id")["sends"], rules)
            conn.execute(_sql("campaign_clear_audience.sql"), keys)
            conn.execute(_sql("campaign_clear_items.sql"), keys)
            rows = assigned.assign(
                campaign=campaign.name, send_date=send_date, run_id=run_id, holdout_share=campaign.holdout_share
            )
            with copy_binary_stream(conn, exports.AUDIENCE_TABLE, exports.AUDIENCE_COLUMNS) as copy:
                copy(rows)
            conn.execute(
                _sql("campaign_items_insert.sql"),
                keys | {"run_id": run_id, "customers": assigned["customer_id"].tolist(), "k": campaign.k},
            )
            counts = (
                {"audience": len(contacts)}
                | assigned["arm"].value_counts().to_dict()
                | {f"excluded_{reason}": n for reason, n in excluded.items()}
            )
            planned.append(Planned(campaign.name, "planned", counts))
            log.info("campaign %s for %s planned: %s", campaign.name, send_date, counts)
    return planned


def _send_rows(conn, campaign: Campaign, send_date: dt.date, config: RecsConfig, key: str) -> tuple[pd.DataFrame, str]:
    """The planned send's rows with product fields and reasons in words, and its run."""
    rows = frames.query_frame(conn, _sql("campaign_send_rows.sql"), {"campaign": campaign.name, "send_date": send_date})
    if rows.empty:
        raise LookupError(f"campaign {campaign.name} has no plan for {send_date}: plan it first (recsys campaign run)")
    products = exports.product_fields(conn)
    rows = rows.merge(products, on="product_id", how="left")
    rows = exports.with_urls(rows.assign(product_id=rows["product_id"].fillna("")), config)
    titles = dict(zip(products["product_id"], products["title"].fillna(products["product_id"])))
    rows["reason"] = layouts.reason_text(rows["reason_code"], rows["reason_ref"], titles)
    rows["email_hash"] = exports.email_hashes(rows["email"], key)
    return rows, str(rows["run_id"].iloc[0])


def _manifest(files: list[tuple[Path, int]], fixed: dict) -> dict:
    return fixed | {
        "files": {
            path.name: {"rows": n, "bytes": path.stat().st_size, "sha256": export_files.sha256_of(path)}
            for path, n in files
        }
    }


def deliver(
    url: str,
    campaign: Campaign,
    send_date: dt.date,
    *,
    recs_config: RecsConfig,
    config: CampaignsConfig,
    outbox_dir: Path,
    email_hash_key: str,
    upload: Upload | None = None,
) -> str | None:
    """Write one planned send into the outbox and record it; the location, or None when the
    send was already delivered (the skip is logged in ``recs.campaign_log``).

    A URL destination (``s3://...``) is written to ``outbox_dir`` first and then handed to
    ``upload`` (the DAG passes one built on Airflow's ObjectStoragePath); the delivery is
    recorded only once the files are where they belong.
    """
    if not email_hash_key:
        raise ValueError("campaign files hash e-mail addresses with the shop's key: set RECSYS_PII__EMAIL_HASH_KEY")
    if outbox.is_url(campaign.destination) and upload is None:
        raise ValueError(
            f"campaign {campaign.name} goes to {campaign.destination}: URL destinations are delivered by the "
            "crm_campaigns DAG (Airflow's ObjectStoragePath)"
        )
    name = campaign.tool_campaign_name(send_date)
    with warehouse.transaction(url) as conn:
        conn.execute(_sql("campaign_lock.sql"), {"key": f"deliver:{name}"})
        if (where := _delivered(conn, campaign.name, send_date)) is not None:
            _log(conn, campaign.name, send_date, SKIPPED, f"already delivered to {where}")
            log.info("campaign %s for %s already delivered to %s: skipped", campaign.name, send_date, where)
            return None
        rows, run_id = _send_rows(conn, campaign, send_date, recs_config, email_hash_key)
        treated = rows[(rows["arm"] == exports.TREATMENT) & rows["rank"].notna()].astype({"rank": int})
        held = rows.loc[rows["arm"] != exports.TREATMENT, ["customer_id", "arm"]].drop_duplicates()
        counts = rows.drop_duplicates("customer_id")["arm"].value_counts().to_dict()
        fixed = {
            "campaign": campaign.name,
            "send_date": f"{send_date:%Y-%m-%d}",
            "tool_campaign_name": name,
            "layout": campaign.layout,
            "format": campaign.format,
            "run_id": run_id,
            "k": campaign.k,
            "currency": config.currency,
            "holdout_share": campaign.holdout_share,
            "global_control_share": config.global_control_share,
            "counts": {"sent": len(treated["customer_id"].unique())} | counts,
        }

        def write(folder: Path) -> dict:
            send = layouts.send_file(treated, campaign.layout, campaign.k, config.currency)
            files = [
                (export_files.write_table(send, folder / f"send_{campaign.layout}", campaign.format), len(send)),
                (export_files.write_table(held.reset_index(drop=True), folder / HOLDOUT_FILE, "csv"), len(held)),
            ]
            manifest = _manifest(files, fixed)
            (folder / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
            return manifest

        local_root = (
            Path(outbox_dir) if outbox.is_url(campaign.destination) else Path(campaign.destination or outbox_dir)
        )
        folder, manifest = outbox.write_folder(local_root, name, write)
        location = (
            upload(folder, str(campaign.destination)) if upload and outbox.is_url(campaign.destination) else str(folder)
        )
        conn.execute(
            _sql("campaign_delivery_record.sql"),
            {
                "campaign": campaign.name,
                "send_date": send_date,
                "run_id": run_id,
                "layout": campaign.layout,
                "tool_campaign_name": name,
                "destination": campaign.destination or "outbox",
                "location": location,
                "attribution_days": campaign.attribution_days or config.attribution_days,
                "holdout_share": campaign.holdout_share,
                "counts": Jsonb(manifest["counts"]),
                "definition": Jsonb(campaign.model_dump(mode="json")),
                "manifest_sha256": export_files.sha256_of(folder / "manifest.json"),
            },
        )
        _log(conn, campaign.name, send_date, DELIVERED, f"{manifest['counts']['sent']} customers to {location}")
    log.info("campaign %s for %s delivered to %s", campaign.name, send_date, location)
    return location
