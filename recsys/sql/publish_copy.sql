-- Bulk load of one block of a run's rows.
copy {table} ({columns}) from stdin (format csv)
