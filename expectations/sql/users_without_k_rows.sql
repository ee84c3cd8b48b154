-- Users whose list is not exactly k long.
with b as (select * from {batch})

select b.customer_id, count(*) as n_rows
from b
group by b.customer_id
having count(*) <> {k}
