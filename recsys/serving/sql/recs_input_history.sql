-- What each customer did before the send date, one row per day, product and event type:
-- purchases (exclusions, popularity, reasons), views and carts (the model's item neighbours
-- over the whole history; the recent-activity factor keeps its last recent_days itself).
select customer_id as user_id, product_id as item_id, last_event_at as "timestamp", 'purchase' as event_type
from marts.fct_interactions_daily
where n_purchases > 0 and event_date < %(as_of)s
union all
select customer_id, product_id, last_event_at, 'cart'
from marts.fct_interactions_daily
where n_carts > 0 and event_date < %(as_of)s
union all
select customer_id, product_id, last_event_at, 'view'
from marts.fct_interactions_daily
where n_views > 0 and event_date < %(as_of)s
