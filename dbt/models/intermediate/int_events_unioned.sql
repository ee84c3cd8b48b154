-- Site events and purchases from order lines in one event shape.  An order line's invoice
-- plays the session; its event id is derived from the order line id so reruns agree.
-- A table: the as-of date, products, customers and fct_events all read it, and the
-- staging view's de-duplication should run once.
{{ config(materialized='table') }}

with

site_events as (

    select * from {{ ref('stg_shop__events') }}

),

order_lines as (

    select * from {{ ref('int_order_lines_flagged') }}

),

from_site as (

    select
        event_id,
        'events'::text as source,
        customer_id,
        session_id,
        event_type,
        product_id,
        event_ts,
        event_date,
        1 as quantity,
        price,
        case when event_type = 'purchase' then price else 0 end as revenue,
        rating,
        batch_id

    from site_events

),

from_order_lines as (

    select
        'order_line-' || order_line_id as event_id,
        'order_lines'::text as source,
        customer_id,
        invoice_no as session_id,
        'purchase'::text as event_type,
        product_id,
        invoice_ts as event_ts,
        invoice_date as event_date,
        quantity,
        unit_price as price,
        line_amount as revenue,
        null::integer as rating,
        batch_id

    from order_lines
    where is_purchase

),

final as (

    select * from from_site
    union all
    select * from from_order_lines

)

select * from final
