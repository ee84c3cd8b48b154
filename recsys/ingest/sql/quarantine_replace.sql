-- A new content of a file replaces its quarantined earlier contents: they are never read.
update raw.load_batches
set gate_status = 'replaced', gated_at = clock_timestamp()
where source = %(source)s
    and file_name = %(file_name)s
    and batch_id <> %(batch_id)s
    and gate_status = 'quarantined'
