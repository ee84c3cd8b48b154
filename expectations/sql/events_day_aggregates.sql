-- One row: the logical date's event volume, share of purchases and share of products
-- seen for the first time (shares are null on a day without events).
with day_events as (
    select event_type, product_id
    from {events}
    where event_date = {logical_date}
),

first_seen as (
    select e.product_id, min(e.event_date) as first_date
    from {events} as e
    where e.event_date <= {logical_date}
      and e.product_id in (select product_id from day_events)
    group by e.product_id
)

select
    (select count(*) from day_events) as n_events,
    (select avg((event_type = 'purchase')::int)::float8 from day_events) as purchase_share,
    (select avg((first_date = {logical_date})::int)::float8 from first_seen) as new_product_share
