-- Daily volume and distribution of events in the window up to the logical date, read
-- through the date index of the events.  A product is "new" on the day the warehouse first
-- saw it (first_seen_at of the product dimension; a product missing there counts as new).
with window_events as (
    select event_date, event_type, product_id
    from {events}
    where event_date >= %(logical_date)s::date - %(days)s
      and event_date <= %(logical_date)s
),

window_days as (
    select
        event_date,
        count(*) as n_events,
        avg((event_type = 'purchase')::int) as purchase_share
    from window_events
    group by event_date
),

day_products as (
    select distinct event_date, product_id
    from window_events
),

new_products as (
    select
        d.event_date,
        avg((coalesce((p.first_seen_at at time zone 'UTC')::date, d.event_date) >= d.event_date)::int)
            as new_product_share
    from day_products as d
    left join {products} as p on p.product_id = d.product_id
    group by d.event_date
)

select w.event_date, w.n_events, w.purchase_share, n.new_product_share
from window_days as w
inner join new_products as n on n.event_date = w.event_date
order by w.event_date
