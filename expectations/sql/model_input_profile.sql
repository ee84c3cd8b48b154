-- One row: the size and shape of the training input.  Two passes: one grouped by item
-- (tens of thousands of groups: counts, missing ids and invalid weights ride along) and
-- one for the distinct users (a hash of bare ids; measured faster than one grouping-sets
-- pass carrying the counts for a million users).  A weight is invalid when missing, not
-- positive, NaN or infinite (NaN sorts above every number in PostgreSQL, so it fails
-- "<= max_weight").
with per_item as (
    select
        product_id,
        count(*) as n_rows,
        count(*) filter (where customer_id is null) as missing_customer_ids,
        count(*) filter (where weight is null or not (weight > 0 and weight <= {max_weight})) as invalid_weights
    from {interactions}
    group by product_id
),

users as (
    select count(*) as n_users
    from (select distinct customer_id from {interactions} where customer_id is not null) as u
),

totals as (
    select
        coalesce(sum(n_rows), 0)::bigint as n_interactions,
        (select n_users from users) as n_users,
        count(product_id) as n_items,
        coalesce(sum(n_rows) filter (where product_id is null), 0)::bigint as missing_product_ids,
        coalesce(sum(missing_customer_ids), 0)::bigint as missing_customer_ids,
        coalesce(sum(invalid_weights), 0)::bigint as invalid_weights
    from per_item
)

select
    n_interactions,
    n_users,
    n_items,
    missing_customer_ids,
    missing_product_ids,
    invalid_weights,
    n_interactions::float8 / nullif(n_users::float8 * n_items, 0) as density
from totals
