-- Shop activity per day with events (fct_events): the additive part of fct_daily_kpis.
-- Incremental by day like fct_events (macros/incremental.sql), so a night recomputes its
-- days, not the history.  An order is a session with a purchase (an invoice for order lines).
{{
    config(
        meta={'refresh_by_key': {'keys': ['event_date'], 'source': 'fct_events', 'last_date': 'event_date', 'watermark': 'max_batch_id'}},
        indexes=[
            {'columns': ['event_date'], 'unique': true},
        ],
    )
}}

-- depends_on: {{ ref('int_event_versions') }}
-- depends_on: {{ ref('int_as_of_date') }}

with

events as (

    select * from {{ ref('fct_events') }}
    {%- if is_incremental() %}
    where {{ in_refreshed_keys() }}
    {%- endif %}

),

final as (

    select
        event_date,
        count(distinct session_id) as sessions,
        count(*) filter (where event_type = 'view') as views,
        count(*) filter (where event_type = 'cart') as carts,
        count(*) filter (where event_type = 'purchase') as purchases,
        count(distinct session_id) filter (where event_type = 'purchase') as orders,
        coalesce(sum(revenue) filter (where event_type = 'purchase'), 0) as revenue,
        count(distinct customer_id) as active_customers,
        max(batch_id) as max_batch_id

    from events
    group by event_date

)

select * from final
