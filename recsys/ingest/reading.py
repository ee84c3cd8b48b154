"""Landing files streamed as text chunks with physical line numbers.

pyarrow parses every column as text in blocks of bounded size, whatever the file size;
rows the parser cannot split into the header's columns are rejected here, before
Postgres sees them, with the line they sit on.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from recsys.ingest.layout import LoadError, field_name, file_format

#: Bytes of CSV parsed per block: bounds memory, large enough to amortise per-block costs.
BLOCK_SIZE = 2 << 20


PARQUET_BATCH_ROWS = 65_536


#: Rows the CSV parser rejects in a row before the file counts as unreadable (memory bound).
MAX_BROKEN_RUN = 100_000


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
        counts = np.concatenate(
            [
                np.zeros(len(records), np.int64) if newlines is None else newlines,
                np.fromiter((t.count("\n") for _, t, _ in settled), np.int64, len(settled)),
            ]
        )
        every = np.concatenate([records, rejected])
        order = np.argsort(every, kind="stable")
        before = np.cumsum(counts[order]) - counts[order]
        lines = np.empty_like(every)
        lines[order] = every[order] + self.shift + before
        self.shift += int(counts.sum())
        broken = [
            (int(line), text, f"wrong column count: expected {self.width}, got {got}")
            for line, (_, text, got) in zip(lines[len(records) :], settled)
        ]
        return lines[: len(records)], broken


def data_bytes(column: pa.Array) -> np.ndarray:
    buffer = column.buffers()[2]
    return np.frombuffer(buffer, np.uint8) if buffer is not None else np.empty(0, np.uint8)


def _embedded_newlines(batch: pa.RecordBatch) -> np.ndarray | None:
    """Newlines inside each row's values; None (the usual case) when there are none."""
    if not any((data_bytes(c) == 10).any() for c in batch.columns):
        return None
    counts = [pc.count_substring(c, "\n").fill_null(0).to_numpy(zero_copy_only=False) for c in batch.columns]
    return np.sum(counts, axis=0).astype(np.int64)


def _split_nul_rows(chunk: Chunk) -> Chunk:
    """Reject rows holding a NUL byte, which Postgres text cannot store."""
    batch = chunk.batch
    if batch is None or not any((data_bytes(c) == 0).any() for c in batch.columns):
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
    """Text chunks of any landing format; what a parser or decompressor raises becomes a
    LoadError that names the file and what to do."""
    chunks = parquet_chunks if file_format(path) == ".parquet" else csv_chunks
    try:
        yield from chunks(path, width)
    except pa.ArrowInvalid as exc:
        if "straddl" in str(exc):
            raise LoadError(
                f"{path.name}: a row is longer than the parser's {BLOCK_SIZE >> 20} MiB block, far beyond any "
                "column's limit: check the quoting and the delimiter"
            ) from exc
        raise LoadError(f"{path.name}: {exc} (landing files must be UTF-8 CSV or Parquet)") from exc
    except (pa.ArrowException, OSError) as exc:
        raise LoadError(
            f"{path.name}: cannot be read to its end ({exc}): the file is truncated or corrupt; "
            "replace it with a complete copy"
        ) from exc
