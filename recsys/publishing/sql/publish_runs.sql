-- Every run, newest first.
select run_id, status, context_date, model_version, k, n_customers, n_rows, n_similar, n_popular, timings,
       message, started_at, finished_at, published_at
from recs.runs
order by started_at desc, run_id desc
