-- Who to tell that a product is back: customers who viewed or carted a product on a day it
-- was out of stock (int_product_stock_history), in the last var back_in_stock_interest_days
-- days, where the product is in stock again on the run date and the customer has not
-- bought it since.  One row per customer and product; campaign code selects from it as the
-- read-only BI role (recsys export --audience-sql).
with

as_of as (

    select as_of_date from {{ ref('int_as_of_date') }}

),

events as (

    select * from {{ ref('fct_events') }}

),

stock_history as (

    select * from {{ ref('int_product_stock_history') }}

),

products as (

    select * from {{ ref('dim_products') }}

),

back_in_stock as (

    select
        product_id,
        valid_from as back_in_stock_since,
        stock_level

    from stock_history
    where valid_to is null
        and is_active
        and stock_level > 0

),

interest as (

    select
        events.customer_id,
        events.product_id,
        count(*) filter (where events.event_type = 'view') as out_of_stock_views,
        count(*) filter (where events.event_type = 'cart') as out_of_stock_carts,
        max(events.event_ts) as last_interest_at

    from events
    cross join as_of
    inner join stock_history
        on events.product_id = stock_history.product_id
        and events.event_date >= stock_history.valid_from
        and (stock_history.valid_to is null or events.event_date < stock_history.valid_to)
    where events.event_type in ('view', 'cart')
        and events.customer_id is not null
        and stock_history.is_out_of_stock
        and events.event_date > as_of.as_of_date - {{ var('back_in_stock_interest_days') | int }}
        and events.event_date <= as_of.as_of_date
    group by events.customer_id, events.product_id

),

bought_since as (

    select distinct
        interest.customer_id,
        interest.product_id

    from interest
    inner join events
        on interest.customer_id = events.customer_id
        and interest.product_id = events.product_id
        and events.event_type = 'purchase'
        and events.event_ts > interest.last_interest_at

),

final as (

    select
        interest.customer_id,
        interest.product_id,
        products.title,
        products.category,
        back_in_stock.stock_level,
        back_in_stock.back_in_stock_since,
        interest.out_of_stock_views,
        interest.out_of_stock_carts,
        interest.last_interest_at

    from interest
    inner join back_in_stock
        on interest.product_id = back_in_stock.product_id
    inner join products
        on interest.product_id = products.product_id
    left join bought_since
        on interest.customer_id = bought_since.customer_id
        and interest.product_id = bought_since.product_id
    where bought_since.customer_id is null

)

select * from final
