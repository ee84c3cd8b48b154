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
import functools
import gzip
import hashlib
import io
import json
import logging
import queue
import re
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Callable, Iterable, Iterator

import numpy as np
import psycopg
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from psycopg import sql
from psycopg.copy import QueuedLibpqWriter

from recsys.pgio import read_ahead

from recsys.platform import warehouse
from recsys.contracts.raw import SOURCES, Column, SourceSpec, get_source
from recsys.platform.sqlfiles import SqlFiles

log = logging.getLogger(__name__)
_sql = SqlFiles(__name__)

#: Bytes of CSV parsed per block: bounds memory, large enough to amortise per-block costs.
BLOCK_SIZE = 2 << 20
PARQUET_BATCH_ROWS = 65_536
#: Rows the CSV parser rejects in a row before the file counts as unreadable (memory bound).
MAX_BROKEN_RUN = 100_000
FORMATS = (".csv", ".csv.gz", ".parquet")
_DATE_IN_NAME = re.compile(r"(\d{4}-\d{2}-\d{2})")
_SPILL_CHUNK = 1 << 20

#: Called with the fraction of the file read so far.
Progress = Callable[[float], None]


class LoadError(ValueError):
    """A file that cannot be loaded at all (wrong header, unknown format, not UTF-8)."""


@dataclass(frozen=True)
class BatchResult:
    """What one file or extract did to the raw layer.

    ``skipped`` is True when identical content had already loaded; ``batch_id`` is
    then the earlier batch (None when there was nothing to load).
    """

    source: str
    file_name: str
    file_sha256: str
    batch_id: int | None
    rows_read: int = 0
    rows_loaded: int = 0
    rows_rejected: int = 0
    skipped: bool = False


@dataclass(frozen=True)
class Layout:
    """Where the declared columns of a source sit in one file's header."""

    spec: SourceSpec
    header: tuple[str, ...]
    positions: tuple[tuple[Column, int], ...]
    extras: tuple[tuple[str, int], ...] = ()

    @property
    def width(self) -> int:
        return len(self.header)


@dataclass(frozen=True)
class Chunk:
    """One parsed block of a file.

    Attributes
    ----------
    batch : pyarrow.RecordBatch or None
        Text columns ``f0..fn`` (header positions), NULL for empty fields.
    lines : numpy.ndarray of int64
        Line (or Parquet row) number of each row of ``batch``.
    broken : list of (int, str, str)
        (line, text, reason) of rows rejected before Postgres sees them.
    done : float
        Fraction of the file read so far.
    """

    batch: pa.RecordBatch | None
    lines: np.ndarray
    broken: list[tuple[int, str, str]] = field(default_factory=list)
    done: float = 0.0

    @property
    def rows(self) -> int:
        """Rows read in this block: kept for loading or already rejected."""
        return len(self.broken) + (self.batch.num_rows if self.batch is not None else 0)


# --------------------------------------------------------------------------- layout


def field_name(position: int) -> str:
    """Name of the text column holding header position ``position`` (header names are free text)."""
    return f"f{position}"


def resolve_layout(spec: SourceSpec, header: Iterable[str]) -> Layout:
    """Match a file header against the declared columns.

    Headers match case-insensitively on the declared header or the raw column name.
    Undeclared columns become attributes when the source keeps them, else are ignored.
    """
    header = tuple(header)
    keys = [h.strip().lower() for h in header]
    duplicates = sorted({k for k in keys if keys.count(k) > 1})
    if duplicates:
        raise LoadError(f"{spec.name}: duplicate header column(s) {', '.join(duplicates)}")
    index = {k: i for i, k in enumerate(keys)}
    positions, missing = [], []
    for column in spec.columns:
        position = index.get(column.file_header.lower(), index.get(column.name.lower()))
        if position is not None:
            positions.append((column, position))
        elif not column.optional:
            missing.append(column.file_header)
    if missing:
        raise LoadError(
            f"{spec.name}: file lacks column(s) {', '.join(missing)}; its header is {', '.join(header)}"
        )
    used = {p for _, p in positions}
    extras = () if spec.attributes_column is None else tuple(
        (h.strip(), i) for i, h in enumerate(header) if i not in used
    )
    return Layout(spec, header, tuple(positions), extras)


def read_header(path: Path) -> tuple[str, ...]:
    """Column names of a landing file (CSV header line or Parquet schema)."""
    if path.name.endswith(".parquet"):
        return tuple(pq.read_schema(path).names)
    opener = gzip.open if path.name.endswith(".gz") else open
    try:
        with opener(path, "rb") as f:  # decode line by line: only the header must be UTF-8 here
            header = next(csv.reader(line.decode("utf-8-sig") for line in f), None)
    except (UnicodeDecodeError, OSError) as exc:
        raise LoadError(f"{path.name}: cannot read the header as UTF-8 CSV ({exc})") from exc
    if not header:
        raise LoadError(f"{path.name}: empty file, expected a header line")
    return tuple(header)


def file_format(path: Path) -> str:
    """The landing format of ``path`` from its name, or a LoadError naming the accepted ones."""
    name = path.name.lower()
    for suffix in sorted(FORMATS, key=len, reverse=True):
        if name.endswith(suffix):
            return suffix
    raise LoadError(f"{path.name}: unsupported format, expected one of {', '.join(FORMATS)}")


# --------------------------------------------------------------------------- reading


class LineNumbers:
    """Physical line numbers of the records a streaming CSV parser returns.

    The parser numbers records (header = 1) and reports the rows it rejects apart from
    the rows it keeps, possibly a block ahead.  A record's line is its record number
    plus the newlines embedded (in quoted values) in the records before it.
    """

    def __init__(self, width: int):
        self.width = width
        self.next_record = 2
        self.shift = 0
        self.pending: list[tuple[int, str, int]] = []

    def assign(
        self, n_rows: int, newlines: np.ndarray | None, rejected: list[tuple[int, str, int]]
    ) -> tuple[np.ndarray, list[tuple[int, str, str]]]:
        """Lines of the next ``n_rows`` kept records and of the rejected rows before them.

        ``rejected`` holds (record number, text, column count) reported since the last call.
        """
        self.pending = sorted(self.pending + rejected)
        skipped = np.fromiter((r for r, _, _ in self.pending), np.int64, len(self.pending))
        # kept record k comes after every rejected record whose rank (kept records before it) <= k
        ranks = skipped - self.next_record - np.arange(len(skipped))
        k = np.arange(n_rows, dtype=np.int64)
        records = self.next_record + k + np.searchsorted(ranks, k, side="right")
        end = int(records[-1]) + 1 if n_rows else self.next_record
        settled = [p for p in self.pending if p[0] < end]
        later = [p for p in self.pending if p[0] >= end]
        run = 0  # rejected records right after the last kept one: nothing can come between
        while run < len(later) and later[run][0] == end + run:
            run += 1
        self.pending, self.next_record = later[run:], end + run
        return self._settle(records, newlines, settled + later[:run])

    def finish(self) -> list[tuple[int, str, str]]:
        """Rejected rows after the last kept record."""
        settled, self.pending = self.pending, []
        return self._settle(np.empty(0, np.int64), None, settled)[1]

    def _settle(self, records, newlines, settled):
        if not settled and newlines is None:
            return records + self.shift, []
        rejected = np.fromiter((r for r, _, _ in settled), np.int64, len(settled))
        counts = np.concatenate([
            np.zeros(len(records), np.int64) if newlines is None else newlines,
            np.fromiter((t.count("\n") for _, t, _ in settled), np.int64, len(settled)),
        ])
        every = np.concatenate([records, rejected])
        order = np.argsort(every, kind="stable")
        before = np.cumsum(counts[order]) - counts[order]
        lines = np.empty_like(every)
        lines[order] = every[order] + self.shift + before
        self.shift += int(counts.sum())
        broken = [
            (int(line), text, f"wrong column count: expected {self.width}, got {got}")
            for line, (_, text, got) in zip(lines[len(records):], settled)
        ]
        return lines[: len(records)], broken


def _data_bytes(column: pa.Array) -> np.ndarray:
    buffer = column.buffers()[2]
    return np.frombuffer(buffer, np.uint8) if buffer is not None else np.empty(0, np.uint8)


def _embedded_newlines(batch: pa.RecordBatch) -> np.ndarray | None:
    """Newlines inside each row's values; None (the usual case) when there are none."""
    if not any((_data_bytes(c) == 10).any() for c in batch.columns):
        return None
    counts = [pc.count_substring(c, "\n").fill_null(0).to_numpy(zero_copy_only=False) for c in batch.columns]
    return np.sum(counts, axis=0).astype(np.int64)


def _split_nul_rows(chunk: Chunk) -> Chunk:
    """Reject rows holding a NUL byte, which Postgres text cannot store."""
    batch = chunk.batch
    if not any((_data_bytes(c) == 0).any() for c in batch.columns):
        return chunk
    masks = [pc.fill_null(pc.match_substring(c, "\x00"), False) for c in batch.columns]
    nul = functools.reduce(pc.or_, masks)
    broken = [
        (int(line), ",".join(v or "" for v in row.values()).replace("\x00", ""), "contains a NUL byte")
        for line, row in zip(chunk.lines[nul.to_numpy(zero_copy_only=False)], batch.filter(nul).to_pylist())
    ]
    keep = pc.invert(nul)
    lines = chunk.lines[keep.to_numpy(zero_copy_only=False)]
    return Chunk(batch.filter(keep), lines, chunk.broken + broken, chunk.done)


def csv_chunks(
    path: Path, width: int, block_size: int = BLOCK_SIZE, max_broken_run: int = MAX_BROKEN_RUN
) -> Iterator[Chunk]:
    """Stream a CSV (optionally gzipped) file as text chunks with physical line numbers.

    Rows the parser rejects are held until the next kept row; more than
    ``max_broken_run`` of them in a row means the file itself is wrong (delimiter,
    header) and fails the load instead of filling memory.
    """
    names = [field_name(i) for i in range(width)]
    rejected: list[tuple[int, str, int]] = []

    def on_invalid(row) -> str:
        if len(rejected) >= max_broken_run:
            return "error"
        rejected.append((row.number, row.text, row.actual_columns))
        return "skip"

    size, numbers = max(path.stat().st_size, 1), LineNumbers(width)
    with pa.OSFile(str(path)) as raw:
        stream = pa.CompressedInputStream(raw, "gzip") if path.name.endswith(".gz") else raw
        try:
            reader = pacsv.open_csv(
                stream,
                read_options=pacsv.ReadOptions(
                    column_names=names, skip_rows=1, use_threads=False, block_size=block_size
                ),
                parse_options=pacsv.ParseOptions(
                    invalid_row_handler=on_invalid, ignore_empty_lines=False, newlines_in_values=True
                ),
                convert_options=pacsv.ConvertOptions(
                    column_types={n: pa.string() for n in names}, strings_can_be_null=True, null_values=[""]
                ),
            )
            for batch in reader:
                taken, rejected[:] = list(rejected), []
                lines, broken = numbers.assign(batch.num_rows, _embedded_newlines(batch), taken)
                yield _split_nul_rows(Chunk(batch, lines, broken, raw.tell() / size))
        except pa.ArrowInvalid as exc:
            if len(rejected) < max_broken_run:
                raise
            raise LoadError(
                f"{path.name}: more than {max_broken_run:,} rows in a row do not have the header's {width} "
                f"columns (from record {rejected[0][0]}): check the delimiter and the header"
            ) from exc
    numbers.assign(0, None, list(rejected))
    yield Chunk(None, np.empty(0, np.int64), numbers.finish(), 1.0)


def _as_text(column: pa.Array) -> pa.Array:
    """A Parquet column as text, empty strings as NULL like an empty CSV field."""
    text = column.cast(pa.string())
    return pc.if_else(pc.equal(text, ""), pa.scalar(None, pa.string()), text)


def parquet_chunks(path: Path, width: int, batch_rows: int = PARQUET_BATCH_ROWS) -> Iterator[Chunk]:
    """Stream a Parquet file as text chunks numbered by row (1-based)."""
    names = [field_name(i) for i in range(width)]
    parquet = pq.ParquetFile(path)
    total, done = max(parquet.metadata.num_rows, 1), 0
    for batch in parquet.iter_batches(batch_size=batch_rows):
        try:
            text = pa.RecordBatch.from_arrays([_as_text(c) for c in batch.columns], names=names)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
            raise LoadError(f"{path.name}: a column cannot be read as text ({exc})") from exc
        lines = np.arange(done + 1, done + 1 + batch.num_rows, dtype=np.int64)
        done += batch.num_rows
        yield _split_nul_rows(Chunk(text, lines, [], done / total))


def read_chunks(path: Path, width: int) -> Iterator[Chunk]:
    """Text chunks of any landing format; parser errors become a LoadError naming the file."""
    chunks = parquet_chunks if file_format(path) == ".parquet" else csv_chunks
    try:
        yield from chunks(path, width)
    except pa.ArrowInvalid as exc:
        raise LoadError(f"{path.name}: {exc} (landing files must be UTF-8 CSV or Parquet)") from exc


# --------------------------------------------------------------------------- routing


def _present(values: pa.Array) -> pa.Array:
    """Not NULL and not blank (null stays null; blank-only is judged by Postgres)."""
    return pc.invert(pc.utf8_is_space(values))


def _column_certain(column: Column, values: pa.Array) -> list[pa.Array]:
    masks = [_present(values)] if column.required else []
    matches = pc.match_substring_regex(values, column.type.certain) if column.type.certain else None
    if matches is not None:
        masks.append(pc.or_kleene(pc.is_null(values), matches))
    if column.accepted:
        masks.append(pc.or_kleene(pc.is_null(values), pc.is_in(values, value_set=pa.array(column.accepted))))
    if column.value_range and matches is not None:
        numbers = pc.cast(pc.if_else(matches, values, pa.scalar(None, pa.string())), pa.int64())
        low, high = column.value_range
        inside = pc.and_(pc.greater_equal(numbers, low), pc.less_equal(numbers, high))
        masks.append(pc.or_kleene(pc.is_null(values), inside))
    return masks


def _control_free(values: pa.Array) -> pa.Array:
    """True where a value (or NULL) holds no control character."""
    if not (_data_bytes(values) < 0x20).any():
        return pa.array(np.ones(len(values), bool))
    return pc.invert(pc.fill_null(pc.match_substring_regex(values, r"[\x00-\x1f]"), False))


def certain_rows(layout: Layout, batch: pa.RecordBatch) -> pa.BooleanArray:
    """Rows Postgres will certainly accept as they are and the contract keeps.

    Deliberately conservative: a row it refuses is not rejected, only judged in SQL.
    Attribute values holding control characters are left to SQL too (their JSON needs
    ``\\u`` escapes, which :func:`attributes_json` does not write).
    """
    masks = [m for column, i in layout.positions for m in _column_certain(column, batch.column(i))]
    masks += [_control_free(batch.column(i)) for _, i in layout.extras]
    if not masks:
        return pa.array(np.ones(batch.num_rows, bool))
    return pc.fill_null(functools.reduce(pc.and_kleene, masks), False)


def attributes_json(layout: Layout, batch: pa.RecordBatch) -> pa.Array:
    """The undeclared columns of each row as a JSON object of its non-NULL values (NULL
    when there are none): what ``jsonb_strip_nulls(jsonb_object(keys, values))`` of the
    SQL path builds, for values without control characters (see :func:`certain_rows`).
    """
    pairs = []
    for name, i in layout.extras:
        value = pc.replace_substring(pc.replace_substring(batch.column(i), "\\", "\\\\"), '"', '\\"')
        pair = pc.binary_join_element_wise(json.dumps(name) + ': "', value, '", ', "")
        pairs.append(pc.fill_null(pair, ""))
    body = pc.utf8_rtrim(pc.binary_join_element_wise(*pairs, ""), characters=", ")
    return pc.if_else(pc.equal(body, ""), pa.scalar(None, pa.string()),
                      pc.binary_join_element_wise("{", body, "}", ""))


_TEXT_ESCAPES = (("\\", "\\\\"), ("\t", "\\t"), ("\n", "\\n"), ("\r", "\\r"))  # backslash first


def _text_field(values: pa.Array) -> pa.Array:
    """A column as COPY text values, escaped only when its bytes call for it (rarely)."""
    if not pa.types.is_string(values.type):
        values = values.cast(pa.string())
    data = _data_bytes(values)
    if any((data == ord(char)).any() for char, _ in _TEXT_ESCAPES):
        for char, escaped in _TEXT_ESCAPES:
            values = pc.replace_substring(values, char, escaped)
    return values


def copy_text(columns: list[pa.Array | str]) -> memoryview:
    """Rows in COPY's text format, assembled column-wise by Arrow (no per-row Python).

    COPY text is the cheapest format for Postgres to parse (no quotes; NULL is ``\\N``).
    A plain ``str`` is a value shared by every row (the batch id).
    """
    fields = [pa.scalar(c) if isinstance(c, str) else _text_field(c) for c in columns]
    fields[-1] = pc.binary_join_element_wise(fields[-1], "\n", "", null_handling="replace", null_replacement="\\N")
    rows = pc.binary_join_element_wise(*fields, "\t", null_handling="replace", null_replacement="\\N")
    if len(rows) == 0:
        return memoryview(b"")
    offsets = np.frombuffer(rows.buffers()[1], np.int32, count=len(rows) + 1, offset=rows.offset * 4)
    return memoryview(rows.buffers()[2])[offsets[0]:offsets[-1]]


def route(layout: Layout, chunk: Chunk, batch_id: int) -> tuple[memoryview | None, Chunk]:
    """Split a chunk into COPY text for the raw table and the rest (to judge in SQL).

    The direct rows carry the raw table's columns plus ``_batch_id`` and ``_line_number``.
    """
    batch = chunk.batch
    if batch is None or batch.num_rows == 0:
        return None, chunk
    certain = certain_rows(layout, batch)
    mask = certain.to_numpy(zero_copy_only=False)
    if not mask.any():
        return None, chunk
    kept = batch if mask.all() else batch.filter(certain)
    attributes = [attributes_json(layout, kept)] if layout.extras else []
    direct = copy_text([kept.column(i) for _, i in layout.positions] + attributes
                       + [str(batch_id), pa.array(chunk.lines[mask])])
    rest = None if mask.all() else batch.filter(pc.invert(certain))
    return direct, Chunk(rest, chunk.lines[~mask], chunk.broken, chunk.done)


# --------------------------------------------------------------------------- SQL composition


@functools.cache
def _fragment_texts() -> dict[str, str]:
    """Named SQL fragments from ``load_fragments.sql``."""
    parts = re.split(r"^-- name: (\w+)\n", _sql("load_fragments.sql"), flags=re.M)
    return {name: body.strip() for name, body in zip(parts[1::2], parts[2::2])}


def sql_fragment(name: str, **parts: sql.Composable) -> sql.Composed:
    """Fragment ``name`` of ``load_fragments.sql`` with its placeholders filled."""
    return sql.SQL(_fragment_texts()[name]).format(**parts)


def _raw_table(spec: SourceSpec) -> sql.Identifier:
    return sql.Identifier("raw", spec.table)


def _partition_parts(spec: SourceSpec, batch_id: int) -> dict[str, sql.Composable]:
    return {"parent": _raw_table(spec), "partition": sql.Identifier("raw", f"{spec.table}__batch_{batch_id}"),
            "batch_id": sql.Literal(int(batch_id))}


def _target_columns(layout: Layout) -> list[str]:
    names = [c.name for c, _ in layout.positions]
    if layout.extras:
        names.append(layout.spec.attributes_column)
    return names + ["_batch_id", "_line_number"]


def _checks(column: Column, fld: sql.Identifier) -> list[sql.Composable]:
    label = column.name if column.file_header == column.name else f"{column.name} ({column.file_header})"
    checks = []
    if column.required:
        checks.append(sql_fragment("missing", field=fld, message=sql.Literal(f"missing required {label}")))
    if column.type.certain:
        checks.append(sql_fragment(
            "invalid", field=fld, type_name=sql.Literal(column.type.sql), shape=sql.Literal(column.type.shape),
            prefix=sql.Literal(f"column {column.name}: "), suffix=sql.Literal(f" is not a valid {column.type.label}"),
        ))
    if column.accepted:
        checks.append(sql_fragment(
            "not_accepted", field=fld, accepted=sql.Literal(list(column.accepted)),
            prefix=sql.Literal(f"{column.name} "),
            suffix=sql.Literal(f" not in accepted set ({', '.join(column.accepted)})"),
        ))
    if column.value_range:
        low, high = column.value_range
        checks.append(sql_fragment(
            "out_of_range", field=fld, type_name=sql.Literal(column.type.sql), type=sql.SQL(column.type.sql),
            low=sql.Literal(low), high=sql.Literal(high),
            prefix=sql.Literal(f"{column.name} "), suffix=sql.Literal(f" outside {low}..{high}"),
        ))
    return checks


def stage_apply_sql(layout: Layout, table: sql.Composable | None = None) -> sql.Composed:
    """The statement that judges staged rows for this layout (see ``load_stage_apply.sql``).

    Valid rows go to ``table`` (default: the source's raw table).
    """
    all_fields = sql.SQL(", ").join(sql.Identifier(field_name(i)) for i in range(layout.width))
    checks = [c for column, i in layout.positions for c in _checks(column, sql.Identifier(field_name(i)))]
    reason = sql_fragment(
        "reason",
        empty_row=sql_fragment("empty_row", fields=all_fields),
        checks=sql.SQL(", ").join(checks) if checks else sql.Literal(None),
    )
    values = [
        sql.Identifier(field_name(i)) if c.type.sql == "text"
        else sql_fragment("cast", field=sql.Identifier(field_name(i)), type=sql.SQL(c.type.sql))
        for c, i in layout.positions
    ]
    if layout.extras:
        values.append(sql_fragment(
            "attributes",
            keys=sql.Literal([name for name, _ in layout.extras]),
            fields=sql.SQL(", ").join(sql.Identifier(field_name(i)) for _, i in layout.extras),
        ))
    return sql.SQL(_sql("load_stage_apply.sql")).format(
        reason=reason,
        table=table or _raw_table(layout.spec),
        columns=sql.SQL(", ").join(map(sql.Identifier, _target_columns(layout))),
        values=sql.SQL(", ").join(values),
        raw_text=sql_fragment("raw_text", fields=all_fields),
    )


# --------------------------------------------------------------------------- database edge


def _copy_file(cur: psycopg.Cursor, statement: sql.Composable, spill: IO[bytes]) -> int:
    """COPY a spilled file; returns the rows COPY reports."""
    spill.seek(0)
    with cur.copy(statement) as copy:
        while data := spill.read(_SPILL_CHUNK):
            copy.write(data)
    return cur.rowcount


class _Spills:
    """Temporary files for the rows that cannot take the direct COPY."""

    def __init__(self, stack: contextlib.ExitStack, batch_id: int, source: str):
        self.stage = stack.enter_context(tempfile.TemporaryFile())
        self.broken = stack.enter_context(tempfile.TemporaryFile())
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


class _ShortQueueWriter(QueuedLibpqWriter):
    """psycopg's threaded COPY writer with a short queue.

    Its default queue holds up to 128 MB when Postgres is the slower side; 64 pieces of
    at most 128 kB keep a few blocks in flight, enough to overlap parsing and loading.
    (If a psycopg upgrade renames the attribute, only the memory bound loosens.)
    """

    def __init__(self, cursor: psycopg.Cursor):
        super().__init__(cursor)
        self._queue = queue.Queue(maxsize=64)


def _batch_table(cur: psycopg.Cursor, spec: SourceSpec, batch_id: int) -> sql.Composable:
    """The table this batch's rows go to: its own new partition, or a plain raw table as is."""
    if not cur.execute(_sql("load_partition_kind.sql"), {"table": spec.table}).fetchone()[0]:
        return _raw_table(spec)
    parts = _partition_parts(spec, batch_id)
    cur.execute(sql.SQL(_sql("load_partition_create.sql")).format(**parts))
    return parts["partition"]


def _attach_batch(cur: psycopg.Cursor, spec: SourceSpec, batch_id: int, table: sql.Composable) -> None:
    if table != _raw_table(spec):
        cur.execute(sql.SQL(_sql("load_partition_attach.sql")).format(**_partition_parts(spec, batch_id)))


def _copy_direct(
    cur: psycopg.Cursor, layout: Layout, table: sql.Composable, chunks: Iterable[Chunk], spills: _Spills,
    batch_id: int, progress: Progress | None,
) -> tuple[int, int]:
    """One COPY of the certain rows into the raw table, spilling the rest; returns (read, COPYed).

    The COPY is fed from a background thread so parsing the next block overlaps with
    Postgres loading the previous one.
    """
    statement = sql.SQL(_sql("load_copy_raw.sql")).format(
        table=table, columns=sql.SQL(", ").join(map(sql.Identifier, _target_columns(layout)))
    )
    rows_read = 0
    with cur.copy(statement, writer=_ShortQueueWriter(cur)) as copy:
        for chunk in chunks:
            rows_read += chunk.rows
            direct, rest = route(layout, chunk, batch_id)
            if direct is not None:
                copy.write(direct)
            spills.add(rest)
            if progress:
                progress(chunk.done)
    return rows_read, cur.rowcount


def _judge_staged(cur: psycopg.Cursor, layout: Layout, table: sql.Composable, spills: _Spills,
                  batch_id: int) -> tuple[int, int]:
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
    loaded, rejected = cur.execute(stage_apply_sql(layout, table), params).fetchone()
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
        batch_id, started_at = cur.execute(_sql("load_batch_start.sql")).fetchone()
        table = _batch_table(cur, spec, batch_id)
        with contextlib.ExitStack() as stack:
            spills = _Spills(stack, batch_id, spec.name)
            chunks = read_ahead.one_ahead(read_chunks(path, layout.width), stack.enter_context(ThreadPoolExecutor(1)))
            rows_read, direct = _copy_direct(cur, layout, table, chunks, spills, batch_id, progress)
            staged, rejected = _judge_staged(cur, layout, table, spills, batch_id)
            if spills.broken_rows:
                rejected += _copy_file(cur, sql.SQL(_sql("load_copy_rejected.sql")), spills.broken)
        _attach_batch(cur, spec, batch_id, table)
        result = BatchResult(spec.name, file_name, sha256, batch_id, rows_read, direct + staged, rejected)
        check_counts(result)
        cur.execute(_sql("load_batch_record.sql"), _batch_row(result, logical_date, started_at))
    return result


def _batch_row(
    result: BatchResult, logical_date: dt.date, started_at: dt.datetime | None, status: str = "succeeded"
) -> dict:
    return {
        "batch_id": result.batch_id, "source": result.source, "file_name": result.file_name,
        "sha256": result.file_sha256, "logical_date": logical_date, "rows_read": result.rows_read,
        "rows_loaded": result.rows_loaded, "rows_rejected": result.rows_rejected,
        "started_at": started_at, "status": status,
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
        When the file cannot be loaded at all (header, format, encoding); nothing is
        committed and a ``failed`` batch is recorded.
    """
    spec, path = get_source(source), Path(path)
    file_format(path)
    if not path.is_file():
        raise LoadError(f"{path}: no such file")
    sha256 = file_sha256(path)
    try:
        with warehouse.transaction(url) as conn:
            result = load_path(conn, spec, path, logical_date=logical_date, sha256=sha256, progress=progress)
    except Exception:
        record_failure(url, spec.name, path.name, sha256, logical_date)
        raise
    log.info("%s %s: %s", spec.name, path.name, result)
    return result


def file_date(path: Path) -> dt.date | None:
    """The date in a landing file's name (available from that logical date on), if any."""
    found = _DATE_IN_NAME.search(path.name)
    if not found:
        return None
    try:
        return dt.date.fromisoformat(found.group(1))
    except ValueError:
        raise LoadError(f"{path.name}: {found.group(1)} in the name is not a date; rename the file") from None


def _is_landing_file(path: Path) -> bool:
    if path.name.startswith(".") or not path.is_file():
        return False
    try:
        file_format(path)
    except LoadError:
        log.info("ignoring %s: not a landing format", path)
        return False
    return True


def landing_files(
    landing_dir: Path | str, logical_date: dt.date, sources: Iterable[str] | None = None
) -> list[tuple[str, Path]]:
    """Files of ``landing_dir/<source>/`` available on ``logical_date``, in load order.

    Sources come in declared order (dimensions first), files by (date in name, path);
    undated files count as available from the start.
    """
    names = [get_source(s).name for s in sources] if sources is not None else list(SOURCES)
    found = []
    for name in names:
        folder = Path(landing_dir) / name
        files = [p for p in folder.rglob("*") if _is_landing_file(p)] if folder.is_dir() else []
        dated = [(file_date(p) or dt.date.min, p.relative_to(folder).as_posix(), p) for p in files]
        found += [(name, p) for day, _, p in sorted(dated) if day <= logical_date]
    return found


def load_landing(
    url: str,
    landing_dir: Path | str,
    logical_date: dt.date,
    sources: Iterable[str] | None = None,
    *,
    progress: Callable[[Path, float], None] | None = None,
) -> list[BatchResult]:
    """Load every landing file available on ``logical_date`` that has not loaded yet.

    Each file is its own transaction, so a failure leaves the files before it loaded
    and a rerun continues where it stopped; rerunning a finished date changes nothing.

    Parameters
    ----------
    url : str
        Warehouse URL.
    landing_dir : Path or str
        Folder holding one sub-folder per source.
    logical_date : date
        Files dated after it wait for a later run.
    sources : iterable of str, optional
        Limit to these sources (default: all).
    progress : callable, optional
        Called with (file, fraction read).

    Returns
    -------
    list of BatchResult
        One per file considered, skipped ones included.
    """
    results = []
    for source, path in landing_files(landing_dir, logical_date, sources):
        report = functools.partial(progress, path) if progress else None
        results.append(load_file(url, source, path, logical_date, progress=report))
    return results
