-- The run readers saw until now is kept as history (before the new one is promoted:
-- the one-current index is checked row by row).
update recs.runs
set status = 'previous'
where status = 'current' and run_id <> %(run_id)s
