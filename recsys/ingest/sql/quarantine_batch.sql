-- One load batch's identity and states.
select batch_id, source, file_name, logical_date, status, gate_status
from raw.load_batches
where batch_id = %(batch_id)s
