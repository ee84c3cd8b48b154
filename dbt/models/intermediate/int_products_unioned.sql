-- Catalogue products plus products only seen in order lines or events (Online Retail has no
-- catalogue).  An uncatalogued product takes its most frequent invoice description as
-- title and its latest positive price; its category is 'unknown' and, with no stock data,
-- it counts as in stock.  in_catalogue tells the two apart.
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

site_events as (

    select * from {{ ref('int_events_unioned') }}
    where source = 'events'

),

catalogue_as_of as (

    select catalogue.*

    from catalogue
    cross join as_of
    where catalogue.created_at is null
        or (catalogue.created_at at time zone 'UTC')::date <= as_of.as_of_date

),

observations as (

    select
        order_lines.product_id,
        order_lines.description,
        order_lines.unit_price as price,
        order_lines.invoice_ts as seen_at

    from order_lines
    cross join as_of
    where order_lines.invoice_date <= as_of.as_of_date

    union all

    select
        site_events.product_id,
        null as description,
        site_events.price,
        site_events.event_ts as seen_at

    from site_events
    cross join as_of
    where site_events.event_date <= as_of.as_of_date

),

seen as (

    select
        product_id,
        mode() within group (order by description) as most_frequent_description,
        (array_agg(price order by seen_at desc) filter (where price > 0))[1] as latest_price,
        min(seen_at) as first_seen_at

    from observations
    group by product_id

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
