-- Recency, orders and spend of every customer with an event (the dbt run's as-of date).
select
    customer_id,
    last_event_date,
    frequency,
    monetary
from intermediate.int_customer_activity
