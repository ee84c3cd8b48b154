"""The ``warehouse`` connection as a libpq URL for ``recsys`` functions."""

from __future__ import annotations

import urllib.parse

from airflow.providers.postgres.hooks.postgres import PostgresHook


class WarehouseHook(PostgresHook):
    """Postgres hook for the recommendation warehouse.

    ``recsys`` functions take a libpq URL (they never import Airflow), so the hook's one
    addition is :meth:`get_warehouse_url`, which keeps a Unix-socket host (the embedded
    server) intact. Nothing connects until a method is called.
    """

    conn_name_attr = "warehouse_conn_id"
    default_conn_name = "warehouse"
    hook_name = "Recsys warehouse"

    def __init__(self, warehouse_conn_id: str = default_conn_name, **kwargs) -> None:
        super().__init__(postgres_conn_id=warehouse_conn_id, **kwargs)
        self.warehouse_conn_id = warehouse_conn_id

    def get_warehouse_url(self) -> str:
        """libpq URL of the connection; a socket folder goes in the ``host`` query parameter."""
        conn = self.get_connection(self.warehouse_conn_id)
        user = urllib.parse.quote(conn.login or "postgres", safe="")
        auth = f"{user}:{urllib.parse.quote(conn.password, safe='')}" if conn.password else user
        dbname = conn.schema or "postgres"
        port = conn.port or 5432
        if conn.host and conn.host.startswith("/"):
            return f"postgresql://{auth}@/{dbname}?host={conn.host}&port={port}"
        return f"postgresql://{auth}@{conn.host or 'localhost'}:{port}/{dbname}"
