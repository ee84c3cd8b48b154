-- The catalogue: attributes for features and rules, stock and status for eligibility,
-- days of cover for the stock demotion.
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
    first_seen_at,
    days_of_cover
from marts.dim_products
order by product_id
