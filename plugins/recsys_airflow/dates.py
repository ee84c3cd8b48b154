"""The business date of a run, whatever triggered it."""

from __future__ import annotations

import datetime as dt

BUSINESS_DATE_KEY = "business_date"


def business_date(context) -> dt.date:
    """The date a run processes.

    A scheduled or manual run (and ``airflow dags test``) has a logical date; an
    asset-triggered run carries the producer's date in its asset events' ``extra``.
    The latest such date wins when several events were queued.
    """
    logical = context.get("logical_date")
    if logical is not None:
        return logical.date()
    dates = [
        dt.date.fromisoformat(event.extra[BUSINESS_DATE_KEY])
        for events in (context.get("triggering_asset_events") or {}).values()
        for event in events
        if BUSINESS_DATE_KEY in (event.extra or {})
    ]
    if not dates:
        raise ValueError(
            "run has neither a logical date nor an asset event with a business_date extra; "
            "trigger it with a logical date or from an upstream recsys DAG"
        )
    return max(dates)
