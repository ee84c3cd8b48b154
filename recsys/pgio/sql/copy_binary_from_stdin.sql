-- Bulk load of rows encoded by recsys.pgio.copy_binary (publishing blocks, campaign audiences).
copy {table} ({columns}) from stdin (format binary)
