-- Rows of the batch whose customer is missing from the customer dimension.
select b.customer_id, count(*) as n_rows
from {batch} as b
where b.customer_id is not null
  and not exists (select 1 from {customers} as c where c.customer_id = b.customer_id)
group by b.customer_id
