"""docker-compose.yml is the production layout; no engine runs here, so check its shape."""

from pathlib import Path

import yaml

COMPOSE = yaml.safe_load((Path(__file__).resolve().parents[1] / "docker-compose.yml").read_text())
AIRFLOW_SERVICES = (
    "airflow-init",
    "airflow-apiserver",
    "airflow-scheduler",
    "airflow-dag-processor",
    "airflow-triggerer",
)


def _requirements_pin(name: str) -> str:
    for line in (Path(__file__).resolve().parents[1] / "requirements.txt").read_text().splitlines():
        if line.startswith(f"{name}=="):
            return line.split("==")[1].split()[0]
    raise AssertionError(f"{name} not pinned in requirements.txt")


def test_services_present():
    assert {"warehouse", "airflow-metadata", *AIRFLOW_SERVICES} <= set(COMPOSE["services"])


def test_databases_are_postgres_16_with_healthchecks():
    for name in ("warehouse", "airflow-metadata"):
        service = COMPOSE["services"][name]
        assert service["image"] == "postgres:16"
        assert "pg_isready" in " ".join(service["healthcheck"]["test"])


def test_airflow_uses_official_image_of_pinned_version():
    pinned = _requirements_pin("apache-airflow")
    for name in AIRFLOW_SERVICES:
        build = COMPOSE["services"][name]["build"]
        assert f"FROM apache/airflow:{pinned}-" in build["dockerfile_inline"]
        assert "requirements.txt" in build["dockerfile_inline"]


def test_airflow_mounts_repo_and_points_at_warehouse():
    for name in AIRFLOW_SERVICES:
        service = COMPOSE["services"][name]
        assert "./:/opt/recsys" in service["volumes"]
        env = service["environment"]
        assert env["AIRFLOW__CORE__DAGS_FOLDER"] == "/opt/recsys/dags"
        assert "@warehouse:5432/warehouse" in env["AIRFLOW_CONN_WAREHOUSE"]
        assert "@airflow-metadata:5432/" in env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]
