-- The rows of the given load batches.
select t.*
from {table} as t
where t._batch_id = any({batch_ids}::bigint[])
