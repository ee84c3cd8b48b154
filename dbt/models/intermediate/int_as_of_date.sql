-- The run's logical date in one row: var as_of_date, or (unset) the latest date with an
-- event or order line.  Every "as of" model reads it from here, nothing reads the clock.
{{ config(materialized='table', post_hook=['analyze {{ this }}']) }}

{%- set as_of = as_of_date_literal() %}

with

events as (

    select event_date from {{ ref('int_events_unioned') }}

),

order_lines as (

    select invoice_date from {{ ref('int_order_lines_flagged') }}

),

loaded_dates as (

    select max(event_date) as loaded_date from events
    union all
    select max(invoice_date) as loaded_date from order_lines

),

latest as (

    select max(loaded_date) as latest_loaded_date from loaded_dates

),

final as (

    select
        {% if as_of is not none -%}
        {{ as_of }}
        {%- else -%}
        latest_loaded_date
        {%- endif %} as as_of_date,
        latest_loaded_date

    from latest

)

select * from final
