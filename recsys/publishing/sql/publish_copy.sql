-- Bulk load of one block of a run's rows (recsys.pgio.copy_binary encodes them).
copy {table} ({columns}) from stdin (format binary)
