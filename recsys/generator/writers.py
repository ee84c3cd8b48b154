"""Deterministic, streamed ``.csv.gz`` landing files.

The header line is written by hand so it is exactly the contract's column names
(pyarrow would quote them).  Rows are formatted by pyarrow and compressed by zlib at
level 6 (Arrow's own gzip stream uses level 9, three times slower for 3% less size),
with a gzip header without timestamp or file name, so the same rows always give the
same bytes.  A file is written under a hidden
temporary name and renamed when complete: a loader watching the landing folder never
sees half a file.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv

#: zlib level of the landing files (gzip's own default).
GZIP_LEVEL = 6


class CsvGzWriter:
    """Write tables of one schema to ``path``, buffering rows into chunks.

    Parameters
    ----------
    path : Path
        Final file name (``.csv.gz``); parent folders are created.
    schema : pa.Schema
        Column names and order of the file.
    chunk_rows : int
        Rows buffered before they are formatted and compressed; bounds memory.  The
        bytes written do not depend on it.
    quoting : str
        pyarrow quoting style: ``"needed"`` quotes every string (free text), ``"none"``
        quotes nothing and fails on a value that would need quotes (identifiers).
    """

    def __init__(self, path: Path, schema: pa.Schema, *, chunk_rows: int = 250_000, quoting: str = "needed"):
        if chunk_rows < 1:
            raise ValueError(f"chunk_rows={chunk_rows}: buffer at least one row")
        self.path = Path(path)
        self.schema = schema
        self.chunk_rows = chunk_rows
        self.quoting = quoting
        self.rows = 0
        self._pending: list[pa.Table] = []
        self._pending_rows = 0

    @property
    def _partial(self) -> Path:
        return self.path.with_name(f".{self.path.name}.part")

    def __enter__(self) -> CsvGzWriter:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file = self._partial.open("wb")
        self._gzip = gzip.GzipFile(filename="", mode="wb", fileobj=self._file, compresslevel=GZIP_LEVEL, mtime=0)
        self._gzip.write((",".join(self.schema.names) + "\n").encode())
        return self

    def write(self, table: pa.Table) -> None:
        """Queue ``table``; chunks of at least ``chunk_rows`` rows go to disk."""
        if table.schema != self.schema:
            raise ValueError(f"{self.path.name}: table schema {table.schema} differs from the file's {self.schema}")
        self._pending.append(table)
        self._pending_rows += table.num_rows
        if self._pending_rows >= self.chunk_rows:
            self._flush()

    def _flush(self) -> None:
        if self._pending_rows:
            sink = pa.BufferOutputStream()
            options = pacsv.WriteOptions(include_header=False, quoting_style=self.quoting)
            pacsv.write_csv(pa.concat_tables(self._pending), sink, write_options=options)
            self._gzip.write(sink.getvalue())
            self.rows += self._pending_rows
        self._pending, self._pending_rows = [], 0

    def __exit__(self, exc_type, exc, tb) -> None:
        try:
            if exc_type is None:
                self._flush()
            self._gzip.close()
            self._file.close()
        finally:
            if exc_type is None:
                self._partial.replace(self.path)
            else:
                self._partial.unlink(missing_ok=True)


def write_csv_gz(path: Path, table: pa.Table, *, quoting: str = "needed") -> Path:
    """Write one table as a complete landing file and return its path."""
    with CsvGzWriter(path, table.schema, chunk_rows=max(table.num_rows, 1), quoting=quoting) as writer:
        writer.write(table)
    return path
