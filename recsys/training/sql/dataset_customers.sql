-- Customer attributes the hybrid model turns into user features (the mart is built as of
-- the run's logical date; customers without training interactions are ignored downstream).
select
    customer_id as user_id,
    country,
    rfm_segment,
    behaviour_segment,
    tenure_days,
    attributes
from marts.dim_customers
order by customer_id
