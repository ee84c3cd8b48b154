"""Tasks of ``recs_publish``: begin a run, score customer ranges (mapped), check and swap."""

from __future__ import annotations

import datetime as dt

from airflow.sdk import Metadata, task

from recsys_airflow.assets import PUBLISHED_RECOMMENDATIONS
from recsys_airflow.dates import BUSINESS_DATE_KEY
from recsys_airflow.tasks.common import warehouse_url


@task
def begin_publish_run(business_date: str) -> dict:
    """A new ``recs.runs`` row with empty run tables, and the customer ranges to score."""
    from recsys.platform.settings import get_settings
    from recsys.publishing.job import prepare_run

    prepared = prepare_run(warehouse_url("publisher"), get_settings(), dt.date.fromisoformat(business_date))
    return {"run_id": prepared["run_id"], "ranges": [list(r) for r in prepared["ranges"]]}


@task
def customer_ranges(prepared: dict) -> list[list[int]]:
    """The ranges to fan out over (one mapped scoring task each)."""
    return prepared["ranges"]


@task(max_active_tis_per_dagrun=2)
def score_customer_range(customer_range: list[int], prepared: dict) -> int:
    """Score customers ``start:stop`` and COPY their lists into the run's table (idempotent)."""
    from recsys.platform.settings import get_settings
    from recsys.publishing.job import score_range

    start, stop = customer_range
    return score_range(warehouse_url("publisher"), get_settings(), prepared["run_id"], start, stop)


@task
def check_and_swap(business_date: str, prepared: dict, written: list[int]) -> dict:
    """Similar/popular items, the output quality gate on the new tables, then one-transaction swap.

    A failed gate raises before the swap: readers keep the previous run.
    """
    from recsys.platform.settings import get_settings
    from recsys.publishing.job import finalize_run
    from recsys_expectations.gates import recommendations_gate

    settings = get_settings()
    day = dt.date.fromisoformat(business_date)
    gate = recommendations_gate(warehouse_url("quality"), settings, day)
    info = finalize_run(warehouse_url("publisher"), settings, prepared["run_id"], validate=gate)
    return {"run_id": info.run_id, "status": info.status, "rows": sum(written)}


@task(outlets=[PUBLISHED_RECOMMENDATIONS])
def announce_published(business_date: str, published: dict):
    """Tell downstream consumers (CRM exports, BI refreshes) a new set is live."""
    yield Metadata(PUBLISHED_RECOMMENDATIONS, extra={BUSINESS_DATE_KEY: business_date, "run_id": published["run_id"]})
