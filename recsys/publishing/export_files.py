"""Export files written chunk by chunk, with the bytes of one write of the whole table.

A CRM export streams its rows, so no file is ever held whole in memory, yet a file must
not depend on how the rows were chunked:

* CSV (Arrow's writer, header once) and JSON lines (pandas, one record per line) are
  appended chunk after chunk;
* Parquet is spooled chunk by chunk to Arrow IPC files beside the output, then written at
  :meth:`TableFile.close` in pyarrow's default row groups (1Mi rows, one in memory at a
  time) with the schema of the whole table, which the caller gives as a small frame of the
  same column types (``typed``): the types pandas infers depend on all the rows.
"""

from __future__ import annotations

import abc
import hashlib
import tempfile
import typing
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Literal

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

ExportFormat = Literal["csv", "parquet", "jsonl"]
FORMATS: tuple[str, ...] = typing.get_args(ExportFormat)
#: pyarrow's default row group: the Parquet files are laid out as one write of the whole table.
PARQUET_ROW_GROUP_ROWS = 1024 * 1024


class TableFile(abc.ABC):
    """A file written chunk by chunk (``write``), then ``close(typed)`` -> ``(path, rows)``,
    where ``typed`` is a small frame typed as the whole file would be."""

    def __init__(self, path: Path):
        self.path, self.rows, self.started = path, 0, False
        path.unlink(missing_ok=True)

    @abc.abstractmethod
    def write(self, frame: pd.DataFrame) -> None:
        """Append ``frame``'s rows."""

    @abc.abstractmethod
    def close(self, typed: pd.DataFrame) -> tuple[Path, int]:
        """Finish the file; ``typed`` gives the column types of an empty file."""


class _CsvFile(TableFile):
    def write(self, frame: pd.DataFrame) -> None:
        options = pacsv.WriteOptions(include_header=not self.started)
        with open(self.path, "ab") as stream:
            pacsv.write_csv(pa.Table.from_pandas(frame, preserve_index=False), stream, options)
        self.rows += len(frame)
        self.started = True

    def close(self, typed: pd.DataFrame) -> tuple[Path, int]:
        if not self.started:
            self.write(typed.iloc[:0])
        return self.path, self.rows


class _JsonlFile(TableFile):
    def write(self, frame: pd.DataFrame) -> None:
        if len(frame):  # an empty frame is written as one newline, once, by close()
            with open(self.path, "a", encoding="utf-8") as stream:
                stream.write(_json_lines(frame))
            self.rows += len(frame)

    def close(self, typed: pd.DataFrame) -> tuple[Path, int]:
        if not self.rows:
            self.path.write_text(_json_lines(typed.iloc[:0]), encoding="utf-8")
        return self.path, self.rows


def _json_lines(frame: pd.DataFrame) -> str:
    return frame.to_json(None, orient="records", lines=True, force_ascii=False, double_precision=15)


class _ParquetFile(TableFile):
    """Chunks spooled as Arrow files; written at :meth:`close` with the whole file's schema
    in row groups of :data:`PARQUET_ROW_GROUP_ROWS` (one row group in memory at a time)."""

    def __init__(self, path: Path):
        super().__init__(path)
        self.spool = tempfile.TemporaryDirectory(prefix=f".{path.stem}-", dir=path.parent)
        self.chunks: list[Path] = []

    def write(self, frame: pd.DataFrame) -> None:
        if len(frame):
            chunk = Path(self.spool.name) / f"{len(self.chunks)}.arrow"
            table = pa.Table.from_pandas(frame, preserve_index=False)
            with pa.OSFile(str(chunk), "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
                writer.write_table(table)
            self.chunks.append(chunk)
            self.rows += len(frame)

    def close(self, typed: pd.DataFrame) -> tuple[Path, int]:
        schema = pa.Table.from_pandas(typed, preserve_index=False).schema
        try:
            with pq.ParquetWriter(self.path, schema, compression="zstd", write_statistics=False) as writer:
                for group in _row_groups(self.chunks, schema, PARQUET_ROW_GROUP_ROWS):
                    writer.write_table(group)
                if not self.rows:
                    writer.write_table(schema.empty_table())
        finally:
            self.spool.cleanup()
        return self.path, self.rows


def _row_groups(chunks: list[Path], schema: pa.Schema, size: int) -> Iterator[pa.Table]:
    """The spooled rows cast to ``schema``, in contiguous tables of ``size`` rows."""
    pending, n = [], 0
    for chunk in chunks:
        table = _cast(pa.ipc.open_file(pa.memory_map(str(chunk))).read_all(), schema)
        while len(table):
            take = table.slice(0, size - n)
            pending.append(take)
            n += len(take)
            table = table.slice(len(take))
            if n == size:
                yield pa.concat_tables(pending).combine_chunks()
                pending, n = [], 0
    if n:
        yield pa.concat_tables(pending).combine_chunks()


def _cast(table: pa.Table, schema: pa.Schema) -> pa.Table:
    """``table`` with ``schema``'s types; a column null throughout the file stays null-typed."""
    columns = [pa.nulls(len(table)) if f.type == pa.null() else table.column(f.name).cast(f.type) for f in schema]
    return pa.Table.from_arrays(columns, schema=schema)


_FILES: dict[str, Callable[[Path], TableFile]] = {"csv": _CsvFile, "jsonl": _JsonlFile, "parquet": _ParquetFile}


def check_format(fmt: str) -> None:
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}; choose one of {FORMATS}")


def open_table(path: Path, fmt: str) -> TableFile:
    """An empty ``<path>.<fmt>`` (any earlier file replaced) to ``write`` frames to, then ``close``."""
    check_format(fmt)
    return _FILES[fmt](Path(path).with_suffix(f".{fmt}"))


def write_table(frame: pd.DataFrame, path: Path, fmt: str) -> Path:
    """``frame`` as CSV, Parquet or JSON lines; deterministic bytes for the same frame."""
    file = open_table(path, fmt)
    file.write(frame)
    return file.close(frame)[0]


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        while block := stream.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()
