-- Point a reader-facing view at a run's table (same columns, so dependent views survive).
create or replace view {view} as select * from {table}
