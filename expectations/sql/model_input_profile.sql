-- One row: the size and shape of the training input, in one pass over it (grouping sets:
-- one group per user and one per item; grouping(customer_id) = 1 on the item groups).
-- A weight is invalid when missing, not positive, NaN or infinite (NaN sorts above every
-- number in PostgreSQL, so it fails "<= max_weight").
with per_key as (
    select
        grouping(customer_id) as is_item_group,
        customer_id,
        product_id,
        count(*) as n_rows,
        count(*) filter (where weight is null or not (weight > 0 and weight <= {max_weight})) as n_invalid_weights
    from {interactions}
    group by grouping sets ((customer_id), (product_id))
),

totals as (
    select
        coalesce(sum(n_rows) filter (where is_item_group = 0), 0) as n_interactions,
        count(*) filter (where is_item_group = 0 and customer_id is not null) as n_users,
        count(*) filter (where is_item_group = 1 and product_id is not null) as n_items,
        coalesce(sum(n_rows) filter (where is_item_group = 0 and customer_id is null), 0) as missing_customer_ids,
        coalesce(sum(n_rows) filter (where is_item_group = 1 and product_id is null), 0) as missing_product_ids,
        coalesce(sum(n_invalid_weights) filter (where is_item_group = 0), 0) as invalid_weights
    from per_key
)

select
    n_interactions::bigint as n_interactions,
    n_users,
    n_items,
    missing_customer_ids::bigint as missing_customer_ids,
    missing_product_ids::bigint as missing_product_ids,
    invalid_weights::bigint as invalid_weights,
    n_interactions::float8 / nullif(n_users::float8 * n_items, 0) as density
from totals
