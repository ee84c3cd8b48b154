-- Point a reader-facing view at a run's table (same columns, so dependent views survive).
-- security_invoker: a reader needs select on the run tables itself (every reading role has it
-- by default privilege), so a view works whoever created the run's tables.
create or replace view {view} with (security_invoker = true) as select * from {table}
