-- The run readers see from the commit on.
update recs.runs
set status = 'current', published_at = %(published_at)s
where run_id = %(run_id)s
