"""The stock-alert notifier: the night's ``marts.fct_stock_alerts`` rows, told to people.

An Airflow notifier (``BaseNotifier``), so it works as a task's callback as well as from
``warehouse_build``'s ``notify_stock_alerts`` task.  It always logs the alerts (one line
each, in the task log); with ``RECSYS_STOCK__NOTIFY_WEBHOOK_URL`` it also POSTs the JSON
payload there, and with ``RECSYS_STOCK__NOTIFY_EMAIL_TO`` it e-mails the text through the
Airflow SMTP connection ``RECSYS_STOCK__NOTIFY_SMTP_CONN_ID`` (the SMTP provider's own
notifier).  A channel that fails raises, so the task fails and its retries try again.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import logging
import urllib.request
from collections.abc import Sequence

from airflow.sdk import BaseNotifier

log = logging.getLogger(__name__)

#: Seconds a webhook may take to answer.
WEBHOOK_TIMEOUT = 30


class StockAlertNotifier(BaseNotifier):
    """Send the stock alerts of ``business_date`` (templated: ``{{ ds }}`` by default)."""

    template_fields: Sequence[str] = ("business_date",)

    def __init__(self, business_date: str = "{{ ds }}", **kwargs):
        super().__init__(**kwargs)
        self.business_date = business_date
        self.sent: list[str] = []

    def notify(self, context) -> None:
        from recsys.platform.settings import get_settings
        from recsys.stock.alerts import alert_message, read_alerts
        from recsys_airflow.tasks.common import warehouse_url

        settings = get_settings().stock
        day = dt.date.fromisoformat(str(self.business_date))
        alerts = read_alerts(warehouse_url("quality"), day)
        message = alert_message(alerts, day)
        for line in message.text.splitlines():
            log.info("%s", line)
        self.sent = ["log"]
        if not alerts:
            return
        if settings.notify_webhook_url is not None:
            post_json(settings.notify_webhook_url.get_secret_value(), message.payload)
            self.sent.append("webhook")
        if settings.notify_email_to:
            from airflow.providers.smtp.notifications.smtp import SmtpNotifier

            SmtpNotifier(
                to=list(settings.notify_email_to),
                subject=message.subject,
                html_content=f"<pre>{html.escape(message.text)}</pre>",
                smtp_conn_id=settings.notify_smtp_conn_id,
            ).notify(context)
            self.sent.append("email")


def post_json(url: str, payload: dict) -> None:
    """POST ``payload`` as JSON; an HTTP error or timeout raises."""
    request = urllib.request.Request(
        url, data=json.dumps(payload).encode(), headers={"Content-Type": "application/json"}, method="POST"
    )
    with urllib.request.urlopen(request, timeout=WEBHOOK_TIMEOUT) as response:
        response.read()
