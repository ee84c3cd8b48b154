-- Readers of the parent see the batch from the commit on (SHARE UPDATE EXCLUSIVE lock:
-- reads go on; another load of the same table waits).
alter table {parent} attach partition {partition} for values in ({batch_id})
