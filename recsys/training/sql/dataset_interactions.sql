-- Customer x product x day counts up to and including the run's logical date: the base of
-- the training matrix (recsys.training.dataset weighs them with the dbt vars).
select
    customer_id as user_id,
    product_id as item_id,
    event_date::timestamp as "timestamp",
    n_views,
    n_carts,
    n_purchases,
    n_ratings,
    rating
from marts.fct_interactions_daily
where event_date <= %(as_of)s
    and customer_id is not null
order by event_date, customer_id, product_id
