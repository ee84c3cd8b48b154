-- Keys held by more than one row of the batch (rows with a missing part are the
-- not-null checks' business).
with b as (select * from {batch})

select {columns}, count(*) as n_rows
from b
where ({columns}) is not null
group by {columns}
having count(*) > 1
