-- Stock cover of every active catalogue product (dim_products): units, recent daily sales,
-- days of cover and a cover band for charts.
{%- set stock = var('stock') %}

with

products as (

    select * from {{ ref('dim_products') }}

),

final as (

    select
        product_id,
        title,
        category,
        brand,
        stock_level,
        recent_daily_units,
        days_of_cover,
        case
            when stock_level <= 0 then '1 out of stock'
            when days_of_cover < {{ stock.alert_cover_days | float }} then '2 below alert cover'
            when days_of_cover < 4 * {{ stock.alert_cover_days | float }} then '3 under 4x alert cover'
            when days_of_cover is not null then '4 4x alert cover or more'
            else '5 no recent sales'
        end as cover_band

    from products
    where in_catalogue
        and is_active
        and is_product
        and stock_level is not null

)

select * from final
