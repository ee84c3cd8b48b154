"""The stock-alert task of ``warehouse_build``: after the mart gate, tell people."""

from __future__ import annotations

from airflow.sdk import task

from recsys_airflow.notifiers.stock import StockAlertNotifier


@task
def notify_stock_alerts(business_date: str, **context) -> dict:
    """Send the business date's ``marts.fct_stock_alerts`` (log; webhook or e-mail when configured)."""
    notifier = StockAlertNotifier(business_date=business_date)
    notifier(context)
    return {"business_date": business_date, "channels": notifier.sent}
