"""Which rows of a chunk take the direct COPY and which are judged in SQL.

A row whose values all match the conservative patterns of the contract
(``RawType.certain``) is written straight into the raw table as COPY text assembled by
Arrow; every other row is left for :mod:`recsys.ingest.judging`, where Postgres decides.
"""

from __future__ import annotations

import functools
import json

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from recsys.contracts.raw import TEXT_MAX_LENGTH, Column
from recsys.ingest.layout import Layout
from recsys.ingest.reading import Chunk, data_bytes


def _present(values: pa.Array) -> pa.Array:
    """Not NULL and not blank (null stays null; blank-only is judged by Postgres)."""
    return pc.invert(pc.utf8_is_space(values))


#: Arrow type a certain value of each numeric type parses as, for the bounds check.
_NUMBER_TYPES = {"smallint": pa.int64(), "integer": pa.int64(), "bigint": pa.int64(), "numeric": pa.float64()}


def _column_certain(column: Column, values: pa.Array) -> list[pa.Array]:
    """Masks of the values this column certainly accepts.  Dates and times need no bounds
    check here: their certain pattern admits only years inside the accepted window."""
    masks = [_present(values)] if column.required else []
    matches = pc.match_substring_regex(values, column.type.certain) if column.type.certain else None
    if matches is not None:
        masks.append(pc.or_kleene(pc.is_null(values), matches))
    if column.accepted:
        masks.append(pc.or_kleene(pc.is_null(values), pc.is_in(values, value_set=pa.array(column.accepted))))
    if column.bounds and matches is not None and column.type.sql in _NUMBER_TYPES:
        numbers = pc.cast(pc.if_else(matches, values, pa.scalar(None, pa.string())), _NUMBER_TYPES[column.type.sql])
        low, high = column.bounds
        inside = pc.and_(pc.greater_equal(numbers, low), pc.less_equal(numbers, high))
        masks.append(pc.or_kleene(pc.is_null(values), inside))
    if column.length_limit:
        masks.append(_short_enough(values, column.length_limit))
    return masks


def _short_enough(values: pa.Array, limit: int) -> pa.Array:
    """True where a value (or NULL) has at most ``limit`` characters."""
    return pc.or_kleene(pc.is_null(values), pc.less_equal(pc.utf8_length(values), limit))


def _control_free(values: pa.Array) -> pa.Array:
    """True where a value (or NULL) holds no control character."""
    if not (data_bytes(values) < 0x20).any():
        return pa.array(np.ones(len(values), bool))
    return pc.invert(pc.fill_null(pc.match_substring_regex(values, r"[\x00-\x1f]"), False))


def certain_rows(layout: Layout, batch: pa.RecordBatch) -> pa.BooleanArray:
    """Rows Postgres will certainly accept as they are and the contract keeps.

    Deliberately conservative: a row it refuses is not rejected, only judged in SQL.
    Attribute values holding control characters are left to SQL too (their JSON needs
    ``\\u`` escapes, which :func:`attributes_json` does not write).
    """
    masks = [m for column, i in layout.positions for m in _column_certain(column, batch.column(i))]
    masks += [_control_free(batch.column(i)) for _, i in layout.extras]
    masks += [_short_enough(batch.column(i), TEXT_MAX_LENGTH) for _, i in layout.extras]
    if not masks:
        return pa.array(np.ones(batch.num_rows, bool))
    return pc.fill_null(functools.reduce(pc.and_kleene, masks), False)


def attributes_json(layout: Layout, batch: pa.RecordBatch) -> pa.Array:
    """The undeclared columns of each row as a JSON object of its non-NULL values (NULL
    when there are none): what ``jsonb_strip_nulls(jsonb_object(keys, values))`` of the
    SQL path builds, for values without control characters (see :func:`certain_rows`).
    """
    pairs = []
    for name, i in layout.extras:
        value = pc.replace_substring(pc.replace_substring(batch.column(i), "\\", "\\\\"), '"', '\\"')
        pair = pc.binary_join_element_wise(json.dumps(name) + ': "', value, '", ', "")
        pairs.append(pc.fill_null(pair, ""))
    body = pc.utf8_rtrim(pc.binary_join_element_wise(*pairs, ""), characters=", ")
    return pc.if_else(pc.equal(body, ""), pa.scalar(None, pa.string()), pc.binary_join_element_wise("{", body, "}", ""))


_TEXT_ESCAPES = (("\\", "\\\\"), ("\t", "\\t"), ("\n", "\\n"), ("\r", "\\r"))  # backslash first


def _text_field(values: pa.Array) -> pa.Array:
    """A column as COPY text values, escaped only when its bytes call for it (rarely)."""
    if not pa.types.is_string(values.type):
        values = values.cast(pa.string())
    data = data_bytes(values)
    if any((data == ord(char)).any() for char, _ in _TEXT_ESCAPES):
        for char, escaped in _TEXT_ESCAPES:
            values = pc.replace_substring(values, char, escaped)
    return values


def copy_text(columns: list[pa.Array | str]) -> memoryview:
    """Rows in COPY's text format, assembled column-wise by Arrow (no per-row Python).

    COPY text is the cheapest format for Postgres to parse (no quotes; NULL is ``\\N``).
    A plain ``str`` is a value shared by every row (the batch id).
    """
    fields = [pa.scalar(c) if isinstance(c, str) else _text_field(c) for c in columns]
    fields[-1] = pc.binary_join_element_wise(fields[-1], "\n", "", null_handling="replace", null_replacement="\\N")
    rows = pc.binary_join_element_wise(*fields, "\t", null_handling="replace", null_replacement="\\N")
    if len(rows) == 0:
        return memoryview(b"")
    offsets = np.frombuffer(rows.buffers()[1], np.int32, count=len(rows) + 1, offset=rows.offset * 4)
    return memoryview(rows.buffers()[2])[offsets[0] : offsets[-1]]


def route(layout: Layout, chunk: Chunk, batch_id: int) -> tuple[memoryview | None, Chunk]:
    """Split a chunk into COPY text for the raw table and the rest (to judge in SQL).

    The direct rows carry the raw table's columns plus ``_batch_id`` and ``_line_number``.
    """
    batch = chunk.batch
    if batch is None or batch.num_rows == 0:
        return None, chunk
    certain = certain_rows(layout, batch)
    mask = certain.to_numpy(zero_copy_only=False)
    if not mask.any():
        return None, chunk
    kept = batch if mask.all() else batch.filter(certain)
    attributes = [attributes_json(layout, kept)] if layout.extras else []
    direct = copy_text(
        [kept.column(i) for _, i in layout.positions] + attributes + [str(batch_id), pa.array(chunk.lines[mask])]
    )
    rest = None if mask.all() else batch.filter(pc.invert(certain))
    return direct, Chunk(rest, chunk.lines[~mask], chunk.broken, chunk.done)
