-- Every order line with the flags that decide what it means: only a line of a real product,
-- with a customer, a positive quantity and not on a cancellation invoice is a purchase.
-- A table: four models read it, and the staging view's de-duplication should run once.
{{ config(materialized='table') }}

with

order_lines as (

    select * from {{ ref('stg_shop__order_lines') }}

),

flagged as (

    select
        *,
        quantity * unit_price as line_amount,
        invoice_no like 'C%' as is_cancellation,
        quantity < 0 as is_return,
        {{ is_product_code('product_id') }} as is_product,
        customer_id is not null as has_customer

    from order_lines

),

final as (

    select
        *,
        (
            is_product
            and has_customer
            and quantity > 0
            and not is_cancellation
        ) as is_purchase

    from flagged

)

select * from final
