"""The dbt source declaration of the raw tables, generated from the contract.

``dbt/models/staging/shop/_shop__sources.yml`` is written from :mod:`recsys.contracts.raw`
(``recsys dbt sources``) and a test fails when the committed file differs, so the
columns dbt documents are always the columns the loader writes.
"""

from __future__ import annotations

import json
from pathlib import Path

from jinja2 import Environment, PackageLoader, StrictUndefined

from recsys.contracts import raw

#: Where the generated file lives in a checkout, relative to the dbt project.
SOURCES_FILE = Path("models") / "staging" / "shop" / "_shop__sources.yml"


def _yaml_text(text: str) -> str:
    """A YAML scalar for free text: plain when safe, else double-quoted (JSON is valid YAML)."""
    plain = text and not any(c in text for c in ":#'\"{}[],&*!|>%@`") and text.strip() == text
    return text if plain else json.dumps(text)


def render() -> str:
    """The text of ``_shop__sources.yml`` for the declared sources."""
    env = Environment(loader=PackageLoader("recsys.contracts"), undefined=StrictUndefined, keep_trailing_newline=True)
    env.filters["yaml_text"] = _yaml_text
    return env.get_template("shop_sources.yml.j2").render(
        sources=list(raw.SOURCES.values()),
        batch_columns=raw.BATCH_COLUMNS,
        attributes_description=raw.ATTRIBUTES_DESCRIPTION,
    )


def write(dbt_project_dir: Path) -> Path:
    """Write the generated file into the dbt project; returns its path."""
    path = Path(dbt_project_dir) / SOURCES_FILE
    path.write_text(render())
    return path


def is_current(dbt_project_dir: Path) -> bool:
    """Whether the committed file is what the contract generates."""
    path = Path(dbt_project_dir) / SOURCES_FILE
    return path.exists() and path.read_text() == render()
