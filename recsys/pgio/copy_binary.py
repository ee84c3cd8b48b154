"""Rows in PostgreSQL's binary COPY format, encoded column by column.

A CSV COPY costs twice: the client prints every number and date as text, and the server
parses it back.  The binary format carries values as the server stores them, so the
server only checks and places them.  Layout (PostgreSQL docs, "COPY -- binary format"):

* a header: ``PGCOPY\\n\\377\\r\\n\\0``, an int32 flags word (0) and an int32 extension length (0);
* per row, an int16 field count, then per field an int32 byte length (-1 for NULL) and the
  value: text as its UTF-8 bytes; int2/int4/int8, float4/float8 big-endian; bool one byte;
  date int32 days and timestamp/timestamptz int64 microseconds since 2000-01-01 (UTC);
* a trailer: int16 -1.

The input is an Arrow table (pandas frames go through Arrow first, as the CSV writer did,
so missing values -- ``None``, ``NaN``, ``NaT`` -- become NULL the same way).  Each column
is cast to the Arrow type of its PostgreSQL column and laid out as numpy arrays (fixed
widths as big-endian bytes side by side, text as offsets into shared UTF-8 bytes); one
numba kernel then writes the rows in order.  It releases the GIL, so one chunk can be
sent while the next is encoded on another thread (``recsys.pgio.copy_stream``).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numba as nb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

HEADER = b"PGCOPY\n\xff\r\n\x00" + bytes(8)
TRAILER = b"\xff\xff"
#: Days and microseconds from the Unix epoch to PostgreSQL's (2000-01-01).
PG_EPOCH_DAYS = 10_957
PG_EPOCH_MICROS = PG_EPOCH_DAYS * 86_400 * 1_000_000
#: Rows encoded per chunk: about 20-40 MB of output for a published recommendations table.
CHUNK_ROWS = 200_000

#: The Arrow type each supported PostgreSQL type (``pg_type.typname``) is encoded from.
ARROW_TYPES: dict[str, pa.DataType] = {
    "text": pa.large_string(),
    "varchar": pa.large_string(),
    "int2": pa.int16(),
    "int4": pa.int32(),
    "int8": pa.int64(),
    "float4": pa.float32(),
    "float8": pa.float64(),
    "bool": pa.bool_(),
    "date": pa.date32(),
    "timestamp": pa.timestamp("us"),
    "timestamptz": pa.timestamp("us", tz="UTC"),
}
#: Big-endian numpy type of each fixed-width PostgreSQL type.
_WIRE_TYPES = {
    "int2": ">i2",
    "int4": ">i4",
    "int8": ">i8",
    "float4": ">f4",
    "float8": ">f8",
    "bool": "u1",
    "date": ">i4",
    "timestamp": ">i8",
    "timestamptz": ">i8",
}


def _column(table: pa.Table, i: int, pg_type: str) -> pa.Array:
    """Column ``i`` as one Arrow array of the type its PostgreSQL column is encoded from."""
    name = table.column_names[i]
    if pg_type not in ARROW_TYPES:
        raise ValueError(
            f"column {name!r} is PostgreSQL {pg_type!r}, which has no binary COPY encoder; "
            f"supported: {sorted(ARROW_TYPES)} (cast it in the table or add it to recsys.pgio.copy_binary)"
        )
    column = table.column(i)
    array = column.chunk(0) if column.num_chunks == 1 else column.combine_chunks()
    try:
        # PostgreSQL keeps microseconds: finer timestamps are truncated, not refused.
        return pc.cast(array, options=pc.CastOptions(ARROW_TYPES[pg_type], allow_time_truncate=True))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        raise ValueError(f"column {name!r} ({array.type}) does not fit PostgreSQL {pg_type}: {exc}") from exc


def _wire_values(array: pa.Array, pg_type: str) -> np.ndarray:
    """A fixed-width column as an ``(n, width)`` array of its big-endian wire bytes."""
    n = len(array)
    if pg_type == "bool":
        values = pc.fill_null(array, False).to_numpy(zero_copy_only=False)
    else:
        values = np.frombuffer(array.buffers()[1], np.dtype(_WIRE_TYPES[pg_type]).newbyteorder("="))
        values = values[array.offset : array.offset + n]
    if pg_type == "date":
        values = values - PG_EPOCH_DAYS
    elif pg_type.startswith("timestamp"):
        values = values - PG_EPOCH_MICROS
    wire = values.astype(_WIRE_TYPES[pg_type])
    return wire.view(np.uint8).reshape(n, wire.dtype.itemsize)


def _text_values(array: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """A large_string column as ``(offsets, utf8 bytes)``, offsets rebased on its own bytes."""
    _, offsets, data = array.buffers()
    offsets = np.frombuffer(offsets, np.int64)[array.offset : array.offset + len(array) + 1]
    data = np.frombuffer(data, np.uint8) if data is not None else np.zeros(0, np.uint8)
    return offsets - offsets[0], data[offsets[0] : offsets[-1]]


def encode(table: pa.Table, pg_types: Sequence[str]) -> np.ndarray:
    """The rows of ``table`` as binary COPY tuples (no header, no trailer).

    Parameters
    ----------
    table
        One column per field of the target, in COPY column order.
    pg_types
        ``pg_type.typname`` of each target column (``text``, ``int2``, ``float8``,
        ``date``, ``timestamptz``, ... see :data:`ARROW_TYPES`).

    Returns
    -------
    numpy.ndarray
        uint8 buffer of the tuples, ready for ``Copy.write`` after :data:`HEADER`.
    """
    if len(pg_types) != table.num_columns:
        raise ValueError(f"{table.num_columns} columns but {len(pg_types)} PostgreSQL types")
    n, n_cols = table.num_rows, table.num_columns
    arrays = [_column(table, i, pg_type) for i, pg_type in enumerate(pg_types)]
    valid = np.ones((n, n_cols), np.bool_)
    for i, array in enumerate(arrays):
        if array.null_count:
            valid[:, i] = array.is_valid().to_numpy(zero_copy_only=False)
    fixed = [_wire_values(a, t) for a, t in zip(arrays, pg_types) if t not in ("text", "varchar")]
    text = [_text_values(a) for a, t in zip(arrays, pg_types) if t in ("text", "varchar")]
    widths = np.array(
        [0 if t in ("text", "varchar") else np.dtype(_WIRE_TYPES[t]).itemsize for t in pg_types], np.int64
    )
    wire = np.concatenate(fixed, axis=1) if fixed else np.zeros((n, 0), np.uint8)
    offsets = np.stack([o for o, _ in text], axis=1) if text else np.zeros((n + 1, 0), np.int64)
    data = np.concatenate([d for _, d in text]) if text else np.zeros(0, np.uint8)
    offsets += np.cumsum([0] + [len(d) for _, d in text], dtype=np.int64)[: len(text)]  # into the shared bytes
    lengths = np.diff(offsets, axis=0)
    value_bytes = int((valid[:, widths > 0] * widths[widths > 0]).sum() + lengths[valid[:, widths == 0]].sum())
    out = np.empty(n * (2 + 4 * n_cols) + value_bytes, np.uint8)
    _write_rows(out, widths, wire, offsets, data, valid)
    return out


@nb.njit(nogil=True, cache=True)
def _put_length(out, p, length):
    out[p] = (length >> 24) & 0xFF
    out[p + 1] = (length >> 16) & 0xFF
    out[p + 2] = (length >> 8) & 0xFF
    out[p + 3] = length & 0xFF


@nb.njit(nogil=True, cache=True)
def _write_rows(out, widths, wire, offsets, data, valid):
    """Row after row, field after field: sequential writes into ``out``.

    ``wire`` holds the fixed-width columns side by side, ``offsets`` one column per text
    column into the shared ``data``, ``valid`` one column per column; every array is
    row-major so a row's fields sit together.  Byte loops, not slices: the fields are short.
    """
    n_cols = len(widths)
    p = 0
    for i in range(valid.shape[0]):
        out[p] = n_cols >> 8
        out[p + 1] = n_cols & 0xFF
        p += 2
        at = 0
        t = 0
        for c in range(n_cols):
            width = widths[c]
            if not valid[i, c]:
                _put_length(out, p, -1)
                p += 4
            elif width:
                _put_length(out, p, width)
                p += 4
                for b in range(width):
                    out[p + b] = wire[i, at + b]
                p += width
            else:
                start, stop = offsets[i, t], offsets[i + 1, t]
                _put_length(out, p, stop - start)
                p += 4
                for b in range(stop - start):
                    out[p + b] = data[start + b]
                p += stop - start
            at += width
            if width == 0:
                t += 1
    return p


def encode_frame(
    frame: pd.DataFrame, columns: Sequence[str], pg_types: Sequence[str], chunk_rows: int = CHUNK_ROWS
) -> Iterator[memoryview]:
    """The tuples of ``frame[columns]`` in chunks of ``chunk_rows`` rows (a COPY stream is
    :data:`HEADER`, the tuples of one or more frames, then :data:`TRAILER`).

    Each chunk goes through Arrow (``NaN``/``None``/``NaT`` become NULL, as with Arrow's
    CSV writer) only when it is encoded, so the previous chunk can be sent meanwhile and
    the encoded bytes in flight stay near ``chunk_rows`` rows.
    """
    if chunk_rows <= 0:
        raise ValueError(f"chunk_rows must be positive, got {chunk_rows}")
    for start in range(0, len(frame), chunk_rows):
        table = pa.Table.from_pandas(frame.iloc[start : start + chunk_rows][list(columns)], preserve_index=False)
        yield encode(table, pg_types).data
