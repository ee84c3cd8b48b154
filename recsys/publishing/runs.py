"""Atomic publishing of recommendation runs into schema ``recs``.

A run is built aside and swapped in whole:

1. :func:`begin_run` numbers the run (``<YYYYMMDD>_<n>``, from a sequence) and creates its
   tables ``recs.user_recommendations__<run>``, ``recs.similar_items__<run>`` and
   ``recs.popular_items__<run>`` like the templates of ``ddl_recs.sql``;
2. :func:`write_blocks` COPYs blocks of rows into them; blocks and their bookkeeping
   rows commit together, so a retried Airflow task that wrote its block already writes
   nothing.  The first write of a table truncates it in its own transaction when no other
   block is being written: on a ``wal_level=minimal`` server its COPY then skips the WAL
   (the table is synced at commit instead), which is most of the cost of a large table.
   A single process streams every customer range through that one COPY;
3. :func:`finish_run` indexes and counts the tables, runs the output data-quality check
   (``validate``, given the table name), then in ONE transaction points the views
   ``recs.user_recommendations``, ``recs.similar_items`` and ``recs.popular_items`` at
   the new tables and marks the run current.  A reader's query sees the old run or the
   new one, never a mix: ``create or replace view`` waits for running reads and new
   reads wait for the commit.  Runs beyond the newest ``keep_runs`` lose their tables.
4. :func:`restore_run` swaps an older run back the same way.

This module and :mod:`recsys.publishing.exports` are the only ones that write to ``recs``.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import random
import re
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass

import pandas as pd
from psycopg import errors, sql

from recsys.pgio import frames
from recsys.pgio.copy_stream import copy_binary_stream
from recsys.platform import warehouse
from recsys.platform.sqlfiles import SqlFiles

log = logging.getLogger(__name__)
_sql = SqlFiles(__name__)

#: Each kind of published table: its key (built after loading) and the count it reports.
KINDS: Mapping[str, tuple[str, ...]] = {
    "user_recommendations": ("customer_id", "rank"),
    "similar_items": ("product_id", "rank"),
    "popular_items": ("segment", "country", "rank"),
}
#: Column order of each kind, as in the templates of ddl_recs.sql.
COLUMNS: Mapping[str, tuple[str, ...]] = {
    "user_recommendations": (
        "run_id",
        "customer_id",
        "rank",
        "product_id",
        "score",
        "raw_score",
        "season_factor",
        "event_factor",
        "country_factor",
        "recent_factor",
        "promotion_factor",
        "reason_code",
        "reason_ref",
        "source",
        "model_version",
        "context_date",
        "generated_at",
        "stock_factor",
    ),
    "similar_items": ("run_id", "product_id", "rank", "similar_product_id", "score"),
    "popular_items": ("run_id", "segment", "country", "rank", "product_id", "score"),
}
CURRENT, PREVIOUS, BUILDING, FAILED, PURGED = "current", "previous", "building", "failed", "purged"
_RUN_ID = re.compile(r"^[0-9]{8}_[0-9]+$")

Validator = Callable[[str], None]


@dataclass(frozen=True)
class RunInfo:
    """One row of ``recs.runs``."""

    run_id: str
    status: str
    context_date: dt.date
    model_version: str | None
    k: int
    n_customers: int | None
    n_rows: int | None
    n_similar: int | None
    n_popular: int | None
    timings: dict
    message: str | None
    started_at: dt.datetime
    finished_at: dt.datetime | None
    published_at: dt.datetime | None


def run_table(kind: str, run_id: str) -> sql.Identifier:
    """``recs.<kind>__<run_id>``; both parts checked, as they become an identifier."""
    if kind not in KINDS:
        raise ValueError(f"unknown published table {kind!r}; known: {sorted(KINDS)}")
    if not _RUN_ID.match(run_id):
        raise ValueError(f"{run_id!r} is not a publishing run id (YYYYMMDD_n)")
    return sql.Identifier("recs", f"{kind}__{run_id}")


@dataclass(frozen=True)
class Yielding:
    """How a swap gives way to readers.

    The swap needs every view exclusively for a few milliseconds.  While it waits for a
    view a long read holds, every new reader queues behind it, so it waits at most a lock
    timeout, then lets the readers through and tries again after a short pause.  The
    first timeout is short; each failed try waits longer, up to ``lock_timeout``, so that
    behind back-to-back long reads the swap still finds its moment (a read that ends
    within the timeout) and a reader never waits more than ``lock_timeout``.  Below
    PostgreSQL's ``deadlock_timeout`` (1 s), a reader's transaction that touches the views
    in another order never deadlocks with the swap: the swap gives way first.
    """

    lock_timeout: float = 0.7
    patience: float = 600.0
    first_timeout: float = 0.2

    def timeouts(self) -> Iterator[float]:
        """The lock timeout of each try: from ``first_timeout`` growing to ``lock_timeout``."""
        timeout = min(self.first_timeout, self.lock_timeout)
        while True:
            yield timeout
            timeout = min(timeout * 1.5, self.lock_timeout)


class PublishBlocked(RuntimeError):
    """Readers held the views for longer than the swap's patience."""


def table_name(kind: str, run_id: str) -> str:
    """The run table as text (``recs.user_recommendations__20111209_3``), for validators."""
    run_table(kind, run_id)
    return f"recs.{kind}__{run_id}"


def _execute(conn, name: str, params: Mapping | None = None, **identifiers):
    return conn.execute(sql.SQL(_sql(name)).format(**identifiers), params)


def begin_run(
    url: str,
    context_date: dt.date,
    model_version: str | None,
    k: int,
    started_at: dt.datetime | None = None,
    business_date: dt.date | None = None,
) -> str:
    """Number a new run, record it as ``building`` and create its empty tables.

    ``business_date`` is the night the run is published for (BI reports lists per night);
    ``context_date`` the send date its lists are made for.
    """
    started_at = started_at or dt.datetime.now(dt.UTC)
    with warehouse.transaction(url) as conn:
        number = warehouse.one_row(conn.execute(_sql("publish_next_run_number.sql")))[0]
        run_id = f"{context_date:%Y%m%d}_{number}"
        conn.execute(
            _sql("publish_begin_run.sql"),
            {
                "run_id": run_id,
                "context_date": context_date,
                "business_date": business_date,
                "model_version": model_version,
                "k": k,
                "started_at": started_at,
            },
        )
        for kind in KINDS:
            _execute(
                conn,
                "publish_create_table.sql",
                table=run_table(kind, run_id),
                template=sql.Identifier("recs", f"_{kind}_template"),
            )
    log.info("publishing run %s for %s (model %s) started", run_id, context_date, model_version)
    return run_id


def write_block(url: str, run_id: str, kind: str, frame: pd.DataFrame, block_key: str = "all") -> int:
    """:func:`write_blocks` with one block (one mapped scoring task, or a small table)."""
    return write_blocks(url, run_id, kind, [(block_key, frame)])


def write_blocks(url: str, run_id: str, kind: str, blocks: Iterable[tuple[str, pd.DataFrame]]) -> int:
    """COPY blocks of rows (columns of :data:`COLUMNS` except ``run_id``) into the run, all
    in one transaction and one COPY; ``blocks`` yields ``(block_key, frame)``.

    ``blocks`` may be lazy (a generator scoring each range): the rows go out as they come,
    and a failure while producing them rolls every block back.  Blocks written before (a
    retry) are skipped.  Returns the rows written.
    """
    columns = COLUMNS[kind]
    with warehouse.transaction(url) as conn:
        info = _run(conn, run_id)
        if info.status != BUILDING:
            raise ValueError(f"run {run_id} is {info.status}, not building: start a new run to publish again")
        written = {key for (key,) in conn.execute(_sql("publish_written_blocks.sql"), {"run_id": run_id, "kind": kind})}
        table = run_table(kind, run_id)
        fresh = not written and _claim_empty_table(conn, table)
        recorded = {}
        with copy_binary_stream(conn, table, columns) as write:
            for block_key, frame in blocks:
                if block_key in written or block_key in recorded:
                    log.info("run %s: %s block %s already written, skipped", run_id, kind, block_key)
                    continue
                missing = set(columns) - {"run_id"} - set(frame.columns)
                if missing:
                    raise ValueError(f"rows for {kind} lack columns {sorted(missing)}")
                recorded[block_key] = write(frame.assign(run_id=run_id))
                log.info("run %s: %s block %s, %d rows", run_id, kind, block_key, recorded[block_key])
        for block_key, n_rows in recorded.items():
            conn.execute(
                _sql("publish_record_block.sql"),
                {"run_id": run_id, "kind": kind, "block_key": block_key, "n_rows": n_rows},
            )
    if recorded:
        log.info(
            "run %s: %s, %d rows in %d blocks (%s)",
            run_id,
            kind,
            sum(recorded.values()),
            len(recorded),
            "table truncated in the same transaction" if fresh else "appended",
        )
    return sum(recorded.values())


def _claim_empty_table(conn, table: sql.Composable) -> bool:
    """Truncate ``table`` in this transaction unless another transaction is writing to it
    or has written to it; True when it did.

    PostgreSQL at ``wal_level=minimal`` does not WAL-log a COPY into a table created or
    truncated in the same transaction.  The exclusive lock is only tried (``nowait``): a
    concurrent block keeps the table, and this one appends as usual.
    """
    try:
        with conn.transaction():  # a savepoint: a busy table is not an error
            _execute(conn, "publish_lock_table_nowait.sql", table=table)
    except errors.LockNotAvailable:
        return False
    if _execute(conn, "publish_table_has_rows.sql", table=table).fetchone()[0]:
        return False  # a block committed between the check and the lock
    _execute(conn, "publish_truncate.sql", table=table)
    return True


def _run(conn, run_id: str) -> RunInfo:
    cursor = conn.execute(_sql("publish_run.sql"), {"run_id": run_id})
    row = cursor.fetchone()
    if row is None:
        raise LookupError(f"no publishing run {run_id!r} in recs.runs (see `recsys publish runs`)")
    return RunInfo(**dict(zip([c.name for c in cursor.description], row)))


def get_run(url: str, run_id: str) -> RunInfo:
    """The bookkeeping row of ``run_id``."""
    with warehouse.connect(url) as conn:
        return _run(conn, run_id)


def list_runs(url: str) -> pd.DataFrame:
    """Every publishing run, newest first."""
    with warehouse.connect(url) as conn:
        return frames.query_frame(conn, _sql("publish_runs.sql"))


def finish_run(
    url: str,
    run_id: str,
    *,
    validate: Validator | None = None,
    keep_runs: int = 3,
    timings: Mapping[str, float] | None = None,
    yielding: Yielding = Yielding(),
) -> RunInfo:
    """Index, count and validate a built run, then swap it in and prune old runs.

    Parameters
    ----------
    validate
        Called with the run's recommendations table name (``recs.user_recommendations__<run>``)
        before the swap; it raises to stop the publication (the output data-quality suite).
    keep_runs
        Runs kept with their tables, the current one included (at least 1).
    yielding
        How the swap gives way to readers holding the views.

    Raises
    ------
    Exception
        Whatever ``validate`` raised; the run is then marked ``failed`` and readers keep
        the previous run.
    """
    if keep_runs < 1:
        raise ValueError(f"keep_runs must be at least 1 (the current run), got {keep_runs}")
    started = time.perf_counter()
    counts = _index_and_count(url, run_id)
    timings = dict(timings or {}) | {"index_seconds": round(time.perf_counter() - started, 3)}
    try:
        if validate is not None:
            check_started = time.perf_counter()
            validate(table_name("user_recommendations", run_id))
            timings["validate_seconds"] = round(time.perf_counter() - check_started, 3)
    except Exception as exc:
        fail_run(url, run_id, f"output check failed: {exc}")
        raise
    with warehouse.transaction(url) as conn:
        conn.execute(
            _sql("publish_finish_run.sql"),
            counts | {"run_id": run_id, "timings": json.dumps(timings), "finished_at": _now()},
        )
    info = swap_in(url, run_id, yielding)
    prune_runs(url, keep_runs, current=run_id, lock_timeout=yielding.lock_timeout)
    return info


def fail_run(url: str, run_id: str, message: str) -> None:
    """Mark a run ``failed`` (scoring raised, or its output check did): readers keep the
    current run, and the failed run's tables go at the next pruning."""
    with warehouse.transaction(url) as conn:
        conn.execute(_sql("publish_fail_run.sql"), {"run_id": run_id, "message": message[:2000], "finished_at": _now()})
    log.error("run %s failed and was not published: %s", run_id, message)


def _index_and_count(url: str, run_id: str) -> dict[str, int]:
    counts = {}
    with warehouse.transaction(url) as conn:
        info = _run(conn, run_id)
        if info.status != BUILDING:
            raise ValueError(f"run {run_id} is {info.status}: only a building run can be finished")
        for kind, key in KINDS.items():
            table = run_table(kind, run_id)
            _execute(
                conn,
                "publish_index.sql",
                index=sql.Identifier(f"{kind}__{run_id}_key"),
                table=table,
                columns=sql.SQL(", ").join(map(sql.Identifier, key)),
            )
            _execute(conn, "publish_analyze.sql", table=table)
            n_rows, n_keys = _execute(conn, "publish_counts.sql", table=table, key=sql.Identifier(key[0])).fetchone()
            counts[kind] = (n_rows, n_keys)
    return {
        "n_rows": counts["user_recommendations"][0],
        "n_customers": counts["user_recommendations"][1],
        "n_similar": counts["similar_items"][0],
        "n_popular": counts["popular_items"][0],
    }


def swap_in(url: str, run_id: str, yielding: Yielding = Yielding()) -> RunInfo:
    """Point every reader-facing view at ``run_id``'s tables in one transaction, giving way
    to readers (:class:`Yielding`)."""
    deadline = time.monotonic() + yielding.patience
    for attempt, timeout in enumerate(yielding.timeouts(), 1):
        try:
            return _swap_once(url, run_id, timeout)
        except errors.LockNotAvailable:
            if time.monotonic() > deadline:
                raise PublishBlocked(
                    f"run {run_id}: readers held the recs views for {yielding.patience:.0f} s "
                    f"({attempt} tries); the run stays finished: publish it with `recsys publish restore`"
                ) from None
            log.info("run %s: the views are in use (try %d), the swap lets readers through", run_id, attempt)
            time.sleep(random.uniform(0.02, 0.2))
    raise AssertionError("unreachable: timeouts() never ends")


def _swap_once(url: str, run_id: str, lock_timeout: float) -> RunInfo:
    with warehouse.transaction(url) as conn:
        conn.execute(_sql("publish_lock.sql"))
        info = _run(conn, run_id)
        if info.status not in (BUILDING, CURRENT, PREVIOUS):
            raise ValueError(f"run {run_id} is {info.status}: only a finished or kept run can be published")
        if info.status == BUILDING and info.finished_at is None:
            raise ValueError(f"run {run_id} is still building: finish it first")
        conn.execute(sql.SQL("set local lock_timeout = {}").format(sql.Literal(f"{int(lock_timeout * 1000)}ms")))
        if _views_exist(conn):
            conn.execute(_sql("publish_lock_views.sql"))
        for kind in KINDS:
            _execute(conn, "publish_swap_view.sql", view=sql.Identifier("recs", kind), table=run_table(kind, run_id))
        conn.execute(_sql("publish_demote_current.sql"), {"run_id": run_id})
        conn.execute(_sql("publish_promote.sql"), {"run_id": run_id, "published_at": _now()})
        info = _run(conn, run_id)
    log.info("run %s is now current (%s rows for %s customers)", run_id, info.n_rows, info.n_customers)
    return info


def _views_exist(conn) -> bool:
    """Whether the reader-facing views exist yet (the first publish creates them)."""
    return bool(warehouse.one_row(conn.execute(_sql("publish_views_exist.sql")))[0])


def restore_run(url: str, run_id: str, yielding: Yielding = Yielding()) -> RunInfo:
    """Make a kept earlier run current again (one transaction, as a publish)."""
    info = get_run(url, run_id)
    if info.status == PURGED:
        raise ValueError(f"run {run_id} was pruned (only the last keep_runs runs keep their tables)")
    return swap_in(url, run_id, yielding)


def prune_runs(url: str, keep_runs: int, current: str | None = None, lock_timeout: float = 0.2) -> list[str]:
    """Drop the tables of non-current runs beyond the newest ``keep_runs - 1`` kept ones.

    Runs still ``building`` that started before ``current`` (the run just published) were
    abandoned by a publish that died: they fail and go first.  Each run is dropped in its
    own transaction with ``lock_timeout``, so a reader still holding an old table delays
    nobody: that run is dropped at the next publish instead.
    """
    abandoned: list[str] = []
    with warehouse.transaction(url) as conn:
        if current is not None:
            abandoned = [r for (r,) in conn.execute(_sql("publish_abandoned_runs.sql"), {"run_id": current})]
            if abandoned:
                log.warning("runs %s were abandoned while building", ", ".join(abandoned))
        older = [r for (r,) in conn.execute(_sql("publish_prunable_runs.sql"), {"keep": keep_runs - 1})]
    candidates = abandoned + [r for r in older if r not in abandoned]
    dropped = []
    for run_id in candidates:
        try:
            with warehouse.transaction(url) as conn:
                conn.execute(_sql("publish_lock.sql"))
                conn.execute(
                    sql.SQL("set local lock_timeout = {}").format(sql.Literal(f"{int(lock_timeout * 1000)}ms"))
                )
                for kind in KINDS:
                    _execute(conn, "publish_drop_table.sql", table=run_table(kind, run_id))
                conn.execute(_sql("publish_mark_purged.sql"), {"run_id": run_id})
            dropped.append(run_id)
        except errors.LockNotAvailable:
            log.info("run %s: a reader still holds its tables; it is pruned at the next publish", run_id)
    if dropped:
        log.info("pruned runs %s", ", ".join(dropped))
    return dropped


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def publish(
    url: str,
    recommendations: pd.DataFrame,
    similar: pd.DataFrame,
    popular: pd.DataFrame,
    *,
    context_date: dt.date,
    model_version: str | None,
    k: int,
    validate: Validator | None = None,
    keep_runs: int = 3,
) -> RunInfo:
    """Begin, write everything as one block per table, and finish a run (single process)."""
    started = time.perf_counter()
    run_id = begin_run(url, context_date, model_version, k)
    generated_at = get_run(url, run_id).started_at
    rows = {
        "user_recommendations": recommendation_rows(recommendations, model_version, context_date, generated_at),
        "similar_items": similar,
        "popular_items": popular,
    }
    for kind, frame in rows.items():
        write_block(url, run_id, kind, frame)
    written = round(time.perf_counter() - started, 3)
    return finish_run(url, run_id, validate=validate, keep_runs=keep_runs, timings={"write_seconds": written})


def recommendation_rows(
    rows: pd.DataFrame, model_version: str | None, context_date: dt.date, generated_at: dt.datetime
) -> pd.DataFrame:
    """:func:`recsys.serving.recommend.recommend_for_users` rows in the published layout."""
    return rows.rename(columns={"user_id": "customer_id", "item_id": "product_id"}).assign(
        model_version=model_version, context_date=context_date, generated_at=pd.Timestamp(generated_at)
    )
