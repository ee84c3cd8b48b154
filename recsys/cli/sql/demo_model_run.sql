-- The latest training run of a business date, for the demo's summary.
select run_id, status, gate_reason, report_path, metrics
from ml.model_runs
where logical_date = %(logical_date)s
order by recorded_at desc
limit 1
