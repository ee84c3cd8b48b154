-- Daily volume and distribution of events in the window up to the logical date.
-- A product is "new" on the first day it has any event.
with first_seen as (
    select product_id, min(event_date) as first_date
    from {events}
    where event_date <= %(logical_date)s
    group by product_id
),

window_days as (
    select
        event_date,
        count(*) as n_events,
        avg((event_type = 'purchase')::int) as purchase_share
    from {events}
    where event_date >= %(logical_date)s::date - %(days)s
      and event_date <= %(logical_date)s
    group by event_date
),

day_products as (
    select distinct e.event_date, e.product_id
    from {events} as e
    where e.event_date >= %(logical_date)s::date - %(days)s
      and e.event_date <= %(logical_date)s
),

new_products as (
    select d.event_date, avg((f.first_date = d.event_date)::int) as new_product_share
    from day_products as d
    inner join first_seen as f on f.product_id = d.product_id
    group by d.event_date
)

select w.event_date, w.n_events, w.purchase_share, coalesce(n.new_product_share, 0) as new_product_share
from window_days as w
left join new_products as n on n.event_date = w.event_date
order by w.event_date
