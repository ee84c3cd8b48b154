-- The incremental daily aggregate must agree with the events it summarises, day by day:
-- a drift means an incremental run missed or double-counted a day.  Checked over the last
-- data_test_days days up to the run date, through the event_date indexes (older days were
-- checked by the nights that built them; tests/test_dbt_project.py compares whole tables
-- with a full refresh).
{%- set as_of = as_of_date_value() %}
{%- set window_start = as_of ~ ' - ' ~ (var('data_test_days') | int) %}

with

events as (

    select * from {{ ref('fct_events') }}
    where customer_id is not null
        and event_date between {{ window_start }} and {{ as_of }}

),

daily as (

    select * from {{ ref('fct_interactions_daily') }}
    where event_date between {{ window_start }} and {{ as_of }}

),

events_per_day as (

    select
        event_date,
        count(*) filter (where event_type = 'view') as n_views,
        count(*) filter (where event_type = 'purchase') as n_purchases,
        count(*) as n_events

    from events
    group by event_date

),

daily_per_day as (

    select
        event_date,
        sum(n_views) as n_views,
        sum(n_purchases) as n_purchases,
        sum(n_views + n_carts + n_purchases + n_ratings) as n_events

    from daily
    group by event_date

),

final as (

    select
        coalesce(events_per_day.event_date, daily_per_day.event_date) as event_date,
        events_per_day.n_events as events_in_fct_events,
        daily_per_day.n_events as events_in_fct_interactions_daily

    from events_per_day
    full outer join daily_per_day
        on events_per_day.event_date = daily_per_day.event_date
    where events_per_day.n_views is distinct from daily_per_day.n_views
        or events_per_day.n_purchases is distinct from daily_per_day.n_purchases
        or events_per_day.n_events is distinct from daily_per_day.n_events

)

select * from final
