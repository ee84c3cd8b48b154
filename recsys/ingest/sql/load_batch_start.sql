-- Reserve a batch id up front: loaded rows carry it before the batch row is written.
select nextval(pg_get_serial_sequence('raw.load_batches', 'batch_id')) as batch_id, clock_timestamp() as started_at
