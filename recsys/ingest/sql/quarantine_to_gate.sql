-- Load batches the raw gate of a business date judges: every succeeded batch up to that
-- date not yet passed or released (new ones, and quarantined ones: a rerun checks them again).
select batch_id, source, file_name, logical_date, gate_status
from raw.load_batches
where status = 'succeeded'
    and gate_status in ('pending', 'quarantined')
    and logical_date <= %(logical_date)s
order by batch_id
