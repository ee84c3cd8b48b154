"""The vocabulary of a suite: checks with a severity, grouped by the batch they run on.

A suite module returns :class:`BatchChecks` groups; each group becomes one GX
``ValidationDefinition`` (a batch plus an expectation suite) run by its own checkpoint.
Schema checks look at the catalogue, row checks at one load batch or the table, aggregate
checks at a one-row query, rule checks (SQL that finds offending rows) at the same batch
in a group of their own: each on the batch that makes it cheap.
"""

from __future__ import annotations

import datetime as dt
import typing
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal

import great_expectations.expectations as gxe
from great_expectations.expectations.expectation import Expectation

from recsys.contracts import raw
from recsys.platform.settings import QualityConfig, Settings

from .sqltext import render

Severity = Literal["error", "warning"]
ERROR: Severity = "error"
WARNING: Severity = "warning"

#: Accepted ``information_schema.columns.data_type`` values per contract type: a load may
#: widen an integer or use varchar for text, but a timestamp must keep its time zone kind.
TYPE_FAMILIES: dict[str, tuple[str, ...]] = {
    "text": ("text", "character varying"),
    "integer": ("smallint", "integer", "bigint"),
    "numeric": ("numeric", "double precision", "real"),
    "timestamptz": ("timestamp with time zone",),
    "timestamp": ("timestamp without time zone",),
    "date": ("date",),
    "boolean": ("boolean",),
    "jsonb": ("jsonb", "json"),
}

#: The family of each raw contract type (``RawType.sql``).
_FAMILY_OF_RAW_TYPE = {
    "text": "text",
    "smallint": "integer",
    "integer": "integer",
    "bigint": "integer",
    "numeric": "numeric",
    "boolean": "boolean",
    "date": "date",
    "timestamp": "timestamp",
    "timestamptz": "timestamptz",
    "jsonb": "jsonb",
}


def contract_columns(spec: raw.SourceSpec) -> dict[str, str]:
    """Column -> type family of a raw table, as its contract declares it (batch columns included)."""
    columns = {c.name: _FAMILY_OF_RAW_TYPE[c.type.sql] for c in spec.columns}
    if spec.attributes_column:
        columns[spec.attributes_column] = "jsonb"
    return columns | {name: _FAMILY_OF_RAW_TYPE[kind] for name, kind, _ in raw.BATCH_COLUMNS}


@dataclass(frozen=True)
class Check:
    """One expectation, how bad its failure is, and how its bound was chosen.

    ``note`` explains a learnt or derived bound ("median 1,204 over 27 days"); it is
    stored with the threshold so a reader sees why the bound is what it is.
    """

    expectation: Expectation
    severity: Severity
    note: str = ""


def error(expectation: Expectation, note: str = "") -> Check:
    """A check whose failure stops the pipeline."""
    return Check(expectation, ERROR, note)


def warning(expectation: Expectation, note: str = "") -> Check:
    """A check whose failure is recorded and reported only."""
    return Check(expectation, WARNING, note)


@dataclass(frozen=True)
class TableBatch:
    """The whole table (schema checks, keys, referential integrity)."""

    table: str


@dataclass(frozen=True)
class QueryBatch:
    """Rows selected by a query GX runs in the database (one load batch, one day...)."""

    query: str


@dataclass(frozen=True)
class BatchChecks:
    """Checks that run on the same batch; ``name`` is unique within the suite."""

    name: str
    batch: TableBatch | QueryBatch
    checks: tuple[Check, ...]


@dataclass(frozen=True)
class SuiteRequest:
    """What a suite module needs to build its checks for one run.

    ``options`` carries run-specific inputs: ``batch_ids`` (raw suites: validate these
    load batches instead of every batch of the logical date) and ``k`` (recommendations,
    default ``settings.recs.k``).
    """

    table: str
    logical_date: dt.date
    settings: Settings = field(default_factory=Settings)
    options: Mapping[str, object] = field(default_factory=dict)

    @property
    def config(self) -> QualityConfig:
        return self.settings.dq

    @property
    def shop_opened(self) -> dt.date:
        return self.settings.shop_opened


def schema_checks(table: str, columns: Mapping[str, str]) -> BatchChecks:
    """Contract columns present with a type of the declared family.

    Runs on ``information_schema`` rather than on rows, so it costs nothing and reports
    every offending column at once (``[["price", "text"]]``).
    """
    unknown = sorted(set(columns.values()) - set(TYPE_FAMILIES))
    if unknown:
        raise ValueError(f"unknown contract types {unknown}; use one of {sorted(TYPE_FAMILIES)}")
    schema, name = table.split(".")
    pairs = [(col, db_type) for col, kind in columns.items() for db_type in TYPE_FAMILIES[kind]]
    query = render("table_columns.sql", schema_name=schema, table_name=name, column_names=list(columns))
    return BatchChecks(
        "schema",
        QueryBatch(query),
        (
            error(gxe.ExpectColumnDistinctValuesToContainSet(column="column_name", value_set=list(columns))),
            error(
                gxe.ExpectColumnPairValuesToBeInSet(
                    column_A="column_name", column_B="data_type", value_pairs_set=pairs
                ),
                note="types: " + ", ".join(f"{c} {k}" for c, k in columns.items()),
            ),
        ),
    )


def not_null(*columns: str) -> tuple[Check, ...]:
    """Every value present (the parts of a key, required ids)."""
    return tuple(error(gxe.ExpectColumnValuesToNotBeNull(column=c)) for c in columns)


def unique_key(*columns: str, index: str | None = None) -> Check:
    """No two rows share the key.

    With ``index`` (a unique index that enforces the key, see
    :func:`recsys_expectations.catalog.unique_key_index`) the database already refuses a
    duplicate: the check reads the catalogue and fails if that index is gone or invalid,
    so a table of millions of rows costs nothing.  Without, one GROUP BY over the batch
    finds the duplicates (GX's own uniqueness expectations use a window over every row,
    several times slower on big tables).
    """
    label = columns[0] if len(columns) == 1 else f"({', '.join(columns)})"
    if index is None:
        return rows_absent(render("duplicate_keys.sql", columns=list(columns)), f"no duplicate {label}")
    return rows_absent(
        render("unique_index_lost.sql", index_name=index),
        f"no duplicate {label}",
        note=f"enforced by unique index {index}",
    )


def timestamp_window(request: SuiteRequest) -> tuple[dt.datetime, dt.datetime]:
    """Plausible event times: from the shop's opening to the end of the logical date plus a
    tolerance (time zones, a first load of an undated file); later is the run's future."""
    start = dt.datetime.combine(request.shop_opened, dt.time(), dt.UTC)
    end_day = request.logical_date + dt.timedelta(days=1 + request.config.future_tolerance_days)
    return start, dt.datetime.combine(end_day, dt.time(), dt.UTC)


def raw_batch(request: SuiteRequest) -> QueryBatch:
    """The rows of the load batches of this run: the ``batch_ids`` option when given (the
    gate after a load), else every batch recorded for the logical date."""
    batch_ids = request.options.get("batch_ids")
    if batch_ids is not None:
        ids = [int(b) for b in typing.cast(Iterable[int], batch_ids)]
        return QueryBatch(render("raw_batch_by_ids.sql", {"table": request.table}, batch_ids=ids))
    return QueryBatch(render("raw_batch_by_date.sql", {"table": request.table}, logical_date=request.logical_date))


def raw_batch_checks(
    request: SuiteRequest, spec: raw.SourceSpec, rows: Iterable[Check], key: str | None = None
) -> tuple[BatchChecks, ...]:
    """A raw suite: the table has its contract's columns and types, the batch is not empty,
    the source's own row checks, and no two rows share ``key`` when the source has one."""
    batch = raw_batch(request)
    checks = (
        schema_checks(request.table, contract_columns(spec)),
        BatchChecks(
            "batch",
            batch,
            (warning(gxe.ExpectTableRowCountToBeBetween(min_value=1), note="an empty batch loads nothing"), *rows),
        ),
    )
    return checks + ((BatchChecks("keys", batch, (unique_key(key),)),) if key else ())


def contact_named(request: SuiteRequest, group: str, columns: list[str], description: str) -> BatchChecks:
    """Every row of a campaign source's batch names someone to reach: at least one of
    ``columns`` (a customer id or an address) is filled."""
    check = rows_absent(render("rows_without_contact.sql", columns=columns), description)
    return BatchChecks(group, raw_batch(request), (check,))


def banded(expectation_type, band, **kwargs) -> Check:
    """An expectation bounded by a learnt :class:`~recsys_expectations.bands.Band`, at the band's
    severity (a warning while history is too short)."""
    expectation = expectation_type(min_value=band.low, max_value=band.high, **kwargs)
    return Check(expectation, band.severity, band.note)


def rows_absent(query: str, description: str, severity: Severity = ERROR, note: str = "") -> Check:
    """Rows a query finds are violations (referential integrity, per-user rules).

    Put rule checks in a group of their own: GX then keeps the offending rows (at most a
    few hundred) so the report shows which.
    """
    expectation = gxe.UnexpectedRowsExpectation(unexpected_rows_query=query, description=description)
    return Check(expectation, severity, note)
