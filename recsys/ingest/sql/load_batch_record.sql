insert into raw.load_batches (
    batch_id, source, file_name, file_sha256, logical_date,
    rows_read, rows_loaded, rows_rejected, started_at, finished_at, status
)
values (
    coalesce(%(batch_id)s, nextval(pg_get_serial_sequence('raw.load_batches', 'batch_id'))),
    %(source)s, %(file_name)s, %(sha256)s, %(logical_date)s,
    %(rows_read)s, %(rows_loaded)s, %(rows_rejected)s, coalesce(%(started_at)s, clock_timestamp()), clock_timestamp(),
    %(status)s
)
