-- Rows of the batch whose product is missing from the product dimension.
select b.product_id, count(*) as n_rows
from {batch} as b
where b.product_id is not null
  and not exists (select 1 from {products} as p where p.product_id = b.product_id)
group by b.product_id
