-- What a send file shows of each product (joined to the lists by recsys.publishing.exports).
select
    product_id,
    title,
    price::double precision as price,
    product_url,
    image_url
from crm.crm_products
