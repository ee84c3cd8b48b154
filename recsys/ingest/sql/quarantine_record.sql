-- The gate's verdict on some batches (only batches still waiting for one change).
update raw.load_batches
set gate_status = %(gate_status)s, gated_at = clock_timestamp()
where batch_id = any(%(batch_ids)s::bigint[])
    and gate_status in ('pending', 'quarantined')
