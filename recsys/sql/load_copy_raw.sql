-- Rows that passed the client-side checks go straight into the raw table.
copy {table} ({columns}) from stdin (format csv)
