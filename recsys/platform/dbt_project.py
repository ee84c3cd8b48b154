"""The dbt project's vars, read by the Python code that must agree with the models.

Interaction weights, fee codes and price bands are declared once, as vars in
``dbt/dbt_project.yml``; training, serving and the quality gates read them here rather
than repeating them.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import yaml

log = logging.getLogger(__name__)

#: Where the dbt project lives in a checkout.
DEFAULT_DBT_PROJECT = Path(__file__).resolve().parents[2] / "dbt" / "dbt_project.yml"


def dbt_vars(dbt_project_file: Path = DEFAULT_DBT_PROJECT) -> dict[str, Any]:
    """The ``vars`` of a dbt project file, empty when the file is absent."""
    path = Path(dbt_project_file)
    if not path.exists():
        log.info("%s not found: dbt var defaults apply", path)
        return {}
    return (yaml.safe_load(path.read_text()) or {}).get("vars") or {}
