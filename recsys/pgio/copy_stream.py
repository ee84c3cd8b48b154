"""Binary COPY of pandas frames into any table, streamed.

Values are encoded in the types the table declares (read from the catalogue), by the
numba encoder of :mod:`recsys.pgio.copy_binary`, while the previous chunk is sent; used by
publishing (run tables) and exports (campaign audiences) alike.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

import pandas as pd
from psycopg import sql

from recsys.pgio import copy_binary
from recsys.pgio.read_ahead import read_ahead
from recsys.platform.sqlfiles import SqlFiles

_sql = SqlFiles(__name__)


def column_types(conn, table: sql.Composable, columns: tuple[str, ...]) -> list[str]:
    """``pg_type.typname`` of ``columns`` of ``table``: what binary COPY must encode."""
    rows = conn.execute(_sql("column_types.sql"), {"table": table.as_string(conn)}).fetchall()
    types = dict(rows)
    missing = [c for c in columns if c not in types]
    if missing:
        raise ValueError(f"{table.as_string(conn)} has no columns {missing}")
    return [types[c] for c in columns]


@contextlib.contextmanager
def copy_binary_stream(
    conn, table: sql.Composable, columns: tuple[str, ...]
) -> Iterator[Callable[[pd.DataFrame], int]]:
    """One binary COPY into ``table`` held open: yields ``write(frame)``, which appends
    ``frame[columns]`` and returns its row count once the rows are sent.

    A worker thread encodes the next chunk while this one is sent (the encoder releases the
    GIL), so the client costs little beside the server storing rows; nothing is left queued
    when ``write`` returns, so the caller's next work does not compete with the send.
    """
    types = column_types(conn, table, columns)
    statement = sql.SQL(_sql("copy_binary_from_stdin.sql")).format(
        table=table, columns=sql.SQL(", ").join(map(sql.Identifier, columns))
    )
    with conn.cursor() as cur, cur.copy(statement) as copy:
        copy.write(copy_binary.HEADER)

        def write(frame: pd.DataFrame) -> int:
            for chunk in read_ahead(copy_binary.encode_frame(frame, columns, types)):
                copy.write(chunk)
            return len(frame)

        yield write
        copy.write(copy_binary.TRAILER)


def copy_rows(conn, table: sql.Composable, columns: tuple[str, ...], frame: pd.DataFrame) -> int:
    """COPY ``frame[columns]`` into ``table`` (binary format); returns the rows sent."""
    with copy_binary_stream(conn, table, columns) as write:
        return write(frame)
