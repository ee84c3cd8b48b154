-- Every order line up to the run date, with the flags that say what it is: cancellations,
-- returns, guest lines and fee codes are facts too (revenue reconciliation, BI).
with

as_of as (

    select as_of_date from {{ ref('int_as_of_date') }}

),

order_lines as (

    select * from {{ ref('int_order_lines_flagged') }}

),

final as (

    select
        order_lines.order_line_id,
        order_lines.invoice_no,
        order_lines.product_id,
        order_lines.description,
        order_lines.quantity,
        order_lines.unit_price,
        order_lines.line_amount,
        order_lines.invoice_ts,
        order_lines.invoice_date,
        order_lines.customer_id,
        order_lines.country,
        order_lines.is_cancellation,
        order_lines.is_return,
        order_lines.is_product,
        order_lines.has_customer,
        order_lines.is_purchase,
        order_lines.batch_id

    from order_lines
    cross join as_of
    where order_lines.invoice_date <= as_of.as_of_date

)

select * from final
