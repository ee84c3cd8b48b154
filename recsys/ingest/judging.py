"""The SQL that judges staged rows: valid ones cast into the raw table, the rest rejected
with every problem found (``load_stage_apply.sql`` and the fragments of ``load_fragments.sql``).
"""

from __future__ import annotations

import functools
import re

from psycopg import sql

from recsys.contracts.raw import BATCH_COLUMNS, TEXT_MAX_LENGTH, Column, SourceSpec
from recsys.ingest.layout import Layout, field_name
from recsys.platform.sqlfiles import SqlFiles

_sql = SqlFiles(__name__)


@functools.cache
def _fragment_texts() -> dict[str, str]:
    """Named SQL fragments from ``load_fragments.sql``."""
    parts = re.split(r"^-- name: (\w+)\n", _sql("load_fragments.sql"), flags=re.M)
    return {name: body.strip() for name, body in zip(parts[1::2], parts[2::2])}


def sql_fragment(name: str, **parts: sql.Composable) -> sql.Composed:
    """Fragment ``name`` of ``load_fragments.sql`` with its placeholders filled."""
    return sql.SQL(_fragment_texts()[name]).format(**parts)


def raw_table(spec: SourceSpec) -> sql.Identifier:
    return sql.Identifier("raw", spec.table)


def partition_parts(spec: SourceSpec, batch_id: int) -> dict[str, sql.Composable]:
    return {
        "parent": raw_table(spec),
        "partition": sql.Identifier("raw", f"{spec.table}__batch_{batch_id}"),
        "batch_id": sql.Literal(int(batch_id)),
    }


def target_columns(layout: Layout) -> list[str]:
    names = [c.name for c, _ in layout.positions]
    if layout.extras and layout.spec.attributes_column:
        names.append(layout.spec.attributes_column)
    return names + [name for name, _, _ in BATCH_COLUMNS]


def _checks(column: Column, fld: sql.Identifier) -> list[sql.Composed]:
    label = column.name if column.file_header == column.name else f"{column.name} ({column.file_header})"
    checks = []
    if column.required:
        checks.append(sql_fragment("missing", field=fld, message=sql.Literal(f"missing required {label}")))
    if column.type.certain:
        checks.append(
            sql_fragment(
                "invalid",
                field=fld,
                type_name=sql.Literal(column.type.sql),
                shape=sql.Literal(column.type.shape),
                prefix=sql.Literal(f"column {column.name}: "),
                suffix=sql.Literal(f" is not a valid {column.type.label}"),
            )
        )
    if column.accepted:
        checks.append(
            sql_fragment(
                "not_accepted",
                field=fld,
                accepted=sql.Literal(list(column.accepted)),
                prefix=sql.Literal(f"{column.name} "),
                suffix=sql.Literal(f" not in accepted set ({', '.join(column.accepted)})"),
            )
        )
    if column.bounds:
        low, high = column.bounds
        checks.append(
            sql_fragment(
                "out_of_range",
                field=fld,
                type_name=sql.Literal(column.type.sql),
                type=sql.SQL(column.type.sql),
                low=sql.Literal(low),
                high=sql.Literal(high),
                prefix=sql.Literal(f"{column.name} "),
                suffix=sql.Literal(f" outside {low}..{high}"),
            )
        )
    if column.length_limit:
        checks.append(_too_long(column.name, fld, column.length_limit))
    return checks


def _too_long(name: str, fld: sql.Identifier, limit: int) -> sql.Composed:
    return sql_fragment(
        "too_long",
        field=fld,
        limit=sql.Literal(limit),
        prefix=sql.Literal(f"{name}: "),
        suffix=sql.Literal(f" characters, more than {limit}"),
    )


def stage_apply_sql(layout: Layout, table: sql.Composable | None = None) -> sql.Composed:
    """The statement that judges staged rows for this layout (see ``load_stage_apply.sql``).

    Valid rows go to ``table`` (default: the source's raw table).
    """
    all_fields = sql.SQL(", ").join(sql.Identifier(field_name(i)) for i in range(layout.width))
    checks = [c for column, i in layout.positions for c in _checks(column, sql.Identifier(field_name(i)))]
    checks += [_too_long(name, sql.Identifier(field_name(i)), TEXT_MAX_LENGTH) for name, i in layout.extras]
    reason = sql_fragment(
        "reason",
        empty_row=sql_fragment("empty_row", fields=all_fields),
        checks=sql.SQL(", ").join(checks) if checks else sql.Literal(None),
    )
    values = [
        sql.Identifier(field_name(i))
        if c.type.sql == "text"
        else sql_fragment("cast", field=sql.Identifier(field_name(i)), type=sql.SQL(c.type.sql))
        for c, i in layout.positions
    ]
    if layout.extras:
        values.append(
            sql_fragment(
                "attributes",
                keys=sql.Literal([name for name, _ in layout.extras]),
                fields=sql.SQL(", ").join(sql.Identifier(field_name(i)) for _, i in layout.extras),
            )
        )
    return sql.SQL(_sql("load_stage_apply.sql")).format(
        reason=reason,
        table=table or raw_table(layout.spec),
        columns=sql.SQL(", ").join(map(sql.Identifier, target_columns(layout))),
        values=sql.SQL(", ").join(values),
        raw_text=sql_fragment("raw_text", fields=all_fields),
    )
