"""The environment Airflow processes run in, built from the platform settings.

``make demo``, ``make airflow`` and the DAG tests all start Airflow through this, so the
``warehouse`` connection Airflow sees is the same warehouse the CLI uses.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping
from pathlib import Path

from recsys.platform.embedded import EMBEDDED_PASSWORD
from recsys.platform.roles import role_url
from recsys.platform.settings import Settings
from recsys.platform.warehouse import url_parts


def warehouse_connection_json(url: str) -> str:
    """An Airflow connection (JSON form of ``AIRFLOW_CONN_WAREHOUSE``) for ``url``.

    A socket connection trusts the local user; its password only fills the field that
    tools building profiles from a connection (cosmos) insist on.
    """
    p = url_parts(url)
    return json.dumps(
        {
            "conn_type": "postgres",
            "host": p.host,
            "port": p.port,
            "login": p.user,
            "password": p.password or (EMBEDDED_PASSWORD if p.is_socket else ""),
            "schema": p.dbname,
        }
    )


def airflow_environment(settings: Settings, url: str, base: Mapping[str, str] | None = None) -> dict[str, str]:
    """Variables for an Airflow subprocess: home, DAG and plugin folders, connection."""
    env = dict(os.environ if base is None else base)
    home = settings.home
    bin_dir = str(Path(sys.executable).parent)
    env.update(
        {
            "AIRFLOW_HOME": str(settings.airflow_home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(home / "dags"),
            "AIRFLOW__CORE__PLUGINS_FOLDER": str(home / "plugins"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__PARALLELISM": "4",
            "AIRFLOW__CORE__DAGBAG_IMPORT_TIMEOUT": "120",
            "AIRFLOW__COSMOS__ENABLE_CACHE": "True",
            "AIRFLOW__COSMOS__ENABLE_TELEMETRY": "False",
            "AIRFLOW_CONN_WAREHOUSE": warehouse_connection_json(url),
            "AIRFLOW_CONN_WAREHOUSE_TRANSFORMER": warehouse_connection_json(role_url(url, "transformer", settings)),
            "WAREHOUSE_URL": url,
            "RECSYS_HOME": str(home),
            "PATH": bin_dir + os.pathsep + env.get("PATH", ""),
            "PYTHONPATH": os.pathsep.join(p for p in (str(home / "plugins"), env.get("PYTHONPATH", "")) if p),
        }
    )
    for name, value in (("RECSYS_DATA_ROOT", settings.data_root), ("RECSYS_ARTIFACTS_ROOT", settings.artifacts_root)):
        if value is not None:
            env[name] = str(value)
    return env
