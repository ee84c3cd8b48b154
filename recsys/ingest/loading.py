"""Bulk loading of landing files into the raw layer.

One file is one transaction: its rows, its rejected rows and its ``raw.load_batches``
row commit together, so a crash leaves nothing half-loaded and a rerun retries the
file; a file whose SHA-256 already loaded is skipped.

The path of a row is chosen for speed without giving up Postgres as the judge:

1. pyarrow streams the file in blocks with every column as text; rows the parser
   cannot split into the header's columns are rejected at once.
2. Rows whose values all match the conservative patterns declared in
   :mod:`recsys.contracts.raw` (``RawType.certain``) are COPYed straight into the raw table
   in one COPY stream (text format, assembled by Arrow, undeclared columns as the same
   attributes JSON the SQL path builds) fed from a background thread, so parsing and
   loading overlap.
3. Every other row is spilled to a temporary file, COPYed into a temporary all-text
   table and judged in one SQL statement (``pg_input_is_valid``): valid rows are cast
   into the raw table, the rest go to ``raw.rejected_rows`` with every problem found.

The raw tables are partitioned by batch (``ddl_raw.sql``): the batch's rows go to a
partition created in the same transaction and attached at its end, so PostgreSQL with
``wal_level=minimal`` skips the WAL of the whole load (measured: half the load's time).

Memory stays bounded by the block size whatever the file size (about 270 MB of RSS
for a 10-million-row file).  ``_line_number`` is the
physical line in the file (header = line 1), or the 1-based row for Parquet.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import hashlib
import io
import logging
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import psycopg
import pyarrow as pa
from psycopg import sql

from recsys.contracts.raw import SourceSpec, get_source
from recsys.ingest import manifest, quarantine
from recsys.ingest.judging import (
    partition_parts,
    raw_table,
    sql_fragment,
    stage_apply_sql,
    target_columns,
)
from recsys.ingest.layout import (
    Layout,
    LoadError,
    field_name,
    file_format,
    read_header,
    resolve_layout,
)
from recsys.ingest.reading import Chunk, read_chunks
from recsys.ingest.routing import copy_text, route
from recsys.pgio.read_ahead import read_ahead
from recsys.platform import warehouse
from recsys.platform.sqlfiles import SqlFiles

log = logging.getLogger(__name__)


_sql = SqlFiles(__name__)


_SPILL_CHUNK = 1 << 20


#: Called with the fraction of the file read so far.
Progress = Callable[[float], None]


@dataclass(frozen=True)
class BatchResult:
    """What one file or extract did to the raw layer.

    ``skipped`` is True when identical content had already loaded; ``batch_id`` is
    then the earlier batch (None when there was nothing to load).  ``error`` says why a
    file was refused (nothing of it loaded; the other files of the night still were).
    """

    source: str
    file_name: str
    file_sha256: str
    batch_id: int | None
    rows_read: int = 0
    rows_loaded: int = 0
    rows_rejected: int = 0
    skipped: bool = False
    error: str | None = None

    @property
    def failed(self) -> bool:
        return self.error is not None


def _copy_file(cur: psycopg.Cursor, statement: sql.Composed | sql.SQL, spill: IO[bytes]) -> int:
    """COPY a spilled file; returns the rows COPY reports."""
    spill.seek(0)
    with cur.copy(statement) as copy:
        while data := spill.read(_SPILL_CHUNK):
            copy.write(data)
    return cur.rowcount


class _Spills:
    """Temporary files for the rows that cannot take the direct COPY."""

    def __init__(self, stack: contextlib.ExitStack, batch_id: int, source: str):
        self.stage = stack.enter_context(tempfile.TemporaryFile())  # noqa: SIM115 (closed by the stack)
        self.broken = stack.enter_context(tempfile.TemporaryFile())  # noqa: SIM115
        text = io.TextIOWrapper(self.broken, encoding="utf-8", newline="", write_through=True)
        stack.callback(text.detach)
        self._broken_csv = csv.writer(text, lineterminator="\n")
        self.batch_id, self.source = batch_id, source
        self.staged = self.broken_rows = 0

    def add(self, chunk: Chunk) -> None:
        if chunk.batch is not None and chunk.batch.num_rows:
            self.stage.write(copy_text([*chunk.batch.columns, pa.array(chunk.lines)]))
            self.staged += chunk.batch.num_rows
        for line, text, reason in chunk.broken:
            self._broken_csv.writerow((self.batch_id, self.source, line, text, reason))
        self.broken_rows += len(chunk.broken)


def _batch_table(cur: psycopg.Cursor, spec: SourceSpec, batch_id: int) -> sql.Composable:
    """The table this batch's rows go to: its own new partition, or a plain raw table as is."""
    if not warehouse.one_row(cur.execute(_sql("load_partition_kind.sql"), {"table": spec.table}))[0]:
        return raw_table(spec)
    parts = partition_parts(spec, batch_id)
    cur.execute(sql.SQL(_sql("load_partition_create.sql")).format(**parts))
    return parts["partition"]


def _attach_batch(cur: psycopg.Cursor, spec: SourceSpec, batch_id: int, table: sql.Composable) -> None:
    if table != raw_table(spec):
        cur.execute(sql.SQL(_sql("load_partition_attach.sql")).format(**partition_parts(spec, batch_id)))


def _routed(path: Path, layout: Layout, batch_id: int) -> Iterator[tuple[Chunk, memoryview | None, Chunk]]:
    """Each chunk of the file with its COPY text for the raw table and the rows left to judge.

    Parsing runs a block ahead on a thread of its own, so parsing, routing and sending
    (the caller) are three stages at work at once.
    """
    with contextlib.closing(read_ahead(read_chunks(path, layout.width), name="csv-parse")) as chunks:
        for chunk in chunks:
            yield (chunk, *route(layout, chunk, batch_id))


def _copy_direct(
    cur: psycopg.Cursor,
    layout: Layout,
    table: sql.Composable,
    path: Path,
    spills: _Spills,
    batch_id: int,
    progress: Progress | None,
) -> tuple[int, int]:
    """One COPY of the certain rows into the raw table, spilling the rest; returns (read, COPYed).

    The next block is parsed and routed on a worker thread while this one is sent, so
    Arrow and Postgres work at the same time.
    """
    statement = sql.SQL(_sql("load_copy_raw.sql")).format(
        table=table, columns=sql.SQL(", ").join(map(sql.Identifier, target_columns(layout)))
    )
    rows_read = 0
    with (
        cur.copy(statement) as copy,
        contextlib.closing(read_ahead(_routed(path, layout, batch_id), name="route")) as routed,
    ):
        for chunk, direct, rest in routed:
            rows_read += chunk.rows
            if direct is not None:
                copy.write(direct)
            spills.add(rest)
            if progress:
                progress(chunk.done)
    return rows_read, cur.rowcount


def _judge_staged(
    cur: psycopg.Cursor, layout: Layout, table: sql.Composable, spills: _Spills, batch_id: int
) -> tuple[int, int]:
    """Load or reject the spilled rows in SQL; returns (loaded, rejected)."""
    if not spills.staged:
        return 0, 0
    columns = sql.SQL(", ").join(
        sql_fragment("stage_column", field=sql.Identifier(field_name(i))) for i in range(layout.width)
    )
    cur.execute(_sql("load_stage_drop.sql"))
    cur.execute(sql.SQL(_sql("load_stage_create.sql")).format(columns=columns))
    _copy_file(cur, sql.SQL(_sql("load_copy_stage.sql")), spills.stage)
    params = {"batch_id": batch_id, "source": layout.spec.name}
    loaded, rejected = warehouse.one_row(cur.execute(stage_apply_sql(layout, table), params))
    return loaded, rejected


def check_counts(result: BatchResult) -> None:
    """Every row read is either loaded or rejected: anything else is a loader bug."""
    if result.rows_read != result.rows_loaded + result.rows_rejected:
        raise RuntimeError(
            f"{result.source} {result.file_name}: read {result.rows_read} rows but loaded "
            f"{result.rows_loaded} and rejected {result.rows_rejected}; nothing was committed"
        )


def file_sha256(path: Path) -> str:
    """Hex SHA-256 of a file's bytes: the identity of a landing file."""
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def load_path(
    conn: psycopg.Connection,
    spec: SourceSpec,
    path: Path,
    *,
    logical_date: dt.date,
    file_name: str | None = None,
    sha256: str | None = None,
    expected_rows: int | None = None,
    progress: Progress | None = None,
) -> BatchResult:
    """Load one file inside the caller's open transaction (the caller commits).

    This is the single validation path shared by landing files and OLTP extracts, so
    a caller can commit other state (a watermark) atomically with the rows.

    Parameters
    ----------
    conn : psycopg.Connection
        A connection from :func:`recsys.platform.warehouse.connect` inside a transaction.
    spec : SourceSpec
        The declared source the file belongs to.
    path : Path
        A ``.csv``, ``.csv.gz`` or ``.parquet`` file.
    logical_date : date
        Business date of the run, recorded on the batch.
    file_name, sha256 : str, optional
        What to record (default: the file's name and content hash).
    expected_rows : int, optional
        The records a manifest announces; another count raises before anything commits.
    progress : callable, optional
        Called with the fraction of the file read.

    Returns
    -------
    BatchResult
        ``skipped`` when the same content of this source loaded before.
    """
    file_format(path)
    file_name = file_name or path.name
    sha256 = sha256 or file_sha256(path)
    keys = {"source": spec.name, "sha256": sha256}
    with conn.cursor() as cur:
        cur.execute(_sql("load_batch_lock.sql"), keys)
        earlier = cur.execute(_sql("load_batch_loaded.sql"), keys).fetchone()
        if earlier:
            return BatchResult(spec.name, file_name, sha256, earlier[0], skipped=True)
        layout = resolve_layout(spec, read_header(path))
        batch_id, started_at = warehouse.one_row(cur.execute(_sql("load_batch_start.sql")))
        table = _batch_table(cur, spec, batch_id)
        with contextlib.ExitStack() as stack:
            spills = _Spills(stack, batch_id, spec.name)
            rows_read, direct = _copy_direct(cur, layout, table, path, spills, batch_id, progress)
            staged, rejected = _judge_staged(cur, layout, table, spills, batch_id)
            if spills.broken_rows:
                rejected += _copy_file(cur, sql.SQL(_sql("load_copy_rejected.sql")), spills.broken)
        _attach_batch(cur, spec, batch_id, table)
        result = BatchResult(spec.name, file_name, sha256, batch_id, rows_read, direct + staged, rejected)
        check_counts(result)
        if expected_rows is not None:
            manifest.check_rows(manifest.Manifest(expected_rows, sha256), rows_read, file_name)
        cur.execute(_sql("load_batch_record.sql"), _batch_row(result, logical_date, started_at))
    quarantine.replace_quarantined(conn, spec.name, file_name, batch_id)
    return result


def _batch_row(
    result: BatchResult, logical_date: dt.date, started_at: dt.datetime | None, status: str = "succeeded"
) -> dict:
    return {
        "batch_id": result.batch_id,
        "source": result.source,
        "file_name": result.file_name,
        "sha256": result.file_sha256,
        "logical_date": logical_date,
        "rows_read": result.rows_read,
        "rows_loaded": result.rows_loaded,
        "rows_rejected": result.rows_rejected,
        "started_at": started_at,
        "status": status,
    }


def record_failure(url: str, source: str, file_name: str, sha256: str, logical_date: dt.date) -> None:
    """Leave a ``failed`` batch (no counts) for operators; never masks the original error."""
    failed = _batch_row(BatchResult(source, file_name, sha256, None), logical_date, None, "failed")
    failed.update(rows_read=None, rows_loaded=None, rows_rejected=None)
    try:
        with warehouse.transaction(url) as conn:
            conn.execute(_sql("load_batch_record.sql"), failed)
    except psycopg.Error:
        log.warning("could not record the failed load of %s %s", source, file_name, exc_info=True)


def load_file(
    url: str, source: str, path: Path | str, logical_date: dt.date, *, progress: Progress | None = None
) -> BatchResult:
    """Load one landing file into its raw table in one transaction.

    Parameters
    ----------
    url : str
        Warehouse URL.
    source : str
        Source name from :data:`recsys.contracts.raw.SOURCES`.
    path : Path or str
        The file (``.csv``, ``.csv.gz`` or ``.parquet``).
    logical_date : date
        Business date of the run, recorded on the batch.
    progress : callable, optional
        Called with the fraction of the file read.

    Returns
    -------
    BatchResult
        Counts of the batch, or ``skipped`` when this content already loaded.

    Raises
    ------
    LoadError
        When the file cannot be loaded at all (header, format, encoding, a manifest it
        does not match); nothing is committed and a ``failed`` batch is recorded.
    """
    spec, path = get_source(source), Path(path)
    file_format(path)
    if not path.is_file():
        raise LoadError(f"{path}: no such file")
    sha256 = file_sha256(path)
    try:
        announced = manifest.read_manifest(path)
        if announced is not None:
            manifest.check_content(announced, sha256, path.name)
        with warehouse.transaction(url) as conn:
            result = load_path(
                conn,
                spec,
                path,
                logical_date=logical_date,
                sha256=sha256,
                expected_rows=announced.rows if announced else None,
                progress=progress,
            )
    except Exception:
        record_failure(url, spec.name, path.name, sha256, logical_date)
        raise
    log.info("%s %s: %s", spec.name, path.name, result)
    return result
