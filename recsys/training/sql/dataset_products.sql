-- Product attributes the hybrid model turns into item features (merchandise only).
select
    product_id as item_id,
    title,
    description,
    category,
    brand,
    price_band
from marts.dim_products
where is_product
order by product_id
