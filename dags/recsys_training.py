"""
### recsys_training

Trains tonight's LightFM hybrid once the validated marts are in (`warehouse_marts` asset).

1. `training_input_gate`: Great Expectations suite on the model's inputs (enough customers,
   products and interactions; density in a plausible band).
2. `train_and_evaluate`: temporal split (test = the last days up to the business date),
   LightFM hybrid with early stopping on a validation window carved from the training
   period, every baseline (popularity, trending, co-occurrence, pure collaborative LightFM,
   implicit ALS, SVD on stars) and the current champion evaluated by the same code; the
   artifact, an HTML report and an `ml.model_runs` row are written; the champion gate
   decides whether the new model serves.
3. `announce_model`: emits `champion_model` (with the run id and whether it was promoted),
   which triggers `recs_publish`. The previous champion keeps serving when the gate says no.
"""

from airflow.sdk import dag

from recsys_airflow.assets import WAREHOUSE_MARTS
from recsys_airflow.defaults import DAG_KWARGS, DEFAULT_ARGS
from recsys_airflow.operators.data_quality import DataQualityOperator
from recsys_airflow.tasks.common import resolve_business_date
from recsys_airflow.tasks.training import announce_model, train_and_evaluate


@dag(schedule=[WAREHOUSE_MARTS], default_args=DEFAULT_ARGS, doc_md=__doc__, **DAG_KWARGS)
def recsys_training():
    date = resolve_business_date()
    gate = DataQualityOperator(task_id="training_input_gate", suite="model_inputs")
    result = train_and_evaluate(date)
    date >> gate >> result
    announce_model(date, result)


recsys_training()
