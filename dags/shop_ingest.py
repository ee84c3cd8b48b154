"""
### shop_ingest

Loads one business day of shop data into the `raw` schema.

1. `load_landing_files`: every file in the landing folder dated on or before the business
   date that was not loaded yet (by SHA-256), via COPY; bad rows go to `raw.rejected_rows`.
2. `load_shop_oltp`: new and changed rows of the shop's own PostgreSQL (Airflow connection
   `shop_oltp`) read by `updated_at` watermark; skipped when that connection is not set.
3. `raw_quality_gate`: Great Expectations suites on the batches just loaded. A failure
   stops here, before the warehouse is rebuilt.
4. `announce_raw_data`: emits the `raw_shop_data` asset with the business date, which
   triggers `warehouse_build`.
"""

from airflow.sdk import dag

from recsys_airflow.defaults import DAG_KWARGS, DEFAULT_ARGS
from recsys_airflow.tasks.common import resolve_business_date
from recsys_airflow.tasks.ingest import announce_raw_data, load_landing_files, load_shop_oltp, raw_quality_gate


@dag(schedule="@daily", default_args=DEFAULT_ARGS, doc_md=__doc__, **DAG_KWARGS)
def shop_ingest():
    date = resolve_business_date()
    files = load_landing_files(date)
    oltp = load_shop_oltp(date)
    gate = raw_quality_gate(date, files, oltp)
    gate >> announce_raw_data(date)


shop_ingest()
