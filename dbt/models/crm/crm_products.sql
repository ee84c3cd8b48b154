-- What CRM files show of a product: names, prices, addresses and whether it can be sold.
with

products as (

    select * from {{ ref('dim_products') }}

),

final as (

    select
        product_id,
        title,
        category,
        price,
        stock_level,
        in_stock,
        is_active,
        is_product,
        product_url,
        image_url

    from products

)

select * from final
