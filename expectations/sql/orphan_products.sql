-- Products of the batch missing from the product dimension.
-- (GX aliases the batch subquery itself as long as the text has no JOIN keyword.)
with b as (select * from {batch})

select b.product_id, count(*) as n_rows
from b
where b.product_id is not null
  and not exists (select 1 from {products} as p where p.product_id = b.product_id)
group by b.product_id
