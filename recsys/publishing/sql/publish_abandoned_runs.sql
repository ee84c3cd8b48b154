-- Runs left 'building' by a publish that died (killed, crashed) before a newer run was
-- published: nothing will finish them, so they fail and their tables go.
update recs.runs
set status = 'failed',
    message = 'abandoned: still building when run ' || %(run_id)s || ' was published',
    finished_at = coalesce(finished_at, clock_timestamp())
where status = 'building'
    and started_at < (select started_at from recs.runs where run_id = %(run_id)s)
returning run_id
