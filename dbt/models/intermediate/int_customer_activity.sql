-- Per customer with events up to the run date (fct_events): first and last event and the
-- purchase figures RFM scores rank (last purchase day, orders, revenue).  Incremental by
-- customer (macros/incremental.sql): a night recomputes, from all their events, only the
-- customers whose events changed, who have events after its newest day up to the run
-- date, or whose last event lies after the run date.
{{
    config(
        meta={'refresh_by_key': {'keys': ['customer_id'], 'source': 'fct_events', 'last_date': 'last_event_date', 'watermark': 'max_batch_id'}},
        indexes=[
            {'columns': ['customer_id'], 'unique': true},
            {'columns': ['max_batch_id']},
            {'columns': ['last_event_date']},
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
        customer_id,
        min(event_ts) as first_event_at,
        max(event_ts) as last_event_at,
        min(event_date) as first_event_date,
        max(event_date) as last_event_date,
        max(event_date) filter (where event_type = 'purchase') as last_purchase_date,
        (count(distinct coalesce(session_id, event_id)) filter (where event_type = 'purchase'))::integer
            as frequency,
        coalesce(sum(revenue) filter (where event_type = 'purchase'), 0) as monetary,
        max(batch_id) as max_batch_id

    from events
    group by customer_id

)

select * from final
