-- fct_events is bounded by the run date: a backfill must not keep later events.
with

as_of as (

    select as_of_date from {{ ref('int_as_of_date') }}

),

events as (

    select * from {{ ref('fct_events') }}

),

final as (

    select events.event_id, events.event_date, as_of.as_of_date

    from events
    cross join as_of
    where events.event_date > as_of.as_of_date

)

select * from final
