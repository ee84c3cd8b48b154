-- Purchases per product and day up to the run date (fct_events, guests included): the base
-- of weekly demand and of monthly seasonality.  Incremental by day like fct_events
-- (macros/incremental.sql).
{{
    config(
        meta={'refresh_by_key': {'keys': ['event_date'], 'source': 'fct_events', 'last_date': 'event_date', 'watermark': 'max_batch_id'}},
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
        and {{ in_refreshed_keys() }}
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
