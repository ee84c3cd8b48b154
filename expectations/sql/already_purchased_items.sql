-- Recommended items the user bought on or before the logical date.
with r as (select * from {batch})

select r.customer_id, r.product_id
from r
where exists (
    select 1
    from {interactions} as i
    where i.customer_id = r.customer_id
      and i.product_id = r.product_id
      and i.n_purchases > 0
      and i.event_date <= {logical_date}
)
