-- Expressions recsys.ingest.loading composes into load_stage_create.sql / load_stage_apply.sql
-- with psycopg.sql: {field} is a stage column identifier, everything else a literal or a
-- type name from recsys/contracts/raw.py.  Each fragment starts with a "-- name:" line.

-- name: stage_column
{field} text

-- name: cast
{field}::{type}

-- name: empty_row
case when num_nonnulls({fields}) = 0 then 'empty row' end

-- name: reason
coalesce({empty_row}, nullif(concat_ws('; ', {checks}), ''))

-- name: missing
case when {field} is null or {field} ~ '^[ \t\r\n]*$' then {message} end

-- name: invalid
case
    when {field} is not null and not (pg_input_is_valid({field}, {type_name}) and {field} ~ {shape})
        then {prefix} || quote_literal(translate(left({field}, 60), E'\n\r\t', '   ')) || {suffix}
end

-- name: not_accepted
case
    when {field} is not null and not ({field} = any({accepted}))
        then {prefix} || quote_literal(translate(left({field}, 60), E'\n\r\t', '   ')) || {suffix}
end

-- name: out_of_range
case
    when pg_input_is_valid({field}, {type_name})
        then case
            when {field}::{type} not between {low} and {high} then {prefix} || quote_literal(translate(left({field}, 60), E'\n\r\t', '   ')) || {suffix}
        end
end

-- name: too_long
case when length({field}) > {limit} then {prefix} || length({field}) || {suffix} end

-- name: attributes
nullif(jsonb_strip_nulls(jsonb_object({keys}::text[], array[{fields}]::text[])), '{{}}'::jsonb)

-- name: raw_text
(
    select string_agg(
        case when value ~ '[",\r\n]' then '"' || replace(value, '"', '""') || '"' else coalesce(value, '') end,
        ',' order by position
    )
    from unnest(array[{fields}]::text[]) with ordinality as cells (value, position)
)

-- name: alias
{column} as {alias}
