-- Customer x product x day counts, the base of the training data.  Incremental like
-- fct_events: a run recomputes the recent days and the days holding events of batches
-- newer than the ones already aggregated.
{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='event_date',
        on_schema_change='append_new_columns',
        pre_hook="{{ delete_rows_after_as_of('event_date') }}",
        indexes=[
            {'columns': ['event_date']},
        ],
    )
}}

with

events as (

    select * from {{ ref('fct_events') }}

),

{% if is_incremental() %}

loaded as (

    select
        coalesce(max(event_date) - {{ var('incremental_lookback_days') | int }}, '-infinity'::date) as refresh_from,
        coalesce(max(max_batch_id), -1) as last_batch_id

    from {{ this }}

),

refresh_dates as (

    select distinct events.event_date

    from events
    cross join loaded
    where events.event_date >= loaded.refresh_from
        or events.batch_id > loaded.last_batch_id

),

{% endif %}

customer_events as (

    select *

    from events
    where customer_id is not null
    {%- if is_incremental() %}
        and event_date in (select event_date from refresh_dates)
    {%- endif %}

),

final as (

    select
        customer_id,
        product_id,
        event_date,
        (count(*) filter (where event_type = 'view'))::integer as n_views,
        (count(*) filter (where event_type = 'cart'))::integer as n_carts,
        (count(*) filter (where event_type = 'purchase'))::integer as n_purchases,
        coalesce(sum(quantity) filter (where event_type = 'purchase'), 0)::integer as quantity,
        (count(*) filter (where event_type = 'rating'))::integer as n_ratings,
        (avg(rating) filter (where event_type = 'rating'))::double precision as rating,
        min(event_ts) as first_event_at,
        max(event_ts) as last_event_at,
        max(batch_id) as max_batch_id

    from customer_events
    group by customer_id, product_id, event_date

)

select * from final
