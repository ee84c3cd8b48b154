-- Users whose list is not exactly k long.
select customer_id, count(*) as n_rows
from {batch}
group by customer_id
having count(*) <> {k}
