"""Least privilege: one PostgreSQL role per component, and the URL each component connects with.

| component | role | may |
|---|---|---|
| loader (landing files, OLTP) | ``recsys_loader`` | own ``raw`` |
| transformer (dbt) | ``recsys_transformer`` | read ``raw``, ``dq``, ``ml``, ``recs``; own the warehouse models |
| quality (the gates) | ``recsys_quality`` | read everything it validates; own ``dq``; record the raw gate's verdicts |
| trainer | ``recsys_trainer`` | read the models; own ``ml`` |
| publisher | ``recsys_publisher`` | read the models and ``ml``; own ``recs`` |
| crm (exports, campaigns) | ``recsys_crm`` | read ``recs`` and ``crm``; write ``recs.campaign_audiences`` |
| bi (dashboards, analysts, audience queries) | ``recsys_bi`` | read ``marts`` and ``bi``, read-only sessions |

The grants live in ``sql/roles_*.sql`` (``recsys warehouse roles-sql`` prints them for a DBA).
A component's URL is the warehouse URL with the role as user (the embedded server trusts
its socket), unless ``RECSYS_ROLES__<COMPONENT>_URL`` names another one (an external
warehouse with passwords).  ``RECSYS_ROLES__ENABLED=false`` connects everything as the
warehouse URL's user, for a warehouse where roles cannot be created.
"""

from __future__ import annotations

import secrets
import typing
import urllib.parse
from pathlib import Path
from typing import Literal

from psycopg import conninfo

from recsys.platform.settings import Settings
from recsys.platform.sqlfiles import SqlFiles

_sql = SqlFiles(__name__)

Component = Literal["loader", "transformer", "quality", "trainer", "publisher", "crm", "bi"]
COMPONENTS: tuple[str, ...] = typing.get_args(Component)
#: Owner role of the tables each DDL file creates.
DDL_OWNERS = {"ddl_raw.sql": "loader", "ddl_dq.sql": "quality", "ddl_ml.sql": "trainer", "ddl_recs.sql": "publisher"}


def role_name(component: str) -> str:
    if component not in COMPONENTS:
        raise ValueError(f"unknown component {component!r}; one of {', '.join(COMPONENTS)}")
    return f"recsys_{component}"


def role_url(base_url: str, component: str, settings: Settings) -> str:
    """The URL ``component`` connects with: its configured URL, else ``base_url`` as its role."""
    if not settings.roles.enabled:
        return base_url
    configured = getattr(settings.roles, f"{component}_url")
    if configured is not None:
        return configured.get_secret_value()
    return with_user(base_url, role_name(component))


def with_user(url: str, user: str) -> str:
    """``url`` logging in as ``user`` without a password (a socket trusts it; a remote server
    takes the password from ``~/.pgpass``)."""
    if "://" not in url:
        fields = {k: str(v) for k, v in conninfo.conninfo_to_dict(url).items() if v is not None and k != "password"}
        return conninfo.make_conninfo("", **(fields | {"user": user}))
    parts = urllib.parse.urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    return parts._replace(netloc=f"{urllib.parse.quote(user, safe='')}@{host}").geturl()


def bi_password(settings: Settings) -> str:
    """The BI role's password: ``RECSYS_ROLES__BI_PASSWORD``, else one generated once for the
    embedded server and kept beside it (``.warehouse/bi_password``, readable by its owner only)."""
    if settings.roles.bi_password is not None:
        return settings.roles.bi_password.get_secret_value()
    stored = Path(settings.embedded_dir) / "bi_password"
    if not stored.exists():
        stored.parent.mkdir(parents=True, exist_ok=True)
        stored.touch(mode=0o600)
        stored.write_text(secrets.token_urlsafe(24))
    return stored.read_text().strip()


def bi_tcp_url(settings: Settings, database: str) -> str | None:
    """The BI role's URL over TCP on localhost (a BI tool's connection), when TCP is on."""
    if settings.warehouse_tcp_port is None:
        return None
    password = urllib.parse.quote(bi_password(settings), safe="")
    return f"postgresql://{role_name('bi')}:{password}@127.0.0.1:{settings.warehouse_tcp_port}/{database}"


def script() -> str:
    """Every statement that creates the roles, gives each schema its owner and grants what
    each role needs (idempotent).  Grants on tables need the tables: run after ``init``."""
    return "\n".join(_sql(name) for name in ("roles_create.sql", "roles_schemas.sql", "roles_grants.sql"))
