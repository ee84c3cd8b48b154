-- A run that did not pass its checks; its tables stay for inspection until pruned.
update recs.runs
set status = 'failed', message = %(message)s, finished_at = %(finished_at)s
where run_id = %(run_id)s
