"""Tasks of ``shop_ingest``."""

from __future__ import annotations

import datetime as dt
import logging

from airflow.sdk import Metadata, task
from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException

from recsys_airflow.assets import RAW_SHOP_DATA
from recsys_airflow.dates import BUSINESS_DATE_KEY
from recsys_airflow.tasks.common import warehouse_url

log = logging.getLogger(__name__)

OLTP_CONN_ID = "shop_oltp"


def _summaries(results) -> list[dict]:
    """Small, JSON-friendly XCom: one dict per batch."""
    return [
        {
            "batch_id": r.batch_id,
            "source": r.source,
            "file_name": r.file_name,
            "rows_read": r.rows_read,
            "rows_loaded": r.rows_loaded,
            "rows_rejected": r.rows_rejected,
            "skipped": r.skipped,
        }
        for r in results
    ]


@task
def load_landing_files(business_date: str) -> list[dict]:
    """COPY every new landing file dated on or before the business date into ``raw``.

    A refused file (bad header, truncated, a manifest it does not match) fails the task
    without retries, after every other file has loaded: a retry cannot fix a file.
    """
    from recsys.ingest.landing import load_landing
    from recsys.platform.settings import get_settings

    settings = get_settings()
    results = load_landing(warehouse_url("loader"), settings.landing_dir, dt.date.fromisoformat(business_date))
    for r in results:
        log.info(
            "%s %s: read %s, loaded %s, rejected %s%s",
            r.source,
            r.file_name,
            r.rows_read,
            r.rows_loaded,
            r.rows_rejected,
            " (already loaded, skipped)" if r.skipped else "",
        )
    refused = [r for r in results if r.failed]
    if refused:
        raise AirflowFailException(
            f"{len(refused)} landing file(s) refused (the others loaded; replace these and rerun): "
            + "; ".join(f"{r.source}/{r.error}" for r in refused)
        )
    return _summaries(results)


@task
def load_shop_oltp(business_date: str) -> list[dict]:
    """Incremental read of the shop's OLTP tables; skipped without a ``shop_oltp`` connection."""
    from airflow.sdk import BaseHook

    from recsys.ingest.oltp import load_oltp
    from recsys_airflow.hooks.warehouse import WarehouseHook

    try:
        BaseHook.get_connection(OLTP_CONN_ID)
    except Exception as exc:
        raise AirflowSkipException(f"no '{OLTP_CONN_ID}' connection: nothing to extract ({exc})") from None
    source_url = WarehouseHook(OLTP_CONN_ID).get_warehouse_url()
    return _summaries(load_oltp(warehouse_url("loader"), source_url, dt.date.fromisoformat(business_date)))


@task(outlets=[RAW_SHOP_DATA])
def announce_raw_data(business_date: str):
    """Tell ``warehouse_build`` that raw data for the business date is in."""
    yield Metadata(RAW_SHOP_DATA, extra={BUSINESS_DATE_KEY: business_date})
