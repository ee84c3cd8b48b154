-- What each customer is interested in: the share of their interaction weight
-- (int_user_item_interactions, recency-decayed) per product category and per price band,
-- in long form (one row per customer, dimension and value with weight).  Input of the
-- behavioural segments (recsys.segments); fee codes are left out.  Rebuilt every night (the
-- weights decay with the run date).
{{ config(materialized='table') }}

with

interactions as (

    select * from {{ ref('int_user_item_interactions') }}

),

products as (

    select
        product_id,
        category,
        {{ price_band('price') }} as price_band

    from {{ ref('int_products_unioned') }}
    where is_product

),

pairs as (

    select
        interactions.customer_id,
        products.category,
        products.price_band,
        interactions.weight,
        count(*) over (partition by interactions.customer_id) as customer_products

    from interactions
    inner join products
        on interactions.product_id = products.product_id

),

by_value as (

    select customer_id, 'category' as dimension, category as value, sum(weight) as weight, max(customer_products) as customer_products
    from pairs
    group by customer_id, category

    union all

    select customer_id, 'price_band' as dimension, price_band as value, sum(weight) as weight, max(customer_products) as customer_products
    from pairs
    group by customer_id, price_band

),

final as (

    select
        customer_id,
        dimension,
        value,
        weight,
        weight / sum(weight) over (partition by customer_id, dimension) as share,
        customer_products::integer as customer_products

    from by_value

)

select * from final
