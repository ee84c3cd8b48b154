-- Only lines of real products, with a customer, a positive quantity and no cancellation
-- become purchase events, and every such line does.
with

order_lines as (

    select * from {{ ref('fct_order_lines') }}

),

events as (

    select * from {{ ref('fct_events') }}
    where source = 'order_lines'

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
