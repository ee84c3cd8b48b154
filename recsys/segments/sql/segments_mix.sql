-- Each customer's interest shares per category and price band.
select
    customer_id,
    dimension,
    value,
    share,
    customer_products
from intermediate.int_customer_mix
