-- The rows of every load batch of the logical date.
select t.*
from {table} as t
where t._batch_id in (
    select b.batch_id
    from raw.load_batches as b
    where b.logical_date = {logical_date}
)
