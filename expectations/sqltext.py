"""SQL of the gates, kept in ``expectations/sql/*.sql`` rather than in Python strings.

Two uses: queries run through psycopg (values bound as ``%(name)s`` parameters) and the
query text of a GX query asset or ``UnexpectedRowsExpectation``, which GX runs itself and
cannot bind: there values are rendered as typed SQL literals by psycopg, never by string
formatting.  Table names come from a validated ``schema.table`` and are quoted.
"""

from __future__ import annotations

import re
from pathlib import Path

from psycopg import sql

_TABLE = re.compile(r"^[a-z_][a-z0-9_]*\.[a-z_][a-z0-9_]*$")


def read_sql(name: str) -> str:
    """The text of ``expectations/sql/<name>``."""
    return (Path(__file__).parent / "sql" / name).read_text()


def table_identifier(table: str) -> sql.Identifier:
    """``schema.table`` as a quoted identifier; anything else is refused."""
    if not _TABLE.match(table):
        raise ValueError(f"table must be 'schema.table' in lower case letters, digits and _, got {table!r}")
    return sql.Identifier(*table.split("."))


def compose(name: str, **tables: str) -> sql.Composed:
    """A query to run with psycopg: ``{placeholders}`` become quoted tables, ``%(x)s`` stay bound."""
    return sql.SQL(read_sql(name)).format(**{k: table_identifier(v) for k, v in tables.items()})


def render(name: str, tables: dict[str, str] | None = None, columns: list[str] | None = None, **values) -> str:
    """Query text for GX: tables quoted, ``{columns}`` a quoted list, values as typed
    literals, GX's ``{batch}`` kept."""
    parts: dict[str, sql.Composable] = {k: table_identifier(v) for k, v in (tables or {}).items()}
    parts.update({k: sql.Literal(v) for k, v in values.items()})
    if columns:
        parts["columns"] = sql.SQL(", ").join(sql.Identifier(c) for c in columns)
    parts["batch"] = sql.SQL("{batch}")
    return sql.SQL(read_sql(name)).format(**parts).as_string(None)
