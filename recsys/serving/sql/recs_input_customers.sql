-- Customers to score for a send date: active in the window, or signed up in it (cold start).
-- Their popularity level (cold start and fill-in) is the behavioural segment, which says
-- what they like, else the RFM segment (customers with no interaction yet).
select
    customer_id as user_id,
    country,
    coalesce(behaviour_segment, rfm_segment) as segment
from marts.dim_customers
where coalesce((last_event_at at time zone 'UTC')::date, signup_date) >= %(active_since)s
order by customer_id
