"""DAG integrity (imports, tasks, retries, schedules) and a data-quality gate in a real DAG run."""

from __future__ import annotations

import csv
import datetime as dt
import os
import sqlite3
import subprocess
import sys

import psycopg
import pytest
from airflow.sdk import RetryAction
from conftest import REPO

from recsys.ingest.layout import LoadError
from recsys.platform.airflow_env import airflow_environment
from recsys.platform.dbt_runner import parse_project
from recsys.platform.settings import get_settings
from recsys_airflow.defaults import AIRFLOW_SETTINGS as AIRFLOW
from recsys_airflow.defaults import RETRY_POLICY

EXPECTED_TASKS = {
    "shop_ingest": {
        "resolve_business_date",
        "load_landing_files",
        "load_shop_oltp",
        "raw_quality_gate",
        "announce_raw_data",
    },
    "warehouse_build": {
        "resolve_business_date",
        "mart_quality_gate",
        "announce_marts",
        "dbt.dbt_producer_watcher",
        "dbt.fct_events.run",
        "dbt.fct_events.test",
        "dbt.dim_customers_run",
        "dbt.dim_products.run",
        "fit_behaviour_segments",
        "rebuild_segmented_marts",
        "notify_stock_alerts",
    },
    "recsys_training": {"resolve_business_date", "training_input_gate", "train_and_evaluate", "announce_model"},
    "recs_publish": {
        "resolve_business_date",
        "begin_publish_run",
        "customer_ranges",
        "score_customer_range",
        "check_and_swap",
        "announce_published",
    },
    "crm_campaigns": {"resolve_business_date", "plan_campaigns", "deliver_campaign"},
    "crm_results": {"resolve_business_date", "measure_campaigns", "campaign_report"},
}


@pytest.fixture(scope="module")
def dagbag():
    """Every DAG of dags/, parsed the way the scheduler parses them, with no warehouse reachable."""
    manifest = REPO / "dbt" / "target" / "manifest.json"
    if not manifest.exists():
        parse_project(get_settings())
    os.environ["AIRFLOW_CONN_WAREHOUSE"] = '{"conn_type": "postgres", "host": "unreachable.invalid", "password": "x"}'
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(REPO / "dags"))


def test_every_dag_imports(dagbag):
    assert dagbag.import_errors == {}
    assert set(dagbag.dag_ids) == set(EXPECTED_TASKS)


#: What a DAG file must not import at parse time: the scheduler parses every file often,
#: so models, data quality and dbt are imported inside the tasks that need them.
HEAVY_AT_PARSE = (
    "lightfm",
    "implicit",
    "great_expectations",
    "recsys.training",
    "recsys.serving",
    "recsys.publishing",
    "recsys_expectations",
    "dbt.cli",
)


def test_parsing_the_dags_imports_no_heavy_module():
    script = (
        "import sys\n"
        "from airflow.dag_processing.dagbag import DagBag\n"
        f"bag = DagBag(dag_folder={str(REPO / 'dags')!r})\n"
        "assert not bag.import_errors, bag.import_errors\n"
        f"print(sorted(m for m in sys.modules if m.startswith({HEAVY_AT_PARSE!r})))\n"
    )
    env = {**os.environ, "AIRFLOW_CONN_WAREHOUSE": '{"conn_type": "postgres", "host": "unreachable.invalid"}'}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == "[]"


@pytest.mark.parametrize("dag_id", sorted(EXPECTED_TASKS))
def test_expected_tasks(dagbag, dag_id):
    dag = dagbag.dags[dag_id]
    assert EXPECTED_TASKS[dag_id] <= set(dag.task_ids)


@pytest.mark.parametrize("dag_id", sorted(EXPECTED_TASKS))
def test_retries_callbacks_and_run_limits(dagbag, dag_id):
    dag = dagbag.dags[dag_id]
    assert dag.max_active_runs == 1
    assert dag.catchup is False
    assert dag.is_paused_upon_creation is True
    assert dag.start_date is None, "a start date makes switching the DAG on run the interval just passed"
    assert "recsys" in dag.tags
    assert dag.doc_md and dag_id in dag.doc_md
    for t in dag.tasks:
        assert t.retries >= 1, f"{dag_id}.{t.task_id} has no retries"
        assert t.retry_policy is RETRY_POLICY, f"{dag_id}.{t.task_id} retries whatever failed"
        assert t.on_failure_callback, f"{dag_id}.{t.task_id} has no failure callback"


@pytest.mark.parametrize(
    ("error", "action"),
    [
        (psycopg.OperationalError("server closed the connection unexpectedly"), RetryAction.RETRY),
        (ConnectionResetError(), RetryAction.RETRY),
        (LoadError("events.csv: file lacks column(s) event_id"), RetryAction.FAIL),
        (psycopg.errors.InvalidTextRepresentation("bad date"), RetryAction.FAIL),
        (KeyError("bug"), RetryAction.FAIL),
    ],
)
def test_only_errors_a_retry_can_cure_are_retried(error, action):
    assert RETRY_POLICY.evaluate(error, try_number=1, max_tries=3).action == action


def test_switching_the_nightly_dag_on_runs_nothing_until_its_next_night(dagbag):
    """No start date, no catch-up: the first run is the next midnight, not the one just passed."""
    from airflow.serialization.encoders import coerce_to_core_timetable
    from airflow.timetables.base import TimeRestriction

    timetable = coerce_to_core_timetable(dagbag.dags["shop_ingest"].timetable)
    now = dt.datetime.now(dt.UTC)
    first = timetable.next_dagrun_info(
        last_automated_data_interval=None, restriction=TimeRestriction(earliest=None, latest=None, catchup=False)
    )
    assert first is not None
    assert now < first.run_after <= now + dt.timedelta(days=1)
    assert first.run_after.time() == dt.time(0, 0)


def test_every_dbt_model_is_a_task_reporting_after_one_build(dagbag):
    """Watcher mode: one `dbt build` task, then a task per model and seed (and per tested model)."""
    import json

    manifest = json.loads((REPO / "dbt" / "target" / "manifest.json").read_text())
    nodes = [n for n in manifest["nodes"].values() if n["resource_type"] in {"model", "seed"}]
    dag = dagbag.dags["warehouse_build"]
    producer = dag.get_task("dbt.dbt_producer_watcher")
    for node in nodes:
        suffix = "seed" if node["resource_type"] == "seed" else "run"
        found = {f"dbt.{node['name']}_{suffix}", f"dbt.{node['name']}.{suffix}"} & set(dag.task_ids)
        assert found, f"dbt {node['resource_type']} {node['name']} has no task"
    reporters = [t for t in dag.tasks if t.task_id.startswith("dbt.") and t is not producer]
    for task in reporters:
        assert producer.task_id in task.get_flat_relative_ids(upstream=True), f"{task.task_id} runs before the build"
    assert producer.pool == AIRFLOW.writers_pool
    assert {t.task_id for t in producer.downstream_list if t.trigger_rule == "all_done"}, "roots report any outcome"


def test_heavy_tasks_have_their_queues_and_writers_share_a_pool(dagbag):
    publish, training, ingest = (dagbag.dags[d] for d in ("recs_publish", "recsys_training", "shop_ingest"))
    assert training.get_task("train_and_evaluate").queue == AIRFLOW.training_queue
    scoring = publish.get_task("score_customer_range")
    assert (scoring.queue, scoring.pool) == (AIRFLOW.scoring_queue, AIRFLOW.writers_pool)
    for task in (publish.get_task("check_and_swap"), ingest.get_task("load_landing_files")):
        assert task.pool == AIRFLOW.writers_pool


def test_assets_chain_the_dags(dagbag):
    def outlets(dag_id):
        return {a.name for t in dagbag.dags[dag_id].tasks for a in t.outlets}

    assert outlets("shop_ingest") == {"raw_shop_data"}
    assert outlets("warehouse_build") == {"warehouse_marts"}
    assert outlets("recsys_training") == {"champion_model"}
    assert outlets("recs_publish") == {"published_recommendations"}
    assert "raw_shop_data" in str(dagbag.dags["warehouse_build"].timetable.asset_condition)
    assert "warehouse_marts" in str(dagbag.dags["recsys_training"].timetable.asset_condition)
    assert "champion_model" in str(dagbag.dags["recs_publish"].timetable.asset_condition)
    assert "published_recommendations" in str(dagbag.dags["crm_campaigns"].timetable.asset_condition)
    assert "warehouse_marts" in str(dagbag.dags["crm_results"].timetable.asset_condition)


def test_gates_come_before_what_they_protect(dagbag):
    ingest = dagbag.dags["shop_ingest"]
    assert "announce_raw_data" in ingest.get_task("raw_quality_gate").downstream_task_ids
    build = dagbag.dags["warehouse_build"]
    assert "announce_marts" in build.get_task("mart_quality_gate").downstream_task_ids
    assert build.get_task("mart_quality_gate").upstream_task_ids == {"rebuild_segmented_marts"}, "after dbt"
    assert build.get_task("fit_behaviour_segments").upstream_task_ids >= {"dbt.dbt_producer_watcher"}
    assert {t.task_id for t in build.get_task("announce_marts").upstream_list} >= {"mart_quality_gate"}
    assert "dbt.bi_recommendations.test" in build.get_task("announce_marts").upstream_task_ids
    training = dagbag.dags["recsys_training"]
    assert "train_and_evaluate" in training.get_task("training_input_gate").downstream_task_ids


def test_segments_are_fitted_after_dbt_and_joined_before_the_gate(dagbag):
    build = dagbag.dags["warehouse_build"]
    fit = build.get_task("fit_behaviour_segments")
    assert any(task_id.startswith("dbt.") for task_id in fit.upstream_task_ids), "the fit reads what dbt built"
    assert fit.downstream_task_ids == {"rebuild_segmented_marts"}
    assert "mart_quality_gate" in build.get_task("rebuild_segmented_marts").downstream_task_ids
    assert build.get_task("notify_stock_alerts").upstream_task_ids >= {"mart_quality_gate"}


def _write_events(path, day: dt.date, n: int, anonymous_share: float) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["event_id", "customer_id", "session_id", "event_type", "product_id", "event_ts", "price", "rating"])
        for i in range(n):
            customer = "" if i < n * anonymous_share else f"c{i % 40}"
            ts = dt.datetime.combine(day, dt.time(10)) + dt.timedelta(minutes=i)
            w.writerow([f"e{i}", customer, f"s{i // 4}", "view", f"p{i % 25}", ts.isoformat(), "9.99", ""])


def _shop_ingest_env(warehouse_db: str, tmp_path) -> dict[str, str]:
    """The environment of ``airflow dags test`` on the landing folder under ``tmp_path``
    (SQLite metadata in ``tmp_path / "airflow"``, migrated)."""
    settings = get_settings(
        {
            **os.environ,
            "WAREHOUSE_URL": warehouse_db,
            "RECSYS_DATA_ROOT": str(tmp_path / "data"),
            "RECSYS_ARTIFACTS_ROOT": str(tmp_path / "artifacts"),
            "RECSYS_AIRFLOW__HOME": str(tmp_path / "airflow"),
        }
    )
    env = airflow_environment(settings, warehouse_db)
    subprocess.run(["airflow", "db", "migrate"], env=env, check=True, capture_output=True)
    return env


def _test_shop_ingest(env: dict[str, str], day: dt.date) -> tuple[dict[str, tuple[str, int]], str]:
    """``airflow dags test shop_ingest DAY``: ``{task_id: (state, try_number)}`` of that run and the output."""
    run = subprocess.run(
        ["airflow", "dags", "test", "shop_ingest", day.isoformat()], env=env, capture_output=True, text=True
    )
    with sqlite3.connect(os.path.join(env["AIRFLOW_HOME"], "airflow.db")) as meta:
        (latest,) = meta.execute(
            "select run_id from dag_run where dag_id = 'shop_ingest' order by id desc limit 1"
        ).fetchone()
        rows = meta.execute(
            "select task_id, state, try_number from task_instance where dag_id = 'shop_ingest' and run_id = ?",
            (latest,),
        )
        states = {task: (state, tries) for task, state, tries in rows.fetchall()}
    return states, run.stdout + run.stderr


@pytest.mark.integration
@pytest.mark.slow
def test_raw_gate_stops_shop_ingest(warehouse_db, tmp_path):
    """30 % of events without a customer: the raw gate fails, again on a rerun, until a recorded release."""
    day = dt.date(2024, 1, 10)
    _write_events(tmp_path / "data" / "landing" / "events" / f"events_{day}.csv", day, 400, anonymous_share=0.3)
    env = _shop_ingest_env(warehouse_db, tmp_path)
    states, log = _test_shop_ingest(env, day)
    assert states["load_landing_files"][0] == "success"
    assert states["raw_quality_gate"] == ("failed", 1)
    assert states["announce_raw_data"][0] == "upstream_failed"
    assert "raw.events" in log and "customer_id" in log and "quarantined" in log

    with psycopg.connect(warehouse_db) as conn:
        failed = conn.execute(
            "select expectation, observed_value from dq.validation_results "
            "where table_name = 'raw.events' and not success and severity = 'error'"
        ).fetchall()
        (batch_id,) = conn.execute("select batch_id from raw.load_batches where gate_status = 'quarantined'").fetchone()
    assert any("customer_id" in e and "30" in str(o) for e, o in failed), failed

    rerun, _ = _test_shop_ingest(env, day)  # the file is skipped as loaded, but the gate judges the batch again
    assert rerun["load_landing_files"][0] == "success" and rerun["raw_quality_gate"][0] == "failed"
    assert rerun["announce_raw_data"][0] == "upstream_failed"

    released = subprocess.run(
        ["recsys", "dq", "release", str(batch_id), "--reason", "guest checkout campaign", "--by", "ops"],
        env=env,
        capture_output=True,
        text=True,
    )
    assert released.returncode == 0, released.stderr
    after, _ = _test_shop_ingest(env, day)
    assert after["raw_quality_gate"][0] == "success" and after["announce_raw_data"][0] == "success"


@pytest.mark.integration
@pytest.mark.slow
def test_a_bad_landing_file_fails_its_task_at_once(warehouse_db, tmp_path):
    """A file without the events' key column: the load fails on its first try, no retry waits."""
    day = dt.date(2024, 1, 11)
    path = tmp_path / "data" / "landing" / "events" / f"events_{day}.csv"
    path.parent.mkdir(parents=True)
    path.write_text("customer_id,event_type,product_id,event_ts\nc1,view,p1,2024-01-11T10:00:00\n")
    states, log = _test_shop_ingest(_shop_ingest_env(warehouse_db, tmp_path), day)
    assert states["load_landing_files"] == ("failed", 1), states
    assert states["raw_quality_gate"][0] == "upstream_failed"
    assert "lacks column(s) event_id" in log
