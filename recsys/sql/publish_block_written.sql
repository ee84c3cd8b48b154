-- Whether a block of a run was already written (a retried task skips it).
select n_rows
from recs.run_blocks
where run_id = %(run_id)s and kind = %(kind)s and block_key = %(block_key)s
