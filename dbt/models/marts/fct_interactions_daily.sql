-- Customer x product x day counts, the base of the training data.  Incremental by day:
-- a run recomputes the days whose events in fct_events no longer match what was
-- aggregated (another count or a newer batch), after the pre-hooks removed days after the
-- run date and days left without events.
{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='event_date',
        on_schema_change='append_new_columns',
        pre_hook=[
            "{{ delete_rows_after_as_of('event_date') }}",
            "{{ delete_days_missing_from(ref('fct_events'), 'event_date', 'source_rows.customer_id is not null') }}",
        ],
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

event_days as (

    select
        event_date,
        count(*) as n_events,
        max(batch_id) as max_batch_id

    from events
    where customer_id is not null
    group by event_date

),

aggregated_days as (

    select
        event_date,
        sum(n_views + n_carts + n_purchases + n_ratings) as n_events,
        max(max_batch_id) as max_batch_id

    from {{ this }}
    group by event_date

),

refresh_dates as (

    select event_days.event_date

    from event_days
    left join aggregated_days
        on event_days.event_date = aggregated_days.event_date
    where event_days.n_events is distinct from aggregated_days.n_events
        or event_days.max_batch_id is distinct from aggregated_days.max_batch_id

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
