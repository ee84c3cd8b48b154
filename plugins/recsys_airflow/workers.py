"""Which worker ran a task, when several Celery workers share one machine."""

from __future__ import annotations

import socket


def celery_node_name() -> str:
    """``[core] hostname_callable`` of local Celery workers: the Celery node (``worker1@host``).

    The task's supervisor runs inside the Celery task that received it, whose request
    names the worker node; outside a Celery task this is the machine's name, Airflow's default.
    """
    from celery import current_task

    request = getattr(current_task, "request", None)
    return getattr(request, "hostname", None) or socket.getfqdn()
