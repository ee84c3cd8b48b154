-- The product feed CRM tools load (Braze catalogs, Klaviyo custom feeds): id first.
select
    product_id as id,
    title,
    product_url as link,
    price::double precision as price,
    image_url as image_link,
    category as categories,
    stock_level as inventory
from crm.crm_products
where is_product is not false and is_active is not false
order by product_id
