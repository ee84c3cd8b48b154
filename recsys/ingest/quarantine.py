"""The raw gate's state on each load batch: pending, passed, quarantined, released, replaced.

The verdict lives on the batch, not on a DAG run, so a rerun cannot wave bad data through:
a quarantined batch is judged again by every later gate until its file is replaced (a new
content of the same file name marks it ``replaced``) or an operator releases it with a
reason (:func:`release`, kept in ``dq.releases``).  dbt's staging models read passed and
released batches only (``stg_shop__load_batches.is_admitted``).
"""

from __future__ import annotations

import datetime as dt
import getpass
from dataclasses import dataclass

import psycopg

from recsys.platform import warehouse
from recsys.platform.sqlfiles import SqlFiles

_sql = SqlFiles(__name__)

PENDING, PASSED, QUARANTINED, RELEASED, REPLACED = "pending", "passed", "quarantined", "released", "replaced"
#: Shortest reason a release is recorded with: it is read by whoever audits the data later.
MIN_REASON = 10


@dataclass(frozen=True)
class GatedBatch:
    """A load batch waiting for the raw gate's verdict."""

    batch_id: int
    source: str
    file_name: str
    logical_date: dt.date
    gate_status: str


def batches_to_gate(url: str, logical_date: dt.date) -> list[GatedBatch]:
    """Succeeded batches up to ``logical_date`` that are pending or quarantined, oldest first."""
    with warehouse.connect(url) as conn:
        rows = conn.execute(_sql("quarantine_to_gate.sql"), {"logical_date": logical_date}).fetchall()
    return [GatedBatch(*row) for row in rows]


def record_verdicts(url: str, passed: list[int], quarantined: list[int]) -> None:
    """Mark the batches the gate judged, in one transaction."""
    with warehouse.transaction(url) as conn:
        for status, ids in ((PASSED, passed), (QUARANTINED, quarantined)):
            if ids:
                conn.execute(_sql("quarantine_record.sql"), {"gate_status": status, "batch_ids": ids})


def replace_quarantined(conn: psycopg.Connection, source: str, file_name: str, batch_id: int) -> int:
    """Inside a load's transaction: earlier quarantined contents of the same file are replaced."""
    return conn.execute(
        _sql("quarantine_replace.sql"), {"source": source, "file_name": file_name, "batch_id": batch_id}
    ).rowcount


@dataclass(frozen=True)
class Release:
    batch_id: int
    released_at: dt.datetime
    released_by: str


def release(url: str, batch_id: int, reason: str, *, released_by: str | None = None) -> Release:
    """Let a quarantined batch through, recording who and why in ``dq.releases``.

    Raises
    ------
    ValueError
        The reason is shorter than :data:`MIN_REASON` characters.
    LookupError
        No such batch, or the batch is not quarantined (the message says its state).
    """
    if len(reason.strip()) < MIN_REASON:
        raise ValueError(f"a release needs a reason of at least {MIN_REASON} characters, got {reason!r}")
    by = released_by or getpass.getuser()
    with warehouse.transaction(url) as conn:
        row = conn.execute(
            _sql("quarantine_release.sql"),
            {"batch_id": batch_id, "reason": reason.strip(), "released_by": by},
        ).fetchone()
        if row is None:
            found = conn.execute(_sql("quarantine_batch.sql"), {"batch_id": batch_id}).fetchone()
            if found is None:
                raise LookupError(f"no load batch {batch_id} in raw.load_batches")
            raise LookupError(
                f"batch {batch_id} ({found[1]} {found[2]}) is {found[5]}, not quarantined: nothing to release"
            )
    return Release(batch_id, row[1], by)
