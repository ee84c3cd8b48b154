"""What the database already guarantees, read from its catalogue."""

from __future__ import annotations

from collections.abc import Sequence

import psycopg

from .sqltext import read_sql, table_identifier


def unique_key_index(conn: psycopg.Connection, table: str, columns: Sequence[str]) -> str | None:
    """The valid unique index that makes ``columns`` a unique key of ``table`` (its own
    columns all among them: a primary key on ``event_id`` makes ``(event_id, x)`` unique
    too), or ``None``.  A primary key is preferred."""
    table_identifier(table)
    row = conn.execute(read_sql("unique_key_index.sql"), {"table": table, "columns": list(columns)}).fetchone()
    return row[0] if row else None
