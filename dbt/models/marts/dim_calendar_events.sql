-- The seasonal calendar in a shape scorers can use directly: month and day numbers,
-- keyword and category arrays, and whether the window wraps over the year end.
with

calendar_events as (

    select * from {{ ref('calendar_events') }}

),

final as (

    select
        event_name,
        country,
        start_month_day,
        end_month_day,
        split_part(start_month_day, '-', 1)::integer as start_month,
        split_part(start_month_day, '-', 2)::integer as start_day,
        split_part(end_month_day, '-', 1)::integer as end_month,
        split_part(end_month_day, '-', 2)::integer as end_day,
        lead_days,
        coalesce(string_to_array(nullif(keywords, ''), '|'), array[]::text[]) as keywords,
        coalesce(string_to_array(nullif(categories, ''), '|'), array[]::text[]) as categories,
        start_month_day > end_month_day as wraps_year_end,
        notes

    from calendar_events

)

select * from final
