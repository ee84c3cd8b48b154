"""Measure every delivered send: read its recipients from the marts, compute the uplift,
record it in ``recs.campaign_results`` (the BI view ``bi.bi_campaign_uplift`` reads it).

The recipients are read as the read-only BI role (the marts are its to read) and the
results written as the CRM role; a send is measured again every night until its
attribution window has closed, so a rerun for the same date converges to the same rows.
"""

from __future__ import annotations

import datetime as dt
import logging

import pandas as pd

from recsys.campaigns import uplift
from recsys.pgio import frames
from recsys.platform import warehouse
from recsys.platform.settings import CampaignsConfig
from recsys.platform.sqlfiles import SqlFiles

log = logging.getLogger(__name__)
_sql = SqlFiles(__name__)


def measure(crm_url: str, bi_url: str, config: CampaignsConfig, as_of_date: dt.date) -> pd.DataFrame:
    """Uplift of every delivered send with recipients in the marts; the rows written.

    Returns one row per campaign, send date, metric and comparison.
    """
    with warehouse.connect(crm_url) as conn:
        sends = frames.query_frame(conn, _sql("campaign_deliveries.sql"))
    measured = []
    for send in sends.itertuples(index=False):
        keys = {"campaign": send.campaign, "send_date": send.send_date}
        with warehouse.connect(bi_url) as conn:
            recipients = frames.query_frame(conn, _sql("campaign_recipients.sql"), keys)
        if recipients.empty:
            log.info("campaign %s of %s: no recipients in the marts yet", send.campaign, send.send_date)
            continue
        rows = uplift.analyze(
            recipients,
            float(send.holdout_share),
            config.global_control_share,
            confidence_level=config.confidence_level,
            srm_alpha=config.srm_alpha,
        ).assign(
            campaign=send.campaign,
            send_date=send.send_date,
            confidence_level=config.confidence_level,
            window_closed=bool(recipients["window_closed"].all()),
            as_of_date=as_of_date,
        )
        measured.append(rows)
        with warehouse.transaction(crm_url) as conn:
            conn.execute(_sql("campaign_results_clear.sql"), keys)
            for row in rows.astype(object).where(rows.notna(), None).to_dict("records"):
                conn.execute(_sql("campaign_results_insert.sql"), row)
        flagged = rows[rows["srm_flag"]]
        if len(flagged):
            log.warning(
                "campaign %s of %s: sample-ratio mismatch (p=%.2g): the split is broken, do not trust its effects",
                send.campaign,
                send.send_date,
                flagged["srm_p_value"].min(),
            )
    return pd.concat(measured, ignore_index=True) if measured else pd.DataFrame(columns=[*uplift.RESULT_COLUMNS])


def read_results(url: str) -> pd.DataFrame:
    """Every recorded result (``recs.campaign_results``), for reports and the CLI."""
    with warehouse.connect(url) as conn:
        return frames.query_frame(conn, _sql("campaign_results.sql"))


def read_arms(bi_url: str) -> pd.DataFrame:
    """The funnel and outcomes of every arm of every send (``marts.fct_campaign_arms``)."""
    with warehouse.connect(bi_url) as conn:
        return frames.query_frame(conn, _sql("campaign_arms.sql"))
