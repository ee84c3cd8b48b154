-- Behavioural events as delivered: one row per raw row, trimmed and typed.  A source that
-- re-sends an event (OLTP re-reads, corrected files) gives it a row per batch;
-- int_event_versions keeps them all and marks the latest delivery current.  Kept without
-- de-duplication so that reading one night's batches reads only their rows.
with

source as (

    {{ admitted_rows(source('shop', 'events')) }}

),

final as (

    select
        coalesce(
            nullif(trim(event_id), ''),
            'batch-' || _batch_id || '-' || _line_number
        ) as event_id,
        nullif(trim(customer_id), '') as customer_id,
        nullif(trim(session_id), '') as session_id,
        lower(trim(event_type)) as event_type,
        trim(product_id) as product_id,
        event_ts,
        (event_ts at time zone 'UTC')::date as event_date,
        price,
        rating::integer as rating,
        _batch_id as batch_id,
        _line_number as line_number

    from source

)

select * from final
