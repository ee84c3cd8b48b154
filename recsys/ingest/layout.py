"""Where the declared columns of a source sit in one landing file.

A file is matched against its :class:`~recsys.contracts.raw.SourceSpec` by header, so
column order is free and undeclared columns become attributes (or are ignored).
"""

from __future__ import annotations

import csv
import gzip
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from recsys.contracts.raw import Column, SourceSpec

FORMATS = (".csv", ".csv.gz", ".parquet")


class LoadError(ValueError):
    """A file that cannot be loaded at all (wrong header, unknown format, not UTF-8)."""


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
        raise LoadError(f"{spec.name}: file lacks column(s) {', '.join(missing)}; its header is {', '.join(header)}")
    used = {p for _, p in positions}
    extras = (
        () if spec.attributes_column is None else tuple((h.strip(), i) for i, h in enumerate(header) if i not in used)
    )
    return Layout(spec, header, tuple(positions), extras)


def read_header(path: Path) -> tuple[str, ...]:
    """Column names of a landing file (CSV header line or Parquet schema)."""
    if path.name.endswith(".parquet"):
        try:
            return tuple(pq.read_schema(path).names)
        except (pa.ArrowException, OSError) as exc:
            raise LoadError(
                f"{path.name}: not a readable Parquet file ({exc}); replace it with a complete copy"
            ) from exc
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
