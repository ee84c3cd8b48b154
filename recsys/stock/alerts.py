"""Stock alerts as a message: what the DAG's notifier sends and ``recsys stock alerts`` prints.

``marts.fct_stock_alerts`` holds one row per product below the cover threshold on the
business date (rebuilt nightly by dbt), so reading it for a date gives each product
once; :func:`alert_message` turns the rows into a subject, a text body and a JSON
payload (for a webhook).  Only :func:`read_alerts` touches the warehouse.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass

from recsys.platform import warehouse
from recsys.platform.sqlfiles import SqlFiles

_sql = SqlFiles(__name__)

#: Lines of alerts a text body lists before it says how many more there are.
MAX_LINES = 50


@dataclass(frozen=True)
class StockAlert:
    """One product below the cover threshold."""

    product_id: str
    title: str | None
    category: str | None
    alert_kind: str
    stock_level: int | None
    recent_daily_units: float | None
    days_of_cover: float
    alert_cover_days: float
    stock_level_since: dt.date | None


@dataclass(frozen=True)
class AlertMessage:
    subject: str
    text: str
    payload: dict


def read_alerts(url: str, business_date: dt.date) -> list[StockAlert]:
    """The alerts of ``business_date`` (empty when the marts hold another date's)."""
    with warehouse.connect(url) as conn:
        cursor = conn.execute(_sql("stock_alerts.sql"), {"business_date": business_date})
        return [StockAlert(*row) for row in cursor.fetchall()]


def alert_message(alerts: list[StockAlert], business_date: dt.date) -> AlertMessage:
    """Subject, text and JSON payload of a night's alerts."""
    out = sum(a.alert_kind == "out_of_stock" for a in alerts)
    subject = f"Stock alerts {business_date}: {out} out of stock, {len(alerts) - out} running low"
    lines = [
        f"{a.product_id}  {a.title or ''}  ({a.category or 'no category'}): "
        + (
            "out of stock"
            if a.alert_kind == "out_of_stock"
            else f"{a.stock_level} left, {a.days_of_cover:.1f} days of cover at {a.recent_daily_units or 0:.2f}/day"
        )
        for a in alerts[:MAX_LINES]
    ]
    if len(alerts) > MAX_LINES:
        lines.append(f"... and {len(alerts) - MAX_LINES} more (marts.fct_stock_alerts)")
    payload = {
        "business_date": business_date.isoformat(),
        "out_of_stock": out,
        "low_cover": len(alerts) - out,
        "alerts": [
            {
                k: (v.isoformat() if isinstance(v, dt.date) else float(v) if isinstance(v, float) else v)
                for k, v in asdict(a).items()
            }
            for a in alerts
        ],
    }
    return AlertMessage(subject, "\n".join([subject, *lines]), payload)
