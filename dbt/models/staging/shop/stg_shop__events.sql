-- One row per event id: a source that re-sends an event (OLTP re-reads, corrected files)
-- is resolved in favour of the latest batch.
with

source as (

    select * from {{ source('shop', 'events') }}

),

renamed as (

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

),

ranked as (

    select
        *,
        row_number() over (
            partition by event_id
            order by batch_id desc, line_number desc
        ) as version_rank

    from renamed

),

final as (

    select
        event_id,
        customer_id,
        session_id,
        event_type,
        product_id,
        event_ts,
        event_date,
        price,
        rating,
        batch_id,
        line_number

    from ranked
    where version_rank = 1

)

select * from final
