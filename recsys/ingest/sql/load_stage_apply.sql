-- Judge every staged row once: valid rows are cast into the raw table, the others go to
-- raw.rejected_rows with every problem found.
with checked as materialized (
    select
        stage.*,
        {reason} as _reason
    from pg_temp.load_stage as stage
),

loaded as (
    insert into {table} ({columns})
    select {values}, %(batch_id)s, line_number
    from checked
    where _reason is null
    returning 1
),

rejected as (
    insert into raw.rejected_rows (batch_id, source, line_number, raw_text, reason)
    select %(batch_id)s, %(source)s, line_number, {raw_text}, _reason
    from checked
    where _reason is not null
    returning 1
)

select
    (select count(*) from loaded) as rows_loaded,
    (select count(*) from rejected) as rows_rejected
