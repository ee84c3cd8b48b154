"""Airflow on this machine (`make airflow`): the settings it runs with, switching the DAGs on,
and Ctrl-C."""

from __future__ import annotations

import os
import signal
import subprocess
import time
import uuid

import psutil
import psycopg
import pytest
from conftest import REPO

from recsys.cli.demo import DAG_IDS
from recsys.platform.airflow_env import settings_variables
from recsys.platform.airflow_local import AirflowApi, free_port
from recsys.platform.settings import get_settings


def test_the_callers_settings_reach_the_airflow_processes():
    settings = get_settings(
        {
            "RECSYS_TRAINING__EPOCHS": "7",
            "RECSYS_TRAINING__RECENT_WINDOWS": "7,28",
            "RECSYS_TRAINING__DETERMINISTIC": "false",
            "RECSYS_RULES__RULES_FILE": "",
            "RECSYS_AIRFLOW__HOME": "/tmp/airflow-home",
            "RECSYS_SHOP_OPENED": "2010-01-01",
        }
    )
    moved = settings.model_copy(update={"warehouse_db": "online_retail"})
    variables = settings_variables(moved)
    assert get_settings(variables) == moved
    assert "RECSYS_HOME" not in variables and "RECSYS_RECS__K" not in variables  # defaults stay unset


def _wait(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.5)


@pytest.mark.integration
@pytest.mark.slow
def test_make_airflow_runs_nothing_when_the_dags_are_switched_on_and_stops_on_ctrl_c(
    warehouse_db: str, server_url: str, tmp_path
) -> None:
    """As shipped the DAGs are paused; switching them all on starts no run (no start date, no
    catch-up, nothing queued for the asset-scheduled ones), and Ctrl-C stops every process."""
    port = free_port()
    meta_db = f"airflow_meta_{uuid.uuid4().hex[:8]}"
    env = {
        **os.environ,
        "WAREHOUSE_URL": warehouse_db,
        "RECSYS_AIRFLOW__HOME": str(tmp_path / "airflow"),
        "RECSYS_AIRFLOW__METADATA_DB": meta_db,
        "RECSYS_AIRFLOW__API_PORT": str(port),
        "RECSYS_DATA_ROOT": str(tmp_path / "data"),
    }
    make = subprocess.Popen(
        ["make", "--no-print-directory", "airflow"],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # its own process group, like a terminal's foreground job
    )
    api = AirflowApi(f"http://127.0.0.1:{port}")
    processes: list[psutil.Process] = []
    try:
        _wait(api.healthy, 180, "the API server and scheduler")
        _wait(lambda: api.dag_ids() >= DAG_IDS, 180, "the DAGs to be parsed")
        processes = psutil.Process(make.pid).children(recursive=True)
        for dag_id in DAG_IDS:
            api.set_paused(dag_id, False)
        time.sleep(10)  # a hundred scheduler loops
        runs = api.request("GET", "/api/v2/dags/~/dagRuns")
        assert runs["total_entries"] == 0, runs

        os.killpg(make.pid, signal.SIGINT)  # Ctrl-C
        output, _ = make.communicate(timeout=60)
    finally:
        if make.poll() is None:
            os.killpg(make.pid, signal.SIGKILL)
            make.wait()
        with psycopg.connect(server_url, autocommit=True) as conn:
            conn.execute(f'drop database if exists "{meta_db}" with (force)')
    assert "Airflow stopped" in output, output[-3000:]
    survivors = [p for p in processes if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
    assert survivors == [], [p.cmdline() for p in survivors]
