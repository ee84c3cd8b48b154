-- The model that serves now (none before the first promotion).
select run_id, logical_date, artifact_path, artifact_checksum, metrics
from ml.model_runs
where status = 'champion'
