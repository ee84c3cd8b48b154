-- The serving model steps down before another run becomes champion.
update ml.model_runs
set status = 'retired'
where status = 'champion'
    and run_id <> %(run_id)s
