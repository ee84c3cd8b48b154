-- Purchases per product and day up to the run date (fct_events, guests included): the base
-- of weekly demand and of monthly seasonality.  Incremental by day like fct_events
-- (macros/incremental.sql).
{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        on_schema_change='append_new_columns',
        pre_hook=[
            "{{ ensure_indexes() }}",
            "{{ replace_refreshed_keys(['event_date'], ref('fct_events'), 'event_date', 'max_batch_id') }}",
        ],
        post_hook=["{{ analyze_if_new() }}"],
        indexes=[
            {'columns': ['event_date', 'product_id'], 'unique': true},
        ],
    )
}}

-- depends_on: {{ ref('int_event_versions') }}
-- depends_on: {{ ref('int_as_of_date') }}

with

purchases as (

    select * from {{ ref('fct_events') }}
    where event_type = 'purchase'
    {%- if is_incremental() %}
        and {{ in_refreshed_keys(['event_date']) }}
    {%- endif %}

),

final as (

    select
        product_id,
        event_date,
        count(*) as n_purchases,
        sum(quantity) as quantity,
        max(batch_id) as max_batch_id

    from purchases
    group by product_id, event_date

)

select * from final
