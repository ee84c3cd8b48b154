-- An empty run table gets a new file in this transaction: at wal_level=minimal the COPY
-- that follows is not WAL-logged (the file is synced at commit instead).
truncate {table}
