-- A purchase never has a negative price or revenue (a refund is a cancellation or a return,
-- never a purchase).  Checked over the last data_test_days days up to the run date, through
-- the date index; older days were checked by the nights that built them.
{%- set as_of = as_of_date_value() %}

with

purchases as (

    select * from {{ ref('fct_events') }}
    where event_type = 'purchase'
        and event_date between {{ as_of }} - {{ var('data_test_days') | int }} and {{ as_of }}

),

final as (

    select event_id, event_date, price, revenue
    from purchases
    where price < 0 or revenue < 0

)

select * from final
