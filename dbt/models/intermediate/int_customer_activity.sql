-- Per customer with events up to the run date (fct_events): first and last event and the
-- purchase figures RFM scores rank (last purchase day, orders, revenue).  Incremental by
-- customer (macros/incremental.sql): a night recomputes, from all their events, only the
-- customers whose events changed, are in the lookback window or lie after the run date.
{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        on_schema_change='append_new_columns',
        pre_hook=[
            "{{ replace_refreshed_keys(['customer_id'], ref('fct_events'), \"(last_event_at at time zone 'UTC')::date\", 'max_batch_id') }}",
        ],
        indexes=[
            {'columns': ['customer_id'], 'unique': true},
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
        and {{ in_refreshed_keys(['customer_id']) }}
    {%- endif %}

),

final as (

    select
        customer_id,
        min(event_ts) as first_event_at,
        max(event_ts) as last_event_at,
        max(event_date) filter (where event_type = 'purchase') as last_purchase_date,
        (count(distinct coalesce(session_id, event_id)) filter (where event_type = 'purchase'))::integer
            as frequency,
        coalesce(sum(revenue) filter (where event_type = 'purchase'), 0) as monetary,
        max(batch_id) as max_batch_id

    from events
    group by customer_id

)

select * from final
