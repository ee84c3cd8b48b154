-- Recommended items that are unknown, inactive, out of stock or not a product.
-- (GX aliases the batch subquery itself as long as the text has no JOIN keyword.)
with r as (select * from {batch})

select r.customer_id, r.product_id
from r
where not exists (
    select 1
    from {products} as p
    where p.product_id = r.product_id
      and p.in_stock is not false
      and p.is_active is not false
      and p.is_product is not false
)
