-- Catalogue products plus products only seen in order lines or events (Online Retail has no
-- catalogue).  An uncatalogued product takes its most frequent invoice description as
-- title and its latest positive price (ties: the higher price); its category is 'unknown'
-- and, with no stock data, it counts as in stock.  in_catalogue tells the two apart.
-- Site events come summarised per product (int_product_activity), order lines are read
-- whole.
with

as_of as (

    select as_of_date from {{ ref('int_as_of_date') }}

),

catalogue as (

    select * from {{ ref('stg_shop__products') }}

),

order_lines as (

    select * from {{ ref('int_order_lines_flagged') }}

),

site_activity as (

    select * from {{ ref('int_product_activity') }}

),

catalogue_as_of as (

    select catalogue.*

    from catalogue
    cross join as_of
    where catalogue.created_at is null
        or (catalogue.created_at at time zone 'UTC')::date <= as_of.as_of_date

),

order_lines_as_of as (

    select order_lines.*

    from order_lines
    cross join as_of
    where order_lines.invoice_date <= as_of.as_of_date

),

order_line_activity as (

    select
        product_id,
        mode() within group (order by description) as most_frequent_description,
        min(invoice_ts) as first_seen_at

    from order_lines_as_of
    group by product_id

),

latest_order_line_prices as (

    select distinct on (product_id)
        product_id,
        unit_price as latest_price,
        invoice_ts as latest_price_at

    from order_lines_as_of
    where unit_price > 0
    order by product_id, invoice_ts desc, unit_price desc

),

seen as (

    select
        coalesce(order_line_activity.product_id, site_activity.product_id) as product_id,
        order_line_activity.most_frequent_description,
        case
            when site_activity.latest_price_at is null then latest_order_line_prices.latest_price
            when latest_order_line_prices.latest_price_at is null then site_activity.latest_price
            when (site_activity.latest_price_at, site_activity.latest_price)
                > (latest_order_line_prices.latest_price_at, latest_order_line_prices.latest_price)
                then site_activity.latest_price
            else latest_order_line_prices.latest_price
        end as latest_price,
        least(order_line_activity.first_seen_at, site_activity.first_seen_at) as first_seen_at

    from order_line_activity
    full outer join site_activity
        on order_line_activity.product_id = site_activity.product_id
    left join latest_order_line_prices
        on coalesce(order_line_activity.product_id, site_activity.product_id) = latest_order_line_prices.product_id

),

final as (

    select
        coalesce(catalogue_as_of.product_id, seen.product_id) as product_id,
        coalesce(catalogue_as_of.title, seen.most_frequent_description) as title,
        catalogue_as_of.description,
        coalesce(catalogue_as_of.category, 'unknown') as category,
        catalogue_as_of.brand,
        coalesce(catalogue_as_of.price, seen.latest_price) as price,
        catalogue_as_of.stock_level,
        coalesce(catalogue_as_of.stock_level > 0, true) as in_stock,
        coalesce(catalogue_as_of.is_active, true) as is_active,
        {{ is_product_code('coalesce(catalogue_as_of.product_id, seen.product_id)') }} as is_product,
        catalogue_as_of.created_at,
        seen.first_seen_at,
        catalogue_as_of.image_url,
        catalogue_as_of.product_url,
        catalogue_as_of.product_id is not null as in_catalogue

    from catalogue_as_of
    full outer join seen
        on catalogue_as_of.product_id = seen.product_id

)

select * from final
