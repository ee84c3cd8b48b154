-- The back-in-stock audience per product: how many customers viewed or carted it while it
-- was out of stock and have not bought it since (fct_back_in_stock_audience); no customer ids.
with

audience as (

    select * from {{ ref('fct_back_in_stock_audience') }}

),

final as (

    select
        product_id,
        title,
        category,
        stock_level,
        back_in_stock_since,
        count(*) as customers,
        sum(out_of_stock_views) as out_of_stock_views,
        sum(out_of_stock_carts) as out_of_stock_carts,
        max(last_interest_at) as last_interest_at

    from audience
    group by product_id, title, category, stock_level, back_in_stock_since

)

select * from final
