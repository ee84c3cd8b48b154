"""
### shop_ingest

Loads one business day of shop data into the `raw` schema.

1. `load_landing_files`: every file in the landing folder dated on or before the business
   date that was not loaded yet (by SHA-256), via COPY; bad rows go to `raw.rejected_rows`.
2. `load_shop_oltp`: new and changed rows of the shop's own PostgreSQL (Airflow connection
   `shop_oltp`) read by `updated_at` watermark; skipped when that connection is not set.
3. `raw_quality_gate`: Great Expectations raw suites on every load batch up to the business
   date that is new or quarantined, one batch at a time.  A failing batch is quarantined in
   `raw.load_batches` (staging never reads it) and the task fails; a rerun judges it again,
   so it stays failed until the file is replaced or `recsys dq release` records a release.
4. `announce_raw_data`: emits the `raw_shop_data` asset with the business date, which
   triggers `warehouse_build`.
"""

from airflow.sdk import dag

from recsys_airflow.defaults import DAG_KWARGS, DEFAULT_ARGS
from recsys_airflow.operators.data_quality import DataQualityOperator
from recsys_airflow.tasks.common import resolve_business_date
from recsys_airflow.tasks.ingest import announce_raw_data, load_landing_files, load_shop_oltp


@dag(schedule="@daily", default_args=DEFAULT_ARGS, doc_md=__doc__, **DAG_KWARGS)
def shop_ingest():
    date = resolve_business_date()
    gate = DataQualityOperator(task_id="raw_quality_gate", suite="raw", trigger_rule="none_failed")
    [load_landing_files(date), load_shop_oltp(date)] >> gate >> announce_raw_data(date)


shop_ingest()
