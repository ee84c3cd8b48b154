-- One run's bookkeeping row.
select run_id, status, context_date, model_version, k, n_customers, n_rows, n_similar, n_popular, timings,
       message, started_at, finished_at, published_at
from recs.runs
where run_id = %(run_id)s
