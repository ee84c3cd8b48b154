-- Rows that passed the client-side checks go straight into the raw table (COPY text format).
copy {table} ({columns}) from stdin
