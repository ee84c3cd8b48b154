"""Query batches as short-lived tables, so GX sees them as tables and every metric reads
the batch's rows, not the query's sources.

GX 1.24 learns the columns of a query asset by running the whole query and reading the
cursor description, and runs one query per metric on top of it: a view of a load batch
would scan the whole raw table once per metric.  Each query batch is therefore run once
into an unlogged table of its own in the ``dq`` schema (unique names per run), which the
metrics then read; the tables are dropped when the run ends.
"""

from __future__ import annotations

import contextlib
import dataclasses
import uuid
from collections.abc import Iterator, Sequence

from psycopg import sql

from recsys.platform.warehouse import transaction

from .checks import BatchChecks, QueryBatch, TableBatch

SNAPSHOT_SCHEMA = "dq"


@contextlib.contextmanager
def as_tables(url: str, suite_name: str, groups: Sequence[BatchChecks]) -> Iterator[list[BatchChecks]]:
    """``groups`` with every query batch replaced by a table of its rows, for the block's life."""
    token = uuid.uuid4().hex[:8]
    queries = list(dict.fromkeys(g.batch.query for g in groups if isinstance(g.batch, QueryBatch)))
    tables = {q: f"gx_{suite_name}_{i}_{token}" for i, q in enumerate(queries)}
    try:
        with transaction(url) as conn:
            for query, table in tables.items():
                conn.execute(
                    sql.SQL("create unlogged table {} as {}").format(
                        sql.Identifier(SNAPSHOT_SCHEMA, table), sql.SQL(query)
                    )
                )
        yield [
            dataclasses.replace(g, batch=TableBatch(f"{SNAPSHOT_SCHEMA}.{tables[g.batch.query]}"))
            if isinstance(g.batch, QueryBatch)
            else g
            for g in groups
        ]
    finally:
        with transaction(url) as conn:
            for table in tables.values():
                conn.execute(sql.SQL("drop table if exists {}").format(sql.Identifier(SNAPSHOT_SCHEMA, table)))
