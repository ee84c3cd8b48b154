"""Binary COPY encoding: PostgreSQL itself is the oracle (same bytes out, same values back)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from recsys.pgio import copy_binary
from recsys.platform import warehouse

UTC = dt.UTC
TYPES = ["text", "int2", "int4", "int8", "float4", "float8", "bool", "date", "timestamptz", "timestamp", "varchar"]
DDL = (
    "create table {name} (t text, i2 int2, i4 int4, i8 int8, f4 float4, f8 float8, b bool, d date,"
    " tz timestamptz, ts timestamp, v varchar(20))"
)
COLUMNS = ["t", "i2", "i4", "i8", "f4", "f8", "b", "d", "tz", "ts", "v"]


def awkward_frame() -> pd.DataFrame:
    """Every supported type with its edge values: NULLs of each kind, non-ASCII and empty
    text, integer bounds, infinities, denormals, negative zero, dates around both epochs."""
    return pd.DataFrame(
        {
            "t": ["plain", "", None, 'Grüße, 東京 — ✓ "quoted"\ttab\nnewline', "x" * 5000, "\\N"],
            "i2": [1, -32768, 32767, 0, -1, 7],
            "i4": pd.array([1, None, 2**31 - 1, -(2**31), 0, 42], dtype="Int64"),
            "i8": [2**63 - 1, -(2**63), 0, 1, -1, 10**15],
            "f4": np.array([1.5, 3.4028235e38, -0.0, 1e-45, np.inf, 0.1], np.float32),
            "f8": [1.5, np.inf, -np.inf, 5e-324, np.nan, -1.7976931348623157e308],
            "b": [True, False, None, True, False, True],
            "d": [
                dt.date(2000, 1, 1),
                dt.date(1970, 1, 1),
                None,
                dt.date(1999, 12, 31),
                dt.date(1, 1, 1),
                dt.date(9999, 12, 31),
            ],
            "tz": pd.to_datetime(
                [
                    "2000-01-01T00:00:00Z",
                    "1969-12-31T23:59:59.999999Z",
                    None,
                    "2023-12-31T23:59:59.123456+02:00",
                    "1900-03-01T12:00:00Z",
                    "2200-01-01T00:00:00Z",
                ],
                utc=True,
                format="ISO8601",
            ),
            "ts": pd.to_datetime(
                [
                    "2000-01-01 00:00:00",
                    "1999-12-31 23:59:59.5",
                    None,
                    "2011-12-09 12:50:00",
                    "1970-01-01",
                    "2100-02-28 01:02:03.000004",
                ],
                format="ISO8601",
            ),
            "v": ["a", "é", "", None, "short", "z"],
        }
    )


def stream(frame: pd.DataFrame, chunk_rows: int):
    """A whole binary COPY stream of ``frame``: header, tuples in chunks, trailer."""
    yield copy_binary.HEADER
    yield from copy_binary.encode_frame(frame, COLUMNS, TYPES, chunk_rows)
    yield copy_binary.TRAILER


def test_empty_and_mismatched_inputs():
    empty = pa.table({"t": pa.array([], pa.string())})
    assert copy_binary.encode(empty, ["text"]).size == 0
    with pytest.raises(ValueError, match="1 columns but 2"):
        copy_binary.encode(empty, ["text", "int4"])
    with pytest.raises(ValueError, match="numeric.*no binary COPY encoder"):
        copy_binary.encode(pa.table({"n": [1.5]}), ["numeric"])
    with pytest.raises(ValueError, match="does not fit PostgreSQL int2"):
        copy_binary.encode(pa.table({"i": [40_000]}), ["int2"])
    with pytest.raises(ValueError, match="does not fit PostgreSQL int4"):
        copy_binary.encode(pa.table({"i": [1.5]}), ["int4"])


@pytest.mark.integration
def test_bytes_equal_what_postgresql_writes(warehouse_db):
    """The server's own COPY TO (format binary) of the same rows is the reference encoding."""
    frame = awkward_frame().drop(columns=["f8"]).assign(f8=[1.5, np.inf, -np.inf, 5e-324, None, -0.0])
    frame = frame[COLUMNS]
    with warehouse.transaction(warehouse_db) as conn:
        conn.execute(DDL.format(name="oracle"))
        with conn.cursor() as cur, cur.copy("copy oracle from stdin (format binary)") as copy:
            for chunk in stream(frame, chunk_rows=4):
                copy.write(chunk)
        with conn.cursor() as cur, cur.copy("copy oracle to stdout (format binary)") as copy:
            server = b"".join(bytes(data) for data in copy)
        conn.execute("drop table oracle")
    ours = b"".join(bytes(chunk) for chunk in stream(frame, chunk_rows=4))
    assert ours == server


@pytest.mark.integration
@pytest.mark.parametrize("chunk_rows", [1, 4, 1000])
def test_round_trip_keeps_every_value(warehouse_db, chunk_rows):
    frame = awkward_frame()
    with warehouse.transaction(warehouse_db) as conn:
        conn.execute(DDL.format(name="round_trip"))
        with conn.cursor() as cur, cur.copy("copy round_trip from stdin (format binary)") as copy:
            for chunk in stream(frame, chunk_rows=chunk_rows):
                copy.write(chunk)
        back = conn.execute("select * from round_trip").fetchall()
        conn.execute("drop table round_trip")
    assert len(back) == len(frame)
    for row, (_, expected) in zip(back, frame.iterrows()):
        for column, value in zip(COLUMNS, row):
            want = expected[column]
            if pd.isna(want):
                assert value is None, f"{column}: missing values are NULL"
            elif column == "f4":
                assert np.float32(value) == want and np.signbit(value) == np.signbit(want)
            elif column in ("tz", "ts"):
                assert value == want.to_pydatetime()
            else:
                assert value == want, column
                assert not isinstance(value, float) or np.signbit(value) == np.signbit(want), column
