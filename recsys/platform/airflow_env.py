"""The environment Airflow processes run in, built from the platform settings.

``make demo``, ``make airflow`` and the DAG tests all start Airflow through this, so the
``warehouse`` connection Airflow sees is the same warehouse the CLI uses, and every
setting the caller's :class:`Settings` holds (from its environment or set in code) reaches
the tasks as the ``RECSYS_`` variable that sets it.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping
from pathlib import Path

from pydantic import BaseModel, SecretStr

from recsys.platform.embedded import EMBEDDED_PASSWORD
from recsys.platform.roles import role_url
from recsys.platform.settings import ENV_PREFIX, Settings
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
    airflow_home = settings.airflow_home
    bin_dir = str(Path(sys.executable).parent)
    env.update(
        {
            "AIRFLOW_HOME": str(airflow_home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(home / "dags"),
            "AIRFLOW__CORE__PLUGINS_FOLDER": str(home / "plugins"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__PARALLELISM": str(settings.airflow.parallelism),
            "AIRFLOW__CORE__DAGBAG_IMPORT_TIMEOUT": "120",
            "AIRFLOW__COSMOS__ENABLE_CACHE": "True",
            # cosmos caches dbt's partial parse and profiles per DAG: not in /tmp, which every
            # checkout on the machine shares.
            "AIRFLOW__COSMOS__CACHE_DIR": str(airflow_home / "cosmos"),
            "AIRFLOW__COSMOS__ENABLE_TELEMETRY": "False",
            "AIRFLOW_CONN_WAREHOUSE": warehouse_connection_json(url),
            "AIRFLOW_CONN_WAREHOUSE_TRANSFORMER": warehouse_connection_json(role_url(url, "transformer", settings)),
            "WAREHOUSE_URL": url,
            "RECSYS_HOME": str(home),
            "PATH": bin_dir + os.pathsep + env.get("PATH", ""),
            "PYTHONPATH": os.pathsep.join(p for p in (str(home / "plugins"), env.get("PYTHONPATH", "")) if p),
        }
    )
    env.update(settings_variables(settings))
    return env


def settings_variables(model: BaseModel, prefix: str = ENV_PREFIX) -> dict[str, str]:
    """The ``RECSYS_`` variables that set the fields set on ``model`` (sections recursed;
    ``home`` and ``warehouse_url`` travel as ``RECSYS_HOME`` and ``WAREHOUSE_URL``)."""
    variables = {}
    travel_apart = {"home", "warehouse_url"} if isinstance(model, Settings) else set()
    for name in model.model_fields_set - travel_apart:
        value = getattr(model, name)
        variable = f"{prefix}{name.upper()}"
        if isinstance(value, BaseModel):
            variables.update(settings_variables(value, f"{variable}__"))
        elif isinstance(value, tuple):
            variables[variable] = ",".join(map(str, value))
        elif isinstance(value, bool):
            variables[variable] = str(value).lower()
        elif isinstance(value, SecretStr):
            variables[variable] = value.get_secret_value()
        else:
            variables[variable] = "" if value is None else str(value)
    return variables
