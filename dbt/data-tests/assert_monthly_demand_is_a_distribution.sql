-- monthly_demand holds 12 shares that sum to 1 for a product that was bought, 0 otherwise.
with

products as (

    select * from {{ ref('dim_products') }}

),

totals as (

    select
        product_id,
        n_purchases,
        cardinality(monthly_demand) as n_months,
        (select sum(share) from unnest(monthly_demand) as share) as total_share

    from products

),

final as (

    select *

    from totals
    where n_months <> 12
        or abs(total_share - case when n_purchases > 0 then 1 else 0 end) > 1e-9

)

select * from final
