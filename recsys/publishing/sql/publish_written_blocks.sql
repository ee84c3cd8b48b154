-- The blocks of a run's table written so far (a retried task skips them; none written
-- lets the first block truncate the table).
select block_key
from recs.run_blocks
where run_id = %(run_id)s and kind = %(kind)s
