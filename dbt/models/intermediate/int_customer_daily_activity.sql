-- Activity per known customer and day up to the run date (fct_events): sessions, events by
-- type, orders and revenue, the additive part of fct_segment_daily_kpis.  Incremental by
-- day like int_daily_activity (macros/incremental.sql).  Anonymous visitors have no
-- customer and are left out (fct_daily_kpis counts them).
{{
    config(
        meta={'refresh_by_key': {'keys': ['event_date'], 'source': 'fct_events', 'last_date': 'event_date', 'watermark': 'max_batch_id'}},
        indexes=[
            {'columns': ['event_date', 'customer_id'], 'unique': true},
        ],
    )
}}

-- depends_on: {{ ref('int_event_versions') }}
-- depends_on: {{ ref('int_as_of_date') }}

with

events as (

    select * from {{ ref('fct_events') }}
    where customer_id is not null
    {%- if is_incremental() %}
        and {{ in_refreshed_keys() }}
    {%- endif %}

),

final as (

    select
        event_date,
        customer_id,
        count(distinct session_id) as sessions,
        count(*) filter (where event_type = 'view') as views,
        count(*) filter (where event_type = 'cart') as carts,
        count(*) filter (where event_type = 'purchase') as purchases,
        count(distinct session_id) filter (where event_type = 'purchase') as orders,
        coalesce(sum(revenue) filter (where event_type = 'purchase'), 0) as revenue,
        max(batch_id) as max_batch_id

    from events
    group by event_date, customer_id

)

select * from final
