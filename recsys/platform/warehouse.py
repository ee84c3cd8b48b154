"""Where the warehouse is and how to reach it.

With ``WAREHOUSE_URL`` unset the warehouse is a real PostgreSQL 16 started by
``pgserver`` in ``<home>/.warehouse`` and kept between runs.  It listens on a Unix
socket only, so every client that wants a host (dbt, SQLAlchemy/GX, Airflow) gets the
socket folder through :func:`url_parts` rather than re-parsing URLs itself.
"""

from __future__ import annotations

import contextlib
import logging
import os
import tempfile
import urllib.parse
import warnings
from dataclasses import dataclass
from typing import Iterator, Mapping

import pandas as pd
import psycopg
import pyarrow as pa
import pyarrow.csv as pacsv
from psycopg import sql

from recsys.platform.settings import Settings
from recsys.platform.sqlfiles import SqlFiles

log = logging.getLogger(__name__)
_sql = SqlFiles(__name__)

#: Schemas the platform owns, in creation order.
SCHEMAS = ("raw", "staging", "intermediate", "marts", "dq", "ml", "recs", "bi")

EMBEDDED_PASSWORD = "postgres"

#: Server settings for a single-node analytical warehouse; applied once to the
#: embedded server (a remote server is the operator's to tune).
EMBEDDED_SERVER_SETTINGS = {
    "shared_buffers": "1GB",
    "work_mem": "64MB",
    "maintenance_work_mem": "512MB",
    "max_wal_size": "8GB",
    "checkpoint_timeout": "30min",
    "wal_level": "minimal",
    "max_wal_senders": "0",
    "synchronous_commit": "off",
    "max_connections": "200",
    "timezone": "UTC",
}


@dataclass(frozen=True)
class UrlParts:
    """Connection fields in the shape dbt profiles and Airflow connections expect.

    ``host`` is a directory for a Unix-socket server (libpq treats a host starting
    with ``/`` as a socket folder).
    """

    host: str
    port: int
    user: str
    password: str
    dbname: str

    @property
    def is_socket(self) -> bool:
        return self.host.startswith("/")


def url_parts(url: str) -> UrlParts:
    """Split a libpq URL; a ``?host=`` query parameter wins over the netloc host."""
    parsed = urllib.parse.urlsplit(url)
    query = urllib.parse.parse_qs(parsed.query)
    host = query.get("host", [parsed.hostname or "localhost"])[0]
    port = int(query.get("port", [parsed.port or 5432])[0])
    return UrlParts(
        host=host,
        port=port,
        user=urllib.parse.unquote(parsed.username or "postgres"),
        password=urllib.parse.unquote(parsed.password or ""),
        dbname=parsed.path.lstrip("/") or "postgres",
    )


def sqlalchemy_url(url: str, driver: str = "psycopg2") -> str:
    """SQLAlchemy URL for the same database.

    SQLAlchemy-based validators (Great Expectations) reject an empty host, so a socket
    URL gets the dummy host ``localhost``; libpq still uses the ``host`` query
    parameter, which wins.
    """
    p = url_parts(url)
    auth = urllib.parse.quote(p.user, safe="")
    if p.password:
        auth += ":" + urllib.parse.quote(p.password, safe="")
    if p.is_socket:
        return f"postgresql+{driver}://{auth}@localhost:{p.port}/{p.dbname}?host={p.host}"
    return f"postgresql+{driver}://{auth}@{p.host}:{p.port}/{p.dbname}"


def with_database(url: str, dbname: str) -> str:
    """The same server URL pointing at another database."""
    parsed = urllib.parse.urlsplit(url)
    return urllib.parse.urlunsplit(parsed._replace(path="/" + dbname))


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
    """Apply :data:`EMBEDDED_SERVER_SETTINGS`; True when a restart is needed."""
    with psycopg.connect(admin_url, autocommit=True) as conn:
        if conn.execute("show wal_level").fetchone()[0] == "minimal":
            return False
        for name, value in EMBEDDED_SERVER_SETTINGS.items():
            conn.execute(f"alter system set {name} = '{value}'")
    return True


def ensure_database(admin_url: str, dbname: str) -> None:
    """Create ``dbname`` on the server behind ``admin_url`` if it does not exist."""
    with psycopg.connect(admin_url, autocommit=True) as conn:
        exists = conn.execute("select 1 from pg_database where datname = %s", (dbname,)).fetchone()
        if not exists:
            conn.execute(f'create database "{dbname}"')


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


def warehouse_url(settings: Settings) -> str:
    """The URL of the warehouse database: ``WAREHOUSE_URL``, or the embedded one."""
    if settings.warehouse_url:
        return settings.warehouse_url
    admin_url = start_embedded(settings)
    ensure_database(admin_url, settings.warehouse_db)
    return with_database(admin_url, settings.warehouse_db)


def connect(url: str, *, autocommit: bool = False) -> psycopg.Connection:
    """A psycopg 3 connection with the session settings every platform query assumes."""
    conn = psycopg.connect(url, autocommit=autocommit)
    conn.execute("set timezone = 'UTC'")
    conn.execute("set datestyle = 'ISO, MDY'")
    if not autocommit:
        conn.commit()
    return conn


@contextlib.contextmanager
def transaction(url: str) -> Iterator[psycopg.Connection]:
    """One connection, one transaction: committed on success, rolled back on error."""
    with connect(url) as conn:
        with conn.transaction():
            yield conn


def query_frame(conn: psycopg.Connection, query: str, params: Mapping | None = None) -> pd.DataFrame:
    """The rows of ``query`` as a frame with the query's column names (small results;
    :func:`read_frame` for millions of rows)."""
    cursor = conn.execute(query, params)
    return pd.DataFrame(cursor.fetchall(), columns=[c.name for c in cursor.description])


def read_frame(conn: psycopg.Connection, query: str, params: Mapping | None,
               types: Mapping[str, pa.DataType]) -> pd.DataFrame:
    """The rows of ``query`` as a frame, through ``COPY ... TO STDOUT`` (CSV) and Arrow.

    For reads of millions of rows: ``fetchall`` builds a Python object per value (a
    minute and gigabytes at ten million rows); here the server writes CSV into a
    temporary file and Arrow parses it on every core.  ``types`` gives every column's
    Arrow type (a column missing from it is an error, not a guess).  NULL and the empty
    string stay apart (COPY quotes an empty string).
    """
    statement = sql.SQL("copy ({}) to stdout (format csv, header true)").format(sql.SQL(query.strip().rstrip(";")))
    with tempfile.TemporaryFile() as spool:
        with conn.cursor() as cur, cur.copy(statement, params) as copy:
            for data in copy:
                spool.write(data)
        spool.seek(0)
        header = spool.readline().decode().rstrip("\n").split(",")
        missing = [name for name in header if name not in types]
        if missing:
            raise ValueError(f"no Arrow type given for columns {missing} of the query")
        spool.seek(0)
        table = pacsv.read_csv(spool, convert_options=pacsv.ConvertOptions(
            column_types=dict(types), strings_can_be_null=True, quoted_strings_can_be_null=False))
    return table.to_pandas()


def ensure_schemas(url: str) -> None:
    """Create the platform's schemas and the tables Python writes (idempotent)."""
    with transaction(url) as conn:
        for schema in SCHEMAS:
            conn.execute(f'create schema if not exists "{schema}"')
        for name in _sql.names("ddl_"):
            conn.execute(_sql(name))
