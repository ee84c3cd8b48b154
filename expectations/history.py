"""Daily aggregates of the days before the logical date, read to learn bands."""

from __future__ import annotations

import datetime as dt

import psycopg

from .bands import DayValue
from .sqltext import compose


def daily_event_history(
    conn: psycopg.Connection, events_table: str, products_table: str, logical_date: dt.date, days: int
) -> dict[str, list[DayValue]]:
    """Per day with events from ``days`` before ``logical_date`` up to it (included): the
    event count, the share of purchases and the share of products first seen that day
    (``first_seen_at`` of ``products_table``, so only the window's events are read)."""
    rows = conn.execute(
        compose("events_daily_history.sql", events=events_table, products=products_table),
        {"logical_date": logical_date, "days": days},
    ).fetchall()
    return {
        "events": [DayValue(r[0], float(r[1])) for r in rows],
        "purchase_share": [DayValue(r[0], float(r[2])) for r in rows],
        "new_product_share": [DayValue(r[0], float(r[3])) for r in rows],
    }


def scalar(conn: psycopg.Connection, sql_name: str, tables: dict[str, str], params: dict) -> float:
    """A single number from a packaged query (a catalogue size, a count)."""
    row = conn.execute(compose(sql_name, **tables), params).fetchone()
    return float(row[0] or 0) if row else 0.0
