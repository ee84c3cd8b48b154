-- One behavioural event up to the run date.  Incremental by day: a run deletes and
-- recomputes whole days -- the days of events loaded or replaced since the newest batch it
-- holds, the days after its newest day up to the run date, and days after the run date (a
-- backfill) -- so rerunning a date converges to what a full refresh would build
-- (macros/incremental.sql).
{{
    config(
        meta={'refresh_by_key': {'keys': ['event_date'], 'source': 'int_events_unioned', 'last_date': 'event_date', 'watermark': 'batch_id'}},
        indexes=[
            {'columns': ['event_date']},
            {'columns': ['batch_id']},
            {'columns': ['customer_id']},
            {'columns': ['product_id', 'event_ts']},
        ],
    )
}}

-- depends_on: {{ ref('int_event_versions') }}

with

as_of as (

    select as_of_date from {{ ref('int_as_of_date') }}

),

events as (

    select * from {{ ref('int_events_unioned') }}

),

final as (

    select
        events.event_id,
        events.source,
        events.customer_id,
        events.session_id,
        events.event_type,
        events.product_id,
        events.event_ts,
        events.event_date,
        events.quantity,
        events.price,
        events.revenue,
        events.rating,
        events.batch_id

    from events
    cross join as_of
    where events.event_date <= as_of.as_of_date
    {%- if is_incremental() %}
        and {{ in_refreshed_keys() }}
    {%- endif %}

)

select * from final
