"""``frames.read_frame``: the COPY + Arrow read of large query results keeps values exact."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pyarrow as pa
import pytest

from recsys.pgio import frames
from recsys.platform import warehouse

pytestmark = pytest.mark.integration

QUERY = """
-- a comment line, as the packaged SQL files start with
select * from (values
    ('a,b', '', 1, 2.5::float8, timestamptz '2023-03-04 05:06:07.5+02', date '2023-01-02'),
    (null, 'é "quoted"', null, null, null, null)
) as t(text_col, empty_col, int_col, float_col, ts_col, day_col)
where %(keep)s
"""
TYPES = {
    "text_col": pa.string(),
    "empty_col": pa.string(),
    "int_col": pa.float64(),
    "float_col": pa.float64(),
    "ts_col": pa.timestamp("us", tz="UTC"),
    "day_col": pa.timestamp("us"),
}


def test_values_nulls_and_empty_strings_survive(warehouse_db):
    with warehouse.connect(warehouse_db) as conn:
        frame = frames.read_frame(conn, QUERY, {"keep": True}, TYPES)
    assert frame["text_col"].tolist()[0] == "a,b" and pd.isna(frame["text_col"].tolist()[1])
    assert frame["empty_col"].tolist() == ["", 'é "quoted"']
    assert frame["int_col"].tolist()[0] == 1 and pd.isna(frame["int_col"].tolist()[1])
    assert frame["ts_col"][0] == pd.Timestamp("2023-03-04 03:06:07.5", tz="UTC")
    assert frame["day_col"][0] == pd.Timestamp(dt.date(2023, 1, 2))


def test_parameters_bind_and_an_untyped_column_is_refused(warehouse_db):
    with warehouse.connect(warehouse_db) as conn:
        assert frames.read_frame(conn, QUERY, {"keep": False}, TYPES).empty
        with pytest.raises(ValueError, match="ts_col"):
            frames.read_frame(conn, QUERY, {"keep": True}, {k: v for k, v in TYPES.items() if k != "ts_col"})
