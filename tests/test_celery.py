"""The nightly chain on Airflow's CeleryExecutor: a real Redis, two real Celery workers, the
real scheduler, API server, DAG processor and triggerer, on a small generated shop.

One business date runs through all four DAGs as the scheduler chains them (``shop_ingest``
triggered, the others by their assets).  The mapped scoring ranges of ``recs_publish`` spread
over both workers; one worker is killed (SIGKILL, with every process under it) while it
scores a range, the scheduler notices the missing heartbeat, and the range is retried on the
other worker.  The published run then equals, row for row and bit for bit, what the
single-process path (``recsys publish run``) publishes for the same date, champion and ranges.
"""

from __future__ import annotations

import os
import shutil
import time
import uuid

import psycopg
import pytest

from recsys.generator.shop import generate_shop, landing_dates
from recsys.generator.spec import shop_spec
from recsys.platform.airflow_local import LocalAirflow, local_workers
from recsys.platform.dbt_runner import parse_project
from recsys.platform.settings import get_settings
from recsys.publishing import job, runs

pytestmark = [
    pytest.mark.integration,
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("redis-server") is None, reason="redis-server not installed: run `make redis`"),
]

DAG_IDS = ("shop_ingest", "warehouse_build", "recsys_training", "recs_publish")
RANGE_TASK = "score_customer_range"
#: Published columns that name the run rather than its content.
RUN_COLUMNS = {"run_id", "generated_at"}


def _only_run(stack: LocalAirflow, dag_id: str) -> dict:
    found = stack.api.request("GET", f"/api/v2/dags/{dag_id}/dagRuns")["dag_runs"]
    assert len(found) == 1, found
    return found[0]


def _wait_for(condition, timeout: float, what: str, stack: LocalAirflow, poll: float = 0.1):
    deadline = time.monotonic() + timeout
    while not (value := condition()):
        stack.check_alive()
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(poll)
    return value


def _tries(stack: LocalAirflow, dag_id: str, run_id: str) -> list[dict]:
    """Every try of every task instance of a run (a retried range has several)."""
    tries = []
    for ti in stack.api.task_instances(dag_id, run_id):
        index = ti["map_index"]
        path = f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{ti['task_id']}"
        path += f"/{index}/tries" if index >= 0 else "/tries"
        tries += stack.api.request("GET", path)["task_instances"]
    return tries


def _published(url: str, run_id: str) -> list[tuple]:
    table = runs.table_name("user_recommendations", run_id)
    with psycopg.connect(url) as conn:
        columns = [
            name
            for (name,) in conn.execute(
                "select column_name from information_schema.columns "
                "where table_schema = 'recs' and table_name = %s order by ordinal_position",
                (table.split(".", 1)[1],),
            ).fetchall()
            if name not in RUN_COLUMNS
        ]
        return conn.execute(f"select {', '.join(columns)} from {table} order by customer_id, rank").fetchall()


def test_the_nightly_chain_on_two_celery_workers_survives_a_killed_worker(warehouse_db, server_url, tmp_path):
    meta_db = f"airflow_meta_{uuid.uuid4().hex[:8]}"
    settings = get_settings(
        {
            **os.environ,
            "WAREHOUSE_URL": warehouse_db,
            "RECSYS_DATA_ROOT": str(tmp_path / "data"),
            "RECSYS_ARTIFACTS_ROOT": str(tmp_path / "artifacts"),
            "RECSYS_AIRFLOW__HOME": str(tmp_path / "airflow"),
            "RECSYS_AIRFLOW__METADATA_DB": meta_db,
            "RECSYS_AIRFLOW__SCORING_RANGE_SIZE": "150",  # ten ranges of the tiny shop's customers
            "RECSYS_AIRFLOW__RETRY_DELAY_SECONDS": "1",
        }
    )
    spec = shop_spec("tiny")
    generate_shop(spec, settings.landing_dir, daily_days=0, with_truth=False)
    day, _ = landing_dates(spec, 0)
    parse_project(settings)
    lost_worker = {
        # A worker that stops heartbeating is declared lost after 15 s (default 5 minutes).
        "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT": "15",
        "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT_DETECTION_INTERVAL": "2",
    }
    workers = local_workers(settings)
    assert [w.name for w in workers] == ["worker1", "worker2"]
    try:
        with LocalAirflow(settings, warehouse_db, workers=workers, env=lost_worker) as stack:
            stack.wait_for_dags(set(DAG_IDS))
            for dag_id in DAG_IDS:
                stack.api.set_paused(dag_id, False)
            stack.api.trigger("shop_ingest", f"celery__{day}", day)

            publish = _wait_for(
                lambda: stack.api.request("GET", "/api/v2/dags/recs_publish/dagRuns")["dag_runs"],
                900,
                "recs_publish to be triggered by the chain",
                stack,
                poll=1.0,
            )[0]

            def range_on_worker1():
                return next(
                    (
                        ti
                        for ti in stack.api.task_instances("recs_publish", publish["dag_run_id"])
                        if ti["task_id"] == RANGE_TASK
                        and ti["state"] == "running"
                        and (ti["hostname"] or "").startswith("worker1@")
                    ),
                    None,
                )

            killed = _wait_for(range_on_worker1, 300, "a scoring range running on worker1", stack)
            stack.kill_worker("worker1")
            for dag_id in DAG_IDS:
                done = stack.wait_for_run(dag_id, _only_run(stack, dag_id)["dag_run_id"], timeout=600)
                assert done["state"] == "success", (dag_id, done)
            tries = {dag_id: _tries(stack, dag_id, _only_run(stack, dag_id)["dag_run_id"]) for dag_id in DAG_IDS}
    finally:
        with psycopg.connect(server_url, autocommit=True) as conn:
            conn.execute(f'drop database if exists "{meta_db}" with (force)')

    every_try = [t for dag_tries in tries.values() for t in dag_tries]
    assert {t["hostname"].split("@")[0] for t in every_try if t["hostname"]} == {"worker1", "worker2"}
    training = [t for t in tries["recsys_training"] if t["task_id"] == "train_and_evaluate"]
    assert [(t["queue"], t["hostname"].split("@")[0]) for t in training] == [("training", "worker1")]

    ranges = [t for t in tries["recs_publish"] if t["task_id"] == RANGE_TASK]
    assert {t["queue"] for t in ranges} == {"scoring"}
    assert {t["hostname"].split("@")[0] for t in ranges} == {"worker1", "worker2"}, "ranges spread over both"
    killed_tries = sorted((t for t in ranges if t["map_index"] == killed["map_index"]), key=lambda t: t["try_number"])
    assert killed_tries[0]["hostname"].startswith("worker1@") and killed_tries[0]["state"] != "success"
    assert killed_tries[-1]["hostname"].startswith("worker2@") and killed_tries[-1]["state"] == "success"

    with psycopg.connect(warehouse_db) as conn:
        (celery_run,) = conn.execute("select run_id from recs.runs where status = 'current'").fetchone()
    # The same customer ranges in one process: scores are float32 products, whose last bit
    # depends on the shape of the block BLAS multiplies, so the ranges are cut alike.
    single = job.publish_for_date(warehouse_db, settings, day, range_size=settings.airflow.scoring_range_size)
    assert runs.get_run(warehouse_db, celery_run).n_rows == single.n_rows > 0
    assert _published(warehouse_db, celery_run) == _published(warehouse_db, single.run_id)
