-- One row: the share of the user x item matrix that has an interaction.
select
    count(*)::float8
    / nullif(count(distinct customer_id)::float8 * count(distinct product_id), 0) as density
from {interactions}
