-- The current published lists with what a person needs to read them: product names,
-- categories and prices, the customer's country and segment, every score factor and reason.
with

recommendations as (

    select * from {{ source('recs', 'user_recommendations') }}

),

products as (

    select * from {{ ref('dim_products') }}

),

customers as (

    select * from {{ ref('dim_customers') }}

),

final as (

    select
        recommendations.run_id,
        recommendations.context_date,
        recommendations.model_version,
        recommendations.customer_id,
        customers.country,
        customers.rfm_segment,
        customers.behaviour_segment,
        recommendations.rank,
        recommendations.product_id,
        products.title as product_title,
        products.category as product_category,
        products.price as product_price,
        products.price_band,
        products.days_of_cover,
        recommendations.score,
        recommendations.raw_score,
        recommendations.season_factor,
        recommendations.event_factor,
        recommendations.country_factor,
        recommendations.recent_factor,
        recommendations.promotion_factor,
        recommendations.stock_factor,
        recommendations.reason_code,
        recommendations.reason_ref,
        recommendations.source,
        recommendations.generated_at

    from recommendations
    left join products
        on recommendations.product_id = products.product_id
    left join customers
        on recommendations.customer_id = customers.customer_id

)

select * from final
