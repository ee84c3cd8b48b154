-- One row: the logical date's event volume, share of purchases and share of products seen
-- for the first time, as in events_daily_history.sql (shares are null on a day without
-- events).
with day_events as (
    select event_type, product_id
    from {events}
    where event_date = {logical_date}
),

day_products as (
    select distinct product_id
    from day_events
),

new_products as (
    select avg((coalesce((p.first_seen_at at time zone 'UTC')::date, {logical_date}) >= {logical_date})::int) as share
    from day_products as d
    left join {products} as p on p.product_id = d.product_id
)

select
    (select count(*) from day_events) as n_events,
    (select avg((event_type = 'purchase')::int)::float8 from day_events) as purchase_share,
    (select share::float8 from new_products) as new_product_share
