-- The key of a run's table, built once after the bulk load (cheaper than maintaining it).
create unique index {index} on {table} ({columns})
