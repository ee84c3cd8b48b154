-- Recommended items that are unknown, inactive, out of stock or not a product.
select r.customer_id, r.product_id
from {batch} as r
left join {products} as p on p.product_id = r.product_id
where p.product_id is null
   or p.in_stock is false
   or p.is_active is false
   or p.is_product is false
