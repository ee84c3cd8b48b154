-- Where a registered model's artifact is (the model version of a publishing run).
select run_id, artifact_path, artifact_checksum
from ml.model_runs
where run_id = %(run_id)s
