-- Counts and timings of a run once its tables are complete.
update recs.runs
set n_customers = %(n_customers)s,
    n_rows = %(n_rows)s,
    n_similar = %(n_similar)s,
    n_popular = %(n_popular)s,
    timings = timings || %(timings)s,
    finished_at = %(finished_at)s
where run_id = %(run_id)s
