-- The current version of every event (site events and purchases derived from order lines)
-- in one shape, not yet bounded by as_of_date: int_event_versions without the versions a
-- later batch replaced.  A view: its readers filter by day or key through that table's
-- indexes.
with

versions as (

    select * from {{ ref('int_event_versions') }}

),

final as (

    select
        event_id,
        source,
        customer_id,
        session_id,
        event_type,
        product_id,
        event_ts,
        event_date,
        quantity,
        price,
        revenue,
        rating,
        batch_id

    from versions
    where superseded_by_batch_id is null

)

select * from final
