"""The embedded warehouse: a real PostgreSQL 16 from the ``pgserver`` wheel.

With ``WAREHOUSE_URL`` unset the platform starts this server in ``<home>/.warehouse``
and keeps it between runs.  It listens on a Unix socket in its data folder; the URL is
read from the server object, because ``pgserver`` moves the socket elsewhere when the
folder's path is long.
"""

from __future__ import annotations

import logging
import os
import subprocess
import time
import warnings
from pathlib import Path

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


#: How long a start may take when the server recovers from an unclean stop (replaying its
#: WAL); pgserver gives ``pg_ctl start`` 10 s, which a loaded machine's recovery outlasts.
RECOVERY_TIMEOUT_S = 600.0


def _running_server(settings: Settings):
    """The server handle, with the server up and accepting connections.

    When pgserver's 10 s are up, the postmaster goes on recovering in the background (and a
    second process finds it "running" while it still refuses connections): wait for it to
    report ready instead of failing a night because the machine was busy after a crash.
    """
    pgdata = settings.embedded_dir / "pgdata"
    server = None
    try:
        server = _embedded_server(settings)
        with server._lock:  # the handle is cached per process; the server may have been stopped since
            server.ensure_postgres_running()
    except subprocess.TimeoutExpired:
        server = None
    _wait_until_ready(pgdata)
    if server is None:
        server = _embedded_server(settings)
        with server._lock:
            server.ensure_postgres_running()
    return server


def _wait_until_ready(pgdata: Path) -> None:
    from pgserver.utils import PostmasterInfo

    deadline = time.monotonic() + RECOVERY_TIMEOUT_S
    waited = False
    while time.monotonic() < deadline:
        info = PostmasterInfo.read_from_pgdata(pgdata)
        if info is None or not info.is_running():
            raise RuntimeError(f"the embedded server did not start: see {pgdata / 'log'}")
        if info.status == "ready":
            return
        if not waited:
            logging.getLogger(__name__).warning("the embedded server is still starting (crash recovery); waiting")
            waited = True
        time.sleep(1.0)
    raise RuntimeError(f"the embedded server was not ready after {RECOVERY_TIMEOUT_S:.0f} s: see {pgdata / 'log'}")


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
    the data folder path is long.  The server is tuned (restarted when a setting needs
    it) and, with ``warehouse_tcp_port``, made to listen on localhost for the BI role.
    """
    pgserver = _pgserver()
    server = _running_server(settings)
    admin_url = _admin_url(server)
    restart = _tune_embedded(admin_url)
    port = settings.warehouse_tcp_port
    if port is not None and not _listens_on(admin_url, port):
        _restart_listening(pgserver, server, port)
        with server._lock:
            server.ensure_postgres_running()
        admin_url = _admin_url(server)
    elif restart:
        pgserver.pg_ctl(["-w", "restart", "-m", "fast"], pgdata=server.pgdata, user=server.system_user)
    return admin_url


def _admin_url(server) -> str:
    """The superuser's URL of the running server (its port when it is not the default)."""
    # The socket trusts local users; the password only fills the field that tools
    # building profiles from a connection (cosmos) insist on.
    url = server.get_uri().replace("postgres:@", f"postgres:{EMBEDDED_PASSWORD}@", 1)
    port = server.get_postmaster_info().port
    return url + (f"&port={port}" if port and port != 5432 else "")


#: Client authentication of an embedded server that listens on TCP: its socket trusts the
#: local users (the pipeline's roles); over TCP only the BI role connects, with its password.
TCP_HBA = """# written by recsys.platform.embedded: the socket trusts local users, TCP is for the BI role only
local   all   all                        trust
host    all   recsys_bi   127.0.0.1/32   scram-sha-256
host    all   all         all            reject
"""


def _listens_on(admin_url: str, port: int) -> bool:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        addresses = _one_row(conn.execute("show listen_addresses"))[0]
        listening_port = int(_one_row(conn.execute("show port"))[0])
    return addresses == "127.0.0.1" and listening_port == port


def _restart_listening(pgserver, server, port: int) -> None:
    """Restart the server listening on ``127.0.0.1:port`` too, TCP restricted to the BI role."""
    info = server.get_postmaster_info()
    hba = Path(server.pgdata) / "pg_hba.conf"
    owner = hba.stat()
    hba.write_text(TCP_HBA)
    if os.geteuid() == 0:
        os.chown(hba, owner.st_uid, owner.st_gid)
    pgserver.pg_ctl(["-w", "stop", "-m", "fast"], pgdata=server.pgdata, user=server.system_user)
    pgserver.pg_ctl(
        ["-w", "-o", "-h 127.0.0.1", "-o", f"-p {port}", "-o", f"-k {info.socket_dir}", "-l", str(server.log), "start"],
        pgdata=server.pgdata,
        user=server.system_user,
    )


def stop_embedded(settings: Settings) -> None:
    """Stop the embedded server if it runs (its data stays)."""
    pgserver = _pgserver()
    pgdata = settings.embedded_dir / "pgdata"
    if (pgdata / "postmaster.pid").exists():
        user = "pgserver" if os.geteuid() == 0 else None
        pgserver.pg_ctl(["-w", "stop", "-m", "fast"], pgdata=pgdata, user=user)
