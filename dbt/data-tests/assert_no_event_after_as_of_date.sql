-- fct_events is bounded by the run date: a backfill must not keep later events.
-- (The date is a constant, so the check is one probe of the event_date index.)
with

events as (

    select * from {{ ref('fct_events') }}

),

final as (

    select event_id, event_date

    from events
    where event_date > {{ as_of_date_value() }}

)

select * from final
