-- Only lines of real products, with a customer, a positive quantity and no cancellation
-- become purchase events, and every such line does.  Checked over the last data_test_days
-- days up to the run date (an order line's event has its day; older days were checked by
-- the nights that built them).
{%- set as_of = as_of_date_value() %}
{%- set window_start = as_of ~ ' - ' ~ (var('data_test_days') | int) %}

with

order_lines as (

    select * from {{ ref('fct_order_lines') }}
    where invoice_date between {{ window_start }} and {{ as_of }}

),

events as (

    select * from {{ ref('fct_events') }}
    where source = 'order_lines'
        and event_date between {{ window_start }} and {{ as_of }}

),

final as (

    select
        coalesce(events.event_id, 'order_line-' || order_lines.order_line_id) as event_id,
        order_lines.is_purchase,
        events.event_id is not null as has_event

    from order_lines
    full outer join events
        on events.event_id = 'order_line-' || order_lines.order_line_id
    where order_lines.order_line_id is null
        or (events.event_id is not null) <> (
            order_lines.is_product
            and order_lines.has_customer
            and order_lines.quantity > 0
            and not order_lines.is_cancellation
        )

)

select * from final
