"""Incremental extraction from the shop's OLTP PostgreSQL into the raw layer.

Each declared table is read by an ``updated_at`` watermark kept in ``raw.watermarks``:
rows changed after it and before the end of the logical date are COPYed out as CSV
(with the landing headers of their source), spooled to a temporary file and loaded
through :func:`recsys.ingest.loading.load_path`, the same validation path as landing files.
The rows, their batch and the moved watermark commit in one transaction, so a failed
run changes nothing and a rerun with no new changes loads nothing.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import psycopg
from psycopg import sql

from recsys.contracts.raw import get_source
from recsys.ingest import judging, loading
from recsys.ingest.loading import BatchResult
from recsys.platform import warehouse
from recsys.platform.sqlfiles import SqlFiles

log = logging.getLogger(__name__)
_sql = SqlFiles(__name__)


@dataclass(frozen=True)
class OltpTable:
    """A shop table and how it feeds a raw source.

    Attributes
    ----------
    source : str
        Source in :data:`recsys.contracts.raw.SOURCES` the rows load as.
    schema, table : str
        The table in the shop database.
    columns : tuple of (str, str)
        (shop column, landing header of the source) pairs; for a source with an
        attributes column, headers it does not declare become attributes.
    updated_at : str
        Column that moves forward whenever a row changes.
    """

    source: str
    schema: str
    table: str
    columns: tuple[tuple[str, str], ...]
    updated_at: str = "updated_at"

    @property
    def name(self) -> str:
        """``schema.table``: the batch's file name and the watermark key."""
        return f"{self.schema}.{self.table}"


OLTP_TABLES = (
    OltpTable(
        source="customers",
        schema="shop",
        table="customers",
        columns=(
            ("customer_id", "customer_id"),
            ("country", "country"),
            ("signup_date", "signup_date"),
            ("email", "email"),
            ("loyalty_tier", "loyalty_tier"),
        ),
    ),
    OltpTable(
        source="products",
        schema="shop",
        table="products",
        columns=(
            ("product_id", "product_id"),
            ("title", "title"),
            ("category", "category"),
            ("brand", "brand"),
            ("price", "price"),
            ("stock_level", "stock_level"),
            ("created_at", "created_at"),
            ("description", "description"),
            ("image_url", "image_url"),
            ("product_url", "product_url"),
            ("is_active", "is_active"),
        ),
    ),
    OltpTable(
        source="order_lines",
        schema="shop",
        table="order_lines",
        columns=(
            ("invoice_no", "InvoiceNo"),
            ("product_id", "StockCode"),
            ("description", "Description"),
            ("quantity", "Quantity"),
            ("invoiced_at", "InvoiceDate"),
            ("unit_price", "UnitPrice"),
            ("customer_id", "CustomerID"),
            ("country", "Country"),
        ),
    ),
)


def end_of_day(logical_date: dt.date) -> dt.datetime:
    """Changes before this instant (UTC) belong to ``logical_date``'s run or an earlier one."""
    return dt.datetime.combine(logical_date + dt.timedelta(days=1), dt.time(), dt.UTC)


def _extract_sql(table: OltpTable, statement: str) -> sql.Composed:
    columns = sql.SQL(", ").join(
        judging.sql_fragment("alias", column=sql.Identifier(column), alias=sql.Identifier(header))
        for column, header in table.columns
    )
    return sql.SQL(_sql(statement)).format(
        table=sql.Identifier(table.schema, table.table),
        updated_at=sql.Identifier(table.updated_at),
        columns=columns,
        order=sql.SQL(", ").join(sql.Literal(i) for i in range(1, len(table.columns) + 1)),
    )


def extract(
    source_url: str, table: OltpTable, since: dt.datetime | None, before: dt.datetime, out: IO[bytes]
) -> tuple[dt.datetime | None, str]:
    """COPY the rows changed in (``since``, ``before``) to ``out`` as CSV.

    Both statements read one snapshot, so the upper bound and the rows agree even while
    the shop keeps writing.

    Returns
    -------
    (datetime or None, str)
        The new watermark (None: nothing changed) and the SHA-256 of what was written.
    """
    digest = hashlib.sha256()
    with warehouse.connect(source_url) as conn:
        conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        conn.read_only = True
        with conn.transaction(), conn.cursor() as cur:
            params = {"since": since, "before": before}
            (until,) = warehouse.one_row(cur.execute(_extract_sql(table, "load_oltp_bounds.sql"), params))
            if until is None:
                return None, digest.hexdigest()
            with cur.copy(_extract_sql(table, "load_oltp_extract.sql"), {**params, "until": until}) as copy:
                for data in copy:
                    out.write(data)
                    digest.update(data)
    return until, digest.hexdigest()


def load_table(url: str, source_url: str, table: OltpTable, logical_date: dt.date) -> BatchResult:
    """Load what changed in one shop table since its watermark, in one warehouse transaction.

    Parameters
    ----------
    url : str
        Warehouse URL.
    source_url : str
        URL of the shop's PostgreSQL.
    table : OltpTable
        The declared table.
    logical_date : date
        Business date: changes up to its end are read, and it is recorded on the batch.

    Returns
    -------
    BatchResult
        ``skipped`` with no batch when nothing changed; ``skipped`` with the earlier
        batch when the same extract already loaded (the watermark still moves).
    """
    spec = get_source(table.source)
    key = {"key": table.name}
    try:
        with warehouse.transaction(url) as conn, tempfile.NamedTemporaryFile(suffix=".csv") as spool:
            conn.execute(_sql("load_oltp_lock.sql"), key)
            row = conn.execute(_sql("load_oltp_watermark_get.sql"), key).fetchone()
            until, sha256 = extract(source_url, table, row[0] if row else None, end_of_day(logical_date), spool)
            if until is None:
                return BatchResult(spec.name, table.name, sha256, None, skipped=True)
            spool.flush()
            result = loading.load_path(
                conn, spec, Path(spool.name), logical_date=logical_date, file_name=table.name, sha256=sha256
            )
            conn.execute(_sql("load_oltp_watermark_set.sql"), {**key, "watermark": until})
    except Exception:
        loading.record_failure(url, spec.name, table.name, "", logical_date)
        raise
    log.info("%s: %s, watermark %s", table.name, result, until)
    return result


def load_oltp(
    url: str, source_url: str, logical_date: dt.date, tables: Iterable[OltpTable] = OLTP_TABLES
) -> list[BatchResult]:
    """Extract every declared shop table (dimensions first); one transaction per table."""
    return [load_table(url, source_url, table, logical_date) for table in tables]
