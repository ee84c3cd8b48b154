-- The catalogue: attributes for features and rules, stock and status for eligibility.
select
    product_id as item_id,
    title,
    description,
    category,
    brand,
    price_band,
    in_stock,
    is_active,
    is_product,
    created_at,
    first_seen_at
from marts.dim_products
order by product_id
