-- One behavioural event up to the run date.  Incremental by day: a run recomputes whole
-- days (delete+insert on event_date) -- the last incremental_lookback_days days it holds
-- and the days of events loaded in newer batches -- after the pre-hooks removed rows after
-- the run date and old versions of re-sent events, so rerunning a date converges to what
-- a full refresh would build.
{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='event_date',
        on_schema_change='append_new_columns',
        pre_hook=[
            "{{ delete_rows_after_as_of('event_date') }}",
            "{{ delete_superseded_events(ref('int_events_unioned')) }}",
        ],
        indexes=[
            {'columns': ['event_date']},
        ],
    )
}}

with

as_of as (

    select as_of_date from {{ ref('int_as_of_date') }}

),

events as (

    select * from {{ ref('int_events_unioned') }}

),

events_as_of as (

    select events.*

    from events
    cross join as_of
    where events.event_date <= as_of.as_of_date

),

{% if is_incremental() %}

loaded as (

    select
        coalesce(max(event_date) - {{ var('incremental_lookback_days') | int }}, '-infinity'::date) as refresh_from,
        coalesce(max(batch_id), -1) as last_batch_id

    from {{ this }}

),

refresh_dates as (

    select distinct events_as_of.event_date

    from events_as_of
    cross join loaded
    where events_as_of.event_date >= loaded.refresh_from
        or events_as_of.batch_id > loaded.last_batch_id

),

{% endif %}

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

    from events_as_of
    {% if is_incremental() -%}
    where event_date in (select event_date from refresh_dates)
    {%- endif %}

)

select * from final
