"""
### warehouse_build

Builds the warehouse for one business date once raw shop data has landed.

1. `resolve_business_date`: the date from the run (manual, `airflow dags test`) or from the
   `raw_shop_data` asset event of `shop_ingest`.
2. `dbt`: one `dbt build` of the project (`dbt_producer_watcher`, astronomer-cosmos'
   watcher mode), then every model and seed of `dbt/` as its own task reporting that
   model's outcome (`<model>_run`) and its tests' (`<model>_test`): staging,
   intermediate, marts.
3. `mart_quality_gate`: Great Expectations suites on the marts (keys, referential
   integrity, volume and distribution bands, freshness), as soon as the build has
   succeeded, beside the per-model tasks. A failure stops here.
4. `announce_marts`: once the gate and every model's task succeeded, emits the
   `warehouse_marts` asset with the business date, which triggers `recsys_training`.
"""

from airflow.sdk import dag
from cosmos import DbtTaskGroup

from recsys_airflow.assets import RAW_SHOP_DATA
from recsys_airflow.cosmos_config import (
    EXECUTION_CONFIG,
    PROFILE_CONFIG,
    PROJECT_CONFIG,
    RENDER_CONFIG,
    dbt_vars_for,
    report_after_build,
)
from recsys_airflow.defaults import DAG_KWARGS, DEFAULT_ARGS
from recsys_airflow.operators.data_quality import DataQualityOperator
from recsys_airflow.tasks.common import resolve_business_date
from recsys_airflow.tasks.warehouse import announce_marts


@dag(schedule=[RAW_SHOP_DATA], default_args=DEFAULT_ARGS, doc_md=__doc__, **DAG_KWARGS)
def warehouse_build():
    date = resolve_business_date()
    dbt = DbtTaskGroup(
        group_id="dbt",
        project_config=PROJECT_CONFIG,
        profile_config=PROFILE_CONFIG,
        execution_config=EXECUTION_CONFIG,
        render_config=RENDER_CONFIG,
        operator_args={"vars": dbt_vars_for("resolve_business_date"), "install_deps": False},
    )
    built = report_after_build(dbt)
    gate = DataQualityOperator(task_id="mart_quality_gate", suite="marts")
    date >> dbt
    built >> gate  # the marts are built: the gate need not wait for every model's report
    [gate, dbt] >> announce_marts(date)


warehouse_build()
