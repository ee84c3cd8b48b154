-- What each customer did before the send date, one row per day, product and event type:
-- every purchase (exclusions, popularity, reasons) and recent views and carts (recent activity).
select customer_id as user_id, product_id as item_id, last_event_at as "timestamp", 'purchase' as event_type
from marts.fct_interactions_daily
where n_purchases > 0 and event_date < %(as_of)s
union all
select customer_id, product_id, last_event_at, 'cart'
from marts.fct_interactions_daily
where n_carts > 0 and event_date < %(as_of)s and event_date >= %(recent_since)s
union all
select customer_id, product_id, last_event_at, 'view'
from marts.fct_interactions_daily
where n_views > 0 and event_date < %(as_of)s and event_date >= %(recent_since)s
