"""Query batches as short-lived views, so GX sees them as tables.

GX 1.24 learns the columns of a query asset by running the whole query and reading the
cursor description; with a client-side cursor that pulls every row of a million-row
batch into Python.  A view of the same query is reflected from the catalogue instead,
so only the metrics' own aggregate queries run.  Each run gets views of its own (unique
names in the ``dq`` schema), dropped when the run ends.
"""

from __future__ import annotations

import contextlib
import dataclasses
import uuid
from typing import Iterator, Sequence

from psycopg import sql

from expectations.checks import BatchChecks, QueryBatch, TableBatch
from recsys.warehouse import transaction

VIEW_SCHEMA = "dq"


@contextlib.contextmanager
def as_tables(url: str, suite_name: str, groups: Sequence[BatchChecks]) -> Iterator[list[BatchChecks]]:
    """``groups`` with every query batch replaced by a view over it, for the block's life."""
    token = uuid.uuid4().hex[:8]
    queries = list(dict.fromkeys(g.batch.query for g in groups if isinstance(g.batch, QueryBatch)))
    views = {q: f"gx_{suite_name}_{i}_{token}" for i, q in enumerate(queries)}
    with transaction(url) as conn:
        for query, view in views.items():
            conn.execute(sql.SQL("create view {} as {}").format(sql.Identifier(VIEW_SCHEMA, view), sql.SQL(query)))
    try:
        yield [
            dataclasses.replace(g, batch=TableBatch(f"{VIEW_SCHEMA}.{views[g.batch.query]}"))
            if isinstance(g.batch, QueryBatch) else g
            for g in groups
        ]
    finally:
        with transaction(url) as conn:
            for view in views.values():
                conn.execute(sql.SQL("drop view if exists {}").format(sql.Identifier(VIEW_SCHEMA, view)))
