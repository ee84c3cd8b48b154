"""Shared fixtures: a real PostgreSQL for every integration test.

The server is the embedded ``pgserver`` one of the checkout (or ``WAREHOUSE_URL``'s
server); each test module that asks for ``warehouse_db`` gets a database of its own,
so modules are independent and can run in parallel workers.
"""

from __future__ import annotations

import os
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from hypothesis import settings as hypothesis_settings

from recsys.platform import embedded, warehouse
from recsys.platform.settings import get_settings

REPO = Path(__file__).resolve().parents[1]

# Airflow reads its configuration when first imported, by whichever test comes first.
os.environ.setdefault("AIRFLOW_HOME", str(REPO / ".airflow"))
os.environ.setdefault("AIRFLOW__CORE__DAGS_FOLDER", str(REPO / "dags"))
os.environ.setdefault("AIRFLOW__CORE__PLUGINS_FOLDER", str(REPO / "plugins"))
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
sys.path.insert(0, str(REPO / "plugins"))
SHARED = REPO.parent / "shared"

# CI replays the same examples every run (a red build must be reproducible); run with
# HYPOTHESIS_PROFILE=explore to search new ones while developing.
hypothesis_settings.register_profile("ci", derandomize=True)
hypothesis_settings.register_profile("explore", max_examples=200)
hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
ONLINE_RETAIL = SHARED / "data" / "online_retail" / "online_retail.csv.gz"
TEST_DATA = Path(__file__).resolve().parent / "data"


@pytest.fixture(scope="session")
def server_url() -> str:
    """Admin URL of the server tests create their databases on."""
    settings = get_settings()
    if settings.warehouse_url:
        return warehouse.with_database(settings.warehouse_url, "postgres")
    return embedded.start_embedded(settings)


def _new_database(server_url: str, label: str) -> str:
    name = f"test_{label}_{uuid.uuid4().hex[:8]}".lower()
    warehouse.ensure_database(server_url, name)
    return warehouse.with_database(server_url, name)


def _drop_database(server_url: str, url: str) -> None:
    name = warehouse.url_parts(url).dbname
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f'drop database if exists "{name}" with (force)')


@pytest.fixture(scope="module")
def warehouse_db(server_url, request) -> Iterator[str]:
    """URL of a fresh database with the platform schemas, dropped after the module."""
    label = Path(request.module.__file__).stem.replace("test_", "")[:20]
    url = _new_database(server_url, label)
    warehouse.ensure_schemas(url)
    yield url
    if not os.environ.get("KEEP_TEST_DATABASES"):
        _drop_database(server_url, url)


@pytest.fixture
def online_retail_path() -> Path:
    """The full UCI Online Retail file from ../shared (skips when absent)."""
    if not ONLINE_RETAIL.exists():
        pytest.skip(f"{ONLINE_RETAIL} not present: the shared data folder is not beside this checkout")
    return ONLINE_RETAIL
