-- Volumes the training input gate judges: the training part (before the test cutoff)
-- and the test window [cutoff, end).
select
    count(*) filter (where event_date < %(cutoff)s) as train_rows,
    count(distinct customer_id) filter (where event_date < %(cutoff)s) as train_users,
    count(distinct product_id) filter (where event_date < %(cutoff)s) as train_items,
    count(*) filter (where event_date >= %(cutoff)s and event_date < %(end)s) as test_rows,
    count(distinct customer_id) filter (where event_date >= %(cutoff)s and event_date < %(end)s) as test_users,
    min(event_date) as first_date,
    max(event_date) filter (where event_date < %(end)s) as last_date
from marts.fct_interactions_daily
where customer_id is not null
