"""docker-compose.yml is the production layout; no engine runs here, so check its shape.

The same executor runs for real on one machine in tests/test_celery.py.
"""

import shlex
from pathlib import Path

import yaml

from recsys.platform.settings import AirflowConfig

COMPOSE = yaml.safe_load((Path(__file__).resolve().parents[1] / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]
WORKERS = ("airflow-worker", "airflow-worker-training")
AIRFLOW_SERVICES = (
    "airflow-init",
    "airflow-apiserver",
    "airflow-scheduler",
    "airflow-dag-processor",
    "airflow-triggerer",
    *WORKERS,
)
DEFAULTS = AirflowConfig()


def _requirements_pin(name: str) -> str:
    for line in (Path(__file__).resolve().parents[1] / "requirements.txt").read_text().splitlines():
        if line.startswith(f"{name}=="):
            return line.split("==")[1].split()[0]
    raise AssertionError(f"{name} not pinned in requirements.txt")


def _queues(service: str) -> set[str]:
    command = SERVICES[service]["command"]
    return set(command[command.index("--queues") + 1].split(","))


def test_services_present():
    assert {"warehouse", "airflow-metadata", "redis", *AIRFLOW_SERVICES} <= set(SERVICES)


def test_databases_are_postgres_16_with_healthchecks():
    for name in ("warehouse", "airflow-metadata"):
        service = SERVICES[name]
        assert service["image"] == "postgres:16"
        assert "pg_isready" in " ".join(service["healthcheck"]["test"])


def test_airflow_uses_official_image_of_pinned_version_with_the_celery_provider():
    pinned = _requirements_pin("apache-airflow")
    _requirements_pin("apache-airflow-providers-celery")
    _requirements_pin("redis")
    for name in AIRFLOW_SERVICES:
        build = SERVICES[name]["build"]
        assert f"FROM apache/airflow:{pinned}-" in build["dockerfile_inline"]
        assert "requirements.txt" in build["dockerfile_inline"]


def test_airflow_mounts_repo_and_points_at_warehouse():
    for name in AIRFLOW_SERVICES:
        service = SERVICES[name]
        assert "./:/opt/recsys" in service["volumes"]
        env = service["environment"]
        assert env["AIRFLOW__CORE__DAGS_FOLDER"] == "/opt/recsys/dags"
        assert "@warehouse:5432/warehouse" in env["AIRFLOW_CONN_WAREHOUSE"]
        assert "@airflow-metadata:5432/" in env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]


def test_every_airflow_process_runs_the_celery_executor_on_the_redis_broker():
    assert "redis-cli" in SERVICES["redis"]["healthcheck"]["test"]
    for name in AIRFLOW_SERVICES:
        env = SERVICES[name]["environment"]
        assert env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
        assert env["AIRFLOW__CELERY__BROKER_URL"].startswith("redis://redis:6379/")
        assert env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == "http://airflow-apiserver:8080/execution/"
        assert SERVICES[name]["depends_on"]["redis"]["condition"] == "service_healthy"
    secrets = {SERVICES[name]["environment"]["AIRFLOW__API_AUTH__JWT_SECRET"] for name in AIRFLOW_SERVICES}
    assert len(secrets) == 1, "the scheduler's task tokens must verify in the API server"


def test_workers_scale_and_serve_the_dags_queues():
    for name in WORKERS:
        service = SERVICES[name]
        assert service["command"][:3] == ["airflow", "celery", "worker"]
        # `docker compose up --scale` needs services without a fixed name or host port.
        assert "container_name" not in service and "ports" not in service
        assert "airflow-logs:/opt/airflow/logs" in service["volumes"], "task logs shared with the API server"
    assert {"default", DEFAULTS.scoring_queue} <= _queues("airflow-worker")
    assert _queues("airflow-worker-training") == {DEFAULTS.training_queue}


def test_init_creates_the_warehouse_writers_pool_the_dags_use():
    command = shlex.split(SERVICES["airflow-init"]["command"][-1].replace("&&", ";"))
    at = command.index("pools")
    assert command[at : at + 4] == ["pools", "set", DEFAULTS.writers_pool, str(DEFAULTS.writers_slots)]
