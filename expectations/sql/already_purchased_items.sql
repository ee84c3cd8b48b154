-- Recommended items the user bought on or before the logical date.
select r.customer_id, r.product_id
from {batch} as r
where exists (
    select 1
    from {interactions} as i
    where i.customer_id = r.customer_id
      and i.product_id = r.product_id
      and i.n_purchases > 0
      and i.event_date <= {logical_date}
)
