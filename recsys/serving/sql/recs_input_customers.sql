-- Customers to score for a send date: active in the window, or signed up in it (cold start).
select
    customer_id as user_id,
    country,
    rfm_segment as segment
from marts.dim_customers
where coalesce((last_event_at at time zone 'UTC')::date, signup_date) >= %(active_since)s
order by customer_id
