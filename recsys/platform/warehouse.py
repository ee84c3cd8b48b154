"""Where the warehouse is and how to reach it.

``WAREHOUSE_URL`` names any PostgreSQL; unset, the embedded server of
:mod:`recsys.platform.embedded` is started.  That server listens on a Unix socket, so
every client that wants a host (dbt, SQLAlchemy/GX, Airflow) gets the socket folder
through :func:`url_parts`, which libpq's own parser (``psycopg.conninfo``) reads.
"""

from __future__ import annotations

import contextlib
import logging
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import conninfo, sql
from sqlalchemy.engine import make_url

from recsys.contracts import raw
from recsys.platform import embedded, roles
from recsys.platform.settings import Settings
from recsys.platform.sqlfiles import SqlFiles

log = logging.getLogger(__name__)
_sql = SqlFiles(__name__)

#: Schemas the platform owns, in creation order.
SCHEMAS = ("raw", "staging", "intermediate", "marts", "dq", "ml", "recs", "bi", "crm")


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
    """The fields of a libpq URL or key=value string (a ``?host=`` parameter wins, as in libpq)."""
    fields = conninfo.conninfo_to_dict(url)
    return UrlParts(
        host=str(fields.get("host") or "localhost"),
        port=int(fields.get("port") or 5432),
        user=str(fields.get("user") or "postgres"),
        password=str(fields.get("password") or ""),
        dbname=str(fields.get("dbname") or "postgres"),
    )


def sqlalchemy_url(url: str, driver: str = "psycopg2") -> str:
    """SQLAlchemy URL for the same database.

    SQLAlchemy-based validators (Great Expectations) reject an empty host, so a socket
    URL gets the dummy host ``localhost``; libpq still uses the ``host`` query
    parameter, which wins.
    """
    p = url_parts(url)
    target = make_url(f"postgresql+{driver}://").set(
        username=p.user,
        password=p.password or None,
        port=p.port,
        database=p.dbname,
        host="localhost" if p.is_socket else p.host,
        query={"host": p.host} if p.is_socket else {},
    )
    return target.render_as_string(hide_password=False)


def with_database(url: str, dbname: str) -> str:
    """The same server URL pointing at another database (the rest of the URL kept as written)."""
    return urllib.parse.urlsplit(url)._replace(path="/" + urllib.parse.quote(dbname)).geturl()


def ensure_database(admin_url: str, dbname: str) -> None:
    """Create ``dbname`` on the server behind ``admin_url`` if it does not exist."""
    with psycopg.connect(admin_url, autocommit=True) as conn:
        exists = conn.execute("select 1 from pg_database where datname = %s", (dbname,)).fetchone()
        if not exists:
            with contextlib.suppress(psycopg.errors.UniqueViolation, psycopg.errors.DuplicateDatabase):
                conn.execute(sql.SQL("create database {}").format(sql.Identifier(dbname)))


def warehouse_url(settings: Settings) -> str:
    """The URL of the warehouse database: ``WAREHOUSE_URL``, or the embedded one."""
    if settings.warehouse_url:
        return settings.warehouse_url
    admin_url = embedded.start_embedded(settings)
    ensure_database(admin_url, settings.warehouse_db)
    return with_database(admin_url, settings.warehouse_db)


class WarehouseUnreachable(ConnectionError):
    """The warehouse cannot be reached at the configured URL."""


def redacted(url: str) -> str:
    """``url`` with its password hidden, for messages and logs."""
    if "://" in url:
        return make_url(url).render_as_string(hide_password=True)
    fields = {k: str(v) for k, v in conninfo.conninfo_to_dict(url).items() if v is not None}
    return conninfo.make_conninfo("", **(fields | ({"password": "***"} if "password" in fields else {})))


def component_url(settings: Settings, component: str) -> str:
    """The URL a component (loader, transformer, quality, trainer, publisher, crm, bi)
    connects with: the warehouse as its role (recsys.platform.roles)."""
    return roles.role_url(warehouse_url(settings), component, settings)


def connect(url: str, *, autocommit: bool = False) -> psycopg.Connection:
    """A psycopg 3 connection with the session settings every platform query assumes.

    Raises
    ------
    WarehouseUnreachable
        When no connection can be made: the message names the URL (password hidden) and
        the setting that chose it.
    """
    try:
        conn = psycopg.connect(url, autocommit=autocommit, connect_timeout=10)
    except psycopg.OperationalError as exc:
        reason = " ".join(str(exc).split())
        raise WarehouseUnreachable(
            f"cannot connect to the warehouse at {redacted(url)} ({reason}); check WAREHOUSE_URL, "
            "or unset it to use the embedded server"
        ) from exc
    conn.execute("set timezone = 'UTC'")
    conn.execute("set datestyle = 'ISO, MDY'")
    if not autocommit:
        conn.commit()
    return conn


def one_row(cursor: psycopg.Cursor) -> tuple[Any, ...]:
    """The row a statement that always returns one (an aggregate, ``returning``) returned."""
    row = cursor.fetchone()
    if row is None:
        raise LookupError("the statement returned no row")
    return row


@contextlib.contextmanager
def transaction(url: str) -> Iterator[psycopg.Connection]:
    """One connection, one transaction: committed on success, rolled back on error."""
    with connect(url) as conn, conn.transaction():
        yield conn


def raw_table_ddl(spec: raw.SourceSpec) -> sql.Composed:
    """``create table`` of one raw data table, from its contract."""
    columns = [(c.name, c.type.sql) for c in spec.columns]
    if spec.attributes_column:
        columns.append((spec.attributes_column, "jsonb"))
    columns += [(name, f"{kind} not null") for name, kind, _ in raw.BATCH_COLUMNS]
    return sql.SQL(_sql("raw_data_table.sql")).format(
        table=sql.Identifier("raw", spec.table),
        default_partition=sql.Identifier("raw", f"{spec.table}__default"),
        columns=sql.SQL(", ").join(
            sql.SQL("{} {}").format(sql.Identifier(name), sql.SQL(kind)) for name, kind in columns
        ),
    )


def raw_column_additions(spec: raw.SourceSpec) -> list[sql.Composed]:
    """``alter table ... add column if not exists`` for every declared column: a warehouse
    created before a column joined the contract gets it on the next ``init``."""
    return [
        sql.SQL(_sql("raw_add_column.sql")).format(
            table=sql.Identifier("raw", spec.table), column=sql.Identifier(c.name), type=sql.SQL(c.type.sql)
        )
        for c in spec.columns
    ]


def ensure_schemas(url: str, *, with_roles: bool = True) -> None:
    """Create the platform's schemas and the tables Python writes, owned by the role that
    writes them, and grant every role what it needs (idempotent).

    ``url`` must log in as a superuser (or a role that may create roles and act as the
    owners); ``with_roles=False`` creates everything as that user (``RECSYS_ROLES__ENABLED=false``).
    """
    with transaction(url) as conn:
        if with_roles:
            conn.execute(_sql("roles_create.sql"))
            conn.execute(_sql("roles_schemas.sql"))
        for schema in SCHEMAS:
            conn.execute(sql.SQL("create schema if not exists {}").format(sql.Identifier(schema)))
        with _acting_as(conn, "loader" if with_roles else None):
            for spec in raw.SOURCES.values():
                conn.execute(raw_table_ddl(spec))
                for statement in raw_column_additions(spec):
                    conn.execute(statement)
        for name in _sql.names("ddl_"):
            with _acting_as(conn, roles.DDL_OWNERS[name] if with_roles else None):
                conn.execute(_sql(name))
        if with_roles:
            conn.execute(_sql("roles_grants.sql"))


def set_password(url: str, role: str, password: str) -> None:
    """Give ``role`` a password (scram), for the connections that need one (BI over TCP)."""
    with transaction(url) as conn:
        conn.execute(sql.SQL("alter role {} password {}").format(sql.Identifier(role), sql.Literal(password)))


@contextlib.contextmanager
def _acting_as(conn: psycopg.Connection, component: str | None) -> Iterator[None]:
    """Run the statements inside as ``component``'s role, so it owns what they create."""
    if component is None:
        yield
        return
    conn.execute(sql.SQL("set local role {}").format(sql.Identifier(roles.role_name(component))))
    yield  # on an error the transaction is aborted and rolls back, role setting included
    conn.execute("reset role")
