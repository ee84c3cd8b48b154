"""The embedded warehouse: a real PostgreSQL 16 from the ``pgserver`` wheel.

With ``WAREHOUSE_URL`` unset the platform starts this server in ``<home>/.warehouse``
and keeps it between runs.  It listens on a Unix socket in its data folder; the URL is
read from the server object, because ``pgserver`` moves the socket elsewhere when the
folder's path is long.
"""

from __future__ import annotations

import logging
import os
import warnings

import psycopg
from psycopg import sql

from recsys.platform.settings import Settings

EMBEDDED_PASSWORD = "postgres"

#: Server settings for a single-node analytical warehouse, applied to the embedded server
#: whenever they differ from what it runs with (a remote server is the operator's to tune).
#: ``synchronous_commit`` stays ``on``: a load or publish reported as committed must survive
#: a crash of the server (docs/reliability.md); ``wal_level=minimal`` still lets bulk loads
#: into tables created in the same transaction skip the WAL (their files are synced at commit).
EMBEDDED_SERVER_SETTINGS = {
    "shared_buffers": "1GB",
    "work_mem": "64MB",
    "maintenance_work_mem": "512MB",
    "max_wal_size": "8GB",
    "checkpoint_timeout": "30min",
    "wal_level": "minimal",
    "max_wal_senders": "0",
    "synchronous_commit": "on",
    "max_connections": "200",
    "timezone": "UTC",
}


_AUTO_CONF_SETTINGS = "select name, setting from pg_file_settings where sourcefile like '%postgresql.auto.conf'"
#: Settings whose new value waits for a restart: postmaster-context ones that changed.
_PENDING_RESTART = "select count(*) > 0 from pg_settings where name = any(%(names)s) and context = 'postmaster'"


def _one_row(cursor: psycopg.Cursor) -> tuple:
    """The row a statement that always returns one returned (warehouse.one_row, which imports this module)."""
    row = cursor.fetchone()
    if row is None:
        raise LookupError("the statement returned no row")
    return row


def _pgserver():
    """The ``pgserver`` module, imported lazily: only the embedded default needs it."""
    # pgserver logs every handle at INFO, including from an atexit hook after test and
    # Airflow runners have closed their streams; its warnings are all we need.
    logging.getLogger("pgserver").setLevel(logging.WARNING)
    with warnings.catch_warnings():
        # platformdirs warns on import when XDG_RUNTIME_DIR is unset (CI, cron).
        warnings.simplefilter("ignore")
        import pgserver

    return pgserver


def _embedded_server(settings: Settings):
    settings.embedded_dir.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return _pgserver().get_server(settings.embedded_dir / "pgdata", cleanup_mode=None)


def _tune_embedded(admin_url: str) -> bool:
    """Apply :data:`EMBEDDED_SERVER_SETTINGS` where ``postgresql.auto.conf`` differs (also on a
    server tuned by an earlier version); True when a restart is needed to take effect."""
    with psycopg.connect(admin_url, autocommit=True) as conn:
        written: dict[str, str] = dict(conn.execute(_AUTO_CONF_SETTINGS).fetchall())
        changed = {name: value for name, value in EMBEDDED_SERVER_SETTINGS.items() if written.get(name) != value}
        for name, value in changed.items():
            conn.execute(sql.SQL("alter system set {} = {}").format(sql.Identifier(name), sql.Literal(value)))
        if not changed:
            return False
        conn.execute("select pg_reload_conf()")
        return bool(_one_row(conn.execute(_PENDING_RESTART, {"names": list(changed)}))[0])


def start_embedded(settings: Settings) -> str:
    """Start (or reuse) the embedded server and return the admin URL (database ``postgres``).

    The URL is read from the server object: ``pgserver`` moves the socket elsewhere when
    the data folder path is long.  On first start the server is tuned and restarted.
    """
    pgserver = _pgserver()
    server = _embedded_server(settings)
    with server._lock:  # the handle is cached per process; the server may have been stopped since
        server.ensure_postgres_running()
    # The socket trusts local users; the password only fills the field that tools
    # building profiles from a connection (cosmos) insist on.
    admin_url = server.get_uri().replace("postgres:@", f"postgres:{EMBEDDED_PASSWORD}@", 1)
    if _tune_embedded(admin_url):
        pgserver.pg_ctl(["-w", "restart", "-m", "fast"], pgdata=server.pgdata, user=server.system_user)
    return admin_url


def stop_embedded(settings: Settings) -> None:
    """Stop the embedded server if it runs (its data stays)."""
    pgserver = _pgserver()
    pgdata = settings.embedded_dir / "pgdata"
    if (pgdata / "postmaster.pid").exists():
        user = "pgserver" if os.geteuid() == 0 else None
        pgserver.pg_ctl(["-w", "stop", "-m", "fast"], pgdata=pgdata, user=user)
