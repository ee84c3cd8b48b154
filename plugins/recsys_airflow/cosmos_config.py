"""astronomer-cosmos configuration for the dbt project.

Watcher execution mode: one task (``dbt.dbt_producer_watcher``) runs a single ``dbt build``
of the whole project (models, seeds and their tests, in dependency order, on dbt's own
threads), and every model and seed stays an Airflow task of its own that reports that
node's outcome (``<model>_run``), with one more per tested model for its tests
(``<model>_test``).  A data engineer still sees in the grid which model or test failed;
the night pays for one dbt start-up instead of one per model (docs/airflow.md has the
measurements that chose this mode).  The per-model tasks start once the build has ended:
they read its results and finish in a second, without waiting in the triggerer.

The profile comes from the ``warehouse_transformer`` connection (dbt runs as the
transformer role).  ``emit_datasets`` is off: cosmos builds per-model Asset URIs from the
host, which Airflow 3 rejects for a Unix-socket host (the embedded warehouse); the DAG
emits its own ``warehouse_marts`` Asset instead.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from airflow.sdk import TaskGroup, TriggerRule
from cosmos import ExecutionConfig, ProfileConfig, ProjectConfig, RenderConfig
from cosmos.constants import PRODUCER_WATCHER_TASK_ID, ExecutionMode, InvocationMode, LoadMode, TestBehavior
from cosmos.profiles import PostgresUserPasswordProfileMapping

from recsys_airflow.defaults import AIRFLOW_SETTINGS

DBT_PROJECT_DIR = Path(__file__).resolve().parents[2] / "dbt"
MANIFEST = DBT_PROJECT_DIR / "target" / "manifest.json"
#: Models dbt builds at once in the one ``dbt build``; most are small, so more threads than
#: cores overlap their round trips (docs/benchmarks.md).
DBT_THREADS = 4

PROJECT_CONFIG = ProjectConfig(
    dbt_project_path=DBT_PROJECT_DIR,
    manifest_path=MANIFEST if MANIFEST.exists() else None,
)

PROFILE_CONFIG = ProfileConfig(
    profile_name="recsys",
    target_name="warehouse",
    profile_mapping=PostgresUserPasswordProfileMapping(
        conn_id="warehouse_transformer", profile_args={"schema": "public", "threads": DBT_THREADS}
    ),
)

#: The producer writes every mart: it takes a slot of the warehouse writers' pool.
EXECUTION_CONFIG = ExecutionConfig(
    execution_mode=ExecutionMode.WATCHER,
    invocation_mode=InvocationMode.DBT_RUNNER,
    setup_operator_args={"pool": AIRFLOW_SETTINGS.writers_pool},
)

RENDER_CONFIG = RenderConfig(
    load_method=LoadMode.DBT_MANIFEST if MANIFEST.exists() else LoadMode.AUTOMATIC,
    test_behavior=TestBehavior.AFTER_EACH,
    emit_datasets=False,
)


def dbt_vars_for(business_date_task_id: str) -> dict[str, str]:
    """dbt vars templated from the task that resolved the run's business date."""
    return {"as_of_date": "{{ ti.xcom_pull(task_ids='" + business_date_task_id + "') }}"}


def report_after_build(group: TaskGroup) -> Any:
    """Start the per-node tasks of a watcher group once its ``dbt build`` has ended; the
    task running that build.

    cosmos starts them beside the build, so each defers to the triggerer and runs a second
    time when its node is done; after the build each reads its result at once (measured:
    26-32 s per warehouse_build against 37-45 s beside it).  They run whatever the build's
    outcome (``all_done``): a failed model's task fails and names it, a model dbt skipped
    after an upstream failure is reported failed.
    """
    producer: Any = group.children[f"{group.group_id}.{PRODUCER_WATCHER_TASK_ID}"]
    for task in group.iter_tasks():
        upstream_in_group = {t for t in task.upstream_task_ids if t.startswith(f"{group.group_id}.")}
        if task is producer or upstream_in_group:
            continue
        producer >> task
        task.trigger_rule = TriggerRule.ALL_DONE
    return producer
