"""astronomer-cosmos configuration for the dbt project.

Each dbt model becomes an Airflow task running ``dbt build`` for that model (its tests
included), so a data engineer sees in the grid which model or test failed.  The profile
comes from the ``warehouse_transformer`` Airflow connection (dbt runs as the transformer role).  ``emit_datasets`` is off: cosmos
builds per-model Asset URIs from the host, which Airflow 3 rejects for a Unix-socket
host (the embedded warehouse); the DAG emits its own ``warehouse_marts`` Asset instead.
"""

from __future__ import annotations

from pathlib import Path

from cosmos import ExecutionConfig, ProfileConfig, ProjectConfig, RenderConfig
from cosmos.constants import InvocationMode, LoadMode, TestBehavior
from cosmos.profiles import PostgresUserPasswordProfileMapping

DBT_PROJECT_DIR = Path(__file__).resolve().parents[2] / "dbt"
MANIFEST = DBT_PROJECT_DIR / "target" / "manifest.json"

PROJECT_CONFIG = ProjectConfig(
    dbt_project_path=DBT_PROJECT_DIR,
    manifest_path=MANIFEST if MANIFEST.exists() else None,
)

PROFILE_CONFIG = ProfileConfig(
    profile_name="recsys",
    target_name="warehouse",
    profile_mapping=PostgresUserPasswordProfileMapping(
        conn_id="warehouse_transformer", profile_args={"schema": "public"}
    ),
)

EXECUTION_CONFIG = ExecutionConfig(invocation_mode=InvocationMode.DBT_RUNNER)

RENDER_CONFIG = RenderConfig(
    load_method=LoadMode.DBT_MANIFEST if MANIFEST.exists() else LoadMode.AUTOMATIC,
    test_behavior=TestBehavior.BUILD,
    should_detach_multiple_parents_tests=True,  # dbt tests on several models run after all of them
    emit_datasets=False,
)


def dbt_vars_for(business_date_task_id: str) -> dict[str, str]:
    """dbt vars templated from the task that resolved the run's business date."""
    return {"as_of_date": "{{ ti.xcom_pull(task_ids='" + business_date_task_id + "') }}"}
