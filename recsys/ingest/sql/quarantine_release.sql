-- An operator's release of a quarantined batch, recorded with the reason (one transaction).
with released as (
    update raw.load_batches
    set gate_status = 'released', gated_at = clock_timestamp()
    where batch_id = %(batch_id)s
        and gate_status = 'quarantined'
    returning batch_id
)
insert into dq.releases (batch_id, reason, released_by)
select batch_id, %(reason)s, %(released_by)s
from released
returning batch_id, released_at
