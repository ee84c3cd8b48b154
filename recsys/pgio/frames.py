"""Query results as pandas frames: small ones row by row, large ones through COPY and Arrow."""

from __future__ import annotations

import tempfile
from collections.abc import Mapping

import pandas as pd
import psycopg
import pyarrow as pa
import pyarrow.csv as pacsv
from psycopg import sql


def query_frame(conn: psycopg.Connection, query: str, params: Mapping | None = None) -> pd.DataFrame:
    """The rows of ``query`` as a frame with the query's column names (small results;
    :func:`read_frame` for millions of rows)."""
    cursor = conn.execute(query, params)
    return pd.DataFrame(cursor.fetchall(), columns=[c.name for c in cursor.description or ()])


def read_frame(
    conn: psycopg.Connection, query: str, params: Mapping | None, types: Mapping[str, pa.DataType]
) -> pd.DataFrame:
    """The rows of ``query`` as a frame, through ``COPY ... TO STDOUT`` (CSV) and Arrow.

    For reads of millions of rows: ``fetchall`` builds a Python object per value (a
    minute and gigabytes at ten million rows); here the server writes CSV into a
    temporary file and Arrow parses it on every core.  ``types`` gives every column's
    Arrow type (a column missing from it is an error, not a guess).  NULL and the empty
    string stay apart (COPY quotes an empty string).
    """
    statement = sql.SQL("copy ({}) to stdout (format csv, header true)").format(sql.SQL(query.strip().rstrip(";")))
    with tempfile.TemporaryFile() as spool:
        with conn.cursor() as cur, cur.copy(statement, params) as copy:
            for data in copy:
                spool.write(data)
        spool.seek(0)
        header = spool.readline().decode().rstrip("\n").split(",")
        missing = [name for name in header if name not in types]
        if missing:
            raise ValueError(f"no Arrow type given for columns {missing} of the query")
        spool.seek(0)
        table = pacsv.read_csv(
            spool,
            convert_options=pacsv.ConvertOptions(
                column_types=dict(types), strings_can_be_null=True, quoted_strings_can_be_null=False
            ),
        )
    return table.to_pandas()
