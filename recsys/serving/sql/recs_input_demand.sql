-- Weekly purchases per product before the send date (seasonality).
select product_id, week_start, n_purchases
from marts.fct_product_weekly_demand
where week_start < %(as_of)s
