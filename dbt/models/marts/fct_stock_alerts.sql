-- The stock alerts of the run date: every active catalogue product whose days of cover
-- (dim_products) are below var stock.alert_cover_days, one row per product.  Rebuilt every
-- night, so a product restocked above the threshold leaves the table and a rerun of the
-- date gives the same rows; the DAG's notifier sends them (recsys.stock).
{%- set stock = var('stock') %}

with

as_of as (

    select as_of_date from {{ ref('int_as_of_date') }}

),

products as (

    select * from {{ ref('dim_products') }}

),

stock_history as (

    select * from {{ ref('int_product_stock_history') }}
    where valid_to is null

),

final as (

    select
        as_of.as_of_date as alert_date,
        products.product_id,
        products.title,
        products.category,
        products.brand,
        products.stock_level,
        products.recent_daily_units,
        products.days_of_cover,
        {{ stock.alert_cover_days | float }}::double precision as alert_cover_days,
        case when products.stock_level <= 0 then 'out_of_stock' else 'low_cover' end as alert_kind,
        stock_history.valid_from as stock_level_since

    from products
    cross join as_of
    left join stock_history
        on products.product_id = stock_history.product_id
    where products.in_catalogue
        and products.is_active
        and products.is_product
        and products.days_of_cover < {{ stock.alert_cover_days | float }}

)

select * from final
