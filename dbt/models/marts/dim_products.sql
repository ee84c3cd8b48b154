-- One row per product known as of the run date: catalogue attributes, price band, stock
-- status, purchase counts, popularity (sum of the recency-decayed interaction weights) and
-- the product's seasonality as 12 monthly shares of its purchases (zeros when never bought),
-- and its days of cover: stock over the units sold per day in the last var
-- stock.sales_window_days days.
-- Rebuilt every night (popularity decays with the run date) from per-product and per-pair
-- inputs kept incrementally, not from the events.
{%- set stock = var('stock') %}

with

as_of as (

    select as_of_date from {{ ref('int_as_of_date') }}

),

products as (

    select * from {{ ref('int_products_unioned') }}

),

daily_purchases as (

    select * from {{ ref('int_product_daily_purchases') }}

),

interactions as (

    select * from {{ ref('int_user_item_interactions') }}

),

purchase_totals as (

    select
        product_id,
        sum(n_purchases)::bigint as n_purchases

    from daily_purchases
    group by product_id

),

recent_units as (

    select
        daily_purchases.product_id,
        sum(daily_purchases.quantity)::double precision / {{ stock.sales_window_days | int }} as recent_daily_units

    from daily_purchases
    cross join as_of
    where daily_purchases.event_date > as_of.as_of_date - {{ stock.sales_window_days | int }}
        and daily_purchases.event_date <= as_of.as_of_date
    group by daily_purchases.product_id

),

monthly_purchases as (

    select
        product_id,
        extract(month from event_date)::integer as month_of_year,
        sum(n_purchases) as n_purchases

    from daily_purchases
    group by product_id, extract(month from event_date)::integer

),

months as (

    select generate_series(1, 12) as month_of_year

),

-- 12 monthly shares for the products that were bought (the others get 12 zeros below)
monthly_demand as (

    select
        purchase_totals.product_id,
        array_agg(
            coalesce(monthly_purchases.n_purchases::double precision / purchase_totals.n_purchases, 0)
            order by months.month_of_year
        ) as monthly_demand

    from purchase_totals
    cross join months
    left join monthly_purchases
        on purchase_totals.product_id = monthly_purchases.product_id
        and months.month_of_year = monthly_purchases.month_of_year
    group by purchase_totals.product_id

),

-- one pass over the customer x product pairs: popularity, and the customers who bought
-- (a pair with purchases is one distinct buyer)
popularity as (

    select
        product_id,
        sum(weight) as popularity,
        count(*) filter (where n_purchases > 0) as n_customers

    from interactions
    group by product_id

),

joined as (

    select
        products.*,
        {{ price_band('products.price') }} as price_band,
        coalesce(purchase_totals.n_purchases, 0) as n_purchases,
        coalesce(popularity.n_customers, 0) as n_customers,
        coalesce(popularity.popularity, 0) as popularity,
        coalesce(monthly_demand.monthly_demand, array_fill(0::double precision, array[12])) as monthly_demand,
        coalesce(recent_units.recent_daily_units, 0) as recent_daily_units

    from products
    left join purchase_totals
        on products.product_id = purchase_totals.product_id
    left join popularity
        on products.product_id = popularity.product_id
    left join monthly_demand
        on products.product_id = monthly_demand.product_id
    left join recent_units
        on products.product_id = recent_units.product_id

),

final as (

    select
        product_id,
        title,
        description,
        category,
        brand,
        price,
        price_band,
        stock_level,
        in_stock,
        is_active,
        is_product,
        created_at,
        first_seen_at,
        image_url,
        product_url,
        n_purchases,
        n_customers,
        case
            when is_product then row_number() over (
                partition by is_product
                order by popularity desc, n_purchases desc, product_id
            )
        end as popularity_rank,
        monthly_demand,
        popularity,
        in_catalogue,
        recent_daily_units,
        case
            when stock_level <= 0 then 0
            when recent_daily_units > 0 then stock_level / recent_daily_units
        end as days_of_cover

    from joined

)

select * from final
