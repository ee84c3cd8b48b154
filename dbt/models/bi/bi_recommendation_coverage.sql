-- Coverage and popularity concentration of the current published run: how much of the
-- recommendable catalogue it shows, and how unequally (Gini over recommendable products,
-- share of all slots taken by the 10 most recommended products).
with

recommendations as (

    select * from {{ source('recs', 'user_recommendations') }}

),

products as (

    select * from {{ ref('dim_products') }}

),

recommendable as (

    select product_id
    from products
    where in_stock is not false and is_active is not false and is_product is not false

),

run as (

    select
        min(run_id) as run_id,
        min(context_date) as context_date,
        count(distinct customer_id) as customers,
        count(*) as slots

    from recommendations

),

counts as (

    select
        recommendable.product_id,
        count(recommendations.product_id) as times_recommended

    from recommendable
    left join recommendations
        on recommendable.product_id = recommendations.product_id
    group by recommendable.product_id

),

ranked as (

    select
        times_recommended,
        row_number() over (order by times_recommended, product_id) as ascending_rank,
        row_number() over (order by times_recommended desc, product_id) as descending_rank,
        count(*) over () as n_products,
        sum(times_recommended) over () as total

    from counts

),

concentration as (

    select
        max(n_products) as recommendable_products,
        count(*) filter (where times_recommended > 0) as recommended_products,
        2.0 * sum(ascending_rank * times_recommended) / nullif(max(n_products) * max(total), 0)
            - (max(n_products) + 1.0) / nullif(max(n_products), 0) as gini,
        sum(times_recommended) filter (where descending_rank <= 10)::double precision
            / nullif(max(total), 0) as top_10_share

    from ranked

),

final as (

    select
        run.run_id,
        run.context_date,
        run.customers,
        run.slots,
        concentration.recommendable_products,
        concentration.recommended_products,
        concentration.recommended_products::double precision
            / nullif(concentration.recommendable_products, 0) as catalogue_coverage,
        concentration.gini,
        concentration.top_10_share

    from run
    cross join concentration

)

select * from final
