-- Customers of the batch missing from the customer dimension.
-- (GX aliases the batch subquery itself as long as the text has no JOIN keyword.)
with b as (select * from {batch})

select b.customer_id, count(*) as n_rows
from b
where b.customer_id is not null
  and not exists (select 1 from {customers} as c where c.customer_id = b.customer_id)
group by b.customer_id
