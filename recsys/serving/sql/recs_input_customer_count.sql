-- How many customers recs_input_customers.sql returns (to cut ranges without reading them).
select count(*)
from marts.dim_customers
where coalesce((last_event_at at time zone 'UTC')::date, signup_date) >= %(active_since)s
