-- Every run in date order: the metric history of the training report.
select run_id, logical_date, status, metrics, training_seconds, gate_reason
from ml.model_runs
order by logical_date, recorded_at
