"""The folder tree is the architecture: imports point one way, from the edges inward.

Each package may import only the packages listed for it below (and itself); a lower layer
importing an upper one, or the model code importing the quality package, fails here.
The same table is drawn in docs/architecture.md.
"""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

import pytest
from conftest import REPO

#: package -> the packages it may import (besides itself and third-party libraries).
ALLOWED: dict[str, set[str]] = {
    "recsys.contracts": set(),
    "recsys.platform": {"recsys.contracts"},
    "recsys.pgio": {"recsys.platform"},
    "recsys.ranking": set(),
    "recsys.generator": {"recsys.contracts"},
    "recsys.ingest": {"recsys.contracts", "recsys.platform", "recsys.pgio"},
    "recsys.training": {"recsys.contracts", "recsys.platform", "recsys.pgio", "recsys.ranking"},
    "recsys.serving": {"recsys.platform", "recsys.pgio", "recsys.ranking", "recsys.training"},
    "recsys.publishing": {"recsys.platform", "recsys.pgio", "recsys.serving", "recsys.training"},
    "recsys.segments": {"recsys.platform", "recsys.pgio"},
    "recsys.stock": {"recsys.platform"},
    "recsys.bi": {"recsys.platform"},
    "recsys.campaigns": {"recsys.contracts", "recsys.platform", "recsys.pgio", "recsys.publishing"},
    "recsys_expectations": {"recsys.contracts", "recsys.platform", "recsys.pgio", "recsys.ingest"},
}
#: The edges: they wire everything and nothing imports them.
EDGES = {"recsys.cli", "recsys_airflow", "recsys_bench", "dags"}
FOLDERS = {
    "recsys_expectations": REPO / "expectations",
    "recsys_bench": REPO / "bench",
    "recsys_airflow": REPO / "plugins" / "recsys_airflow",
    "dags": REPO / "dags",
}


def _package_of(module: str) -> str | None:
    for package in [*ALLOWED, *EDGES]:
        if module == package or module.startswith(package + "."):
            return package
    return None


def _modules() -> dict[str, Path]:
    """Every first-party module file, named by the package it belongs to."""
    found = {}
    for path in (REPO / "recsys").rglob("*.py"):
        parts = path.relative_to(REPO).with_suffix("").parts
        found[".".join(parts)] = path
    for package, folder in FOLDERS.items():
        for path in folder.rglob("*.py"):
            found[".".join((package, *path.relative_to(folder).with_suffix("").parts))] = path
    return found


def imports_of(module: str, path: Path) -> set[str]:
    """Absolute names of the first-party modules a file imports (relative imports resolved)."""
    names = set()
    package_parts = module.split(".")[:-1] if path.name != "__init__.py" else module.split(".")
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package_parts[: len(package_parts) - node.level + 1] + ([base] if base else []))
            names.add(base)
            names |= {f"{base}.{alias.name}" for alias in node.names}
    return {
        n
        for n in names
        if n.split(".")[0]
        in {"recsys", "recsys_expectations", "recsys_bench", "recsys_airflow", "expectations", "bench"}
    }


def violations(modules: dict[str, Path]) -> list[str]:
    found = []
    for module, path in sorted(modules.items()):
        own = _package_of(module)
        if own is None or own in EDGES:
            continue
        for name in sorted(imports_of(module, path)):
            target = _package_of(name)
            if name.split(".")[0] in {"expectations", "bench"}:
                found.append(f"{module} imports {name}: use the installed name recsys_{name.split('.')[0]}")
            elif target in EDGES:
                found.append(f"{module} imports the edge {name}")
            elif target is not None and target != own and target not in ALLOWED[own]:
                found.append(f"{module} ({own}) imports {name} ({target})")
    return found


def test_imports_point_one_way():
    assert violations(_modules()) == []


def test_every_package_is_in_the_table():
    packages = {
        ".".join(p.relative_to(REPO).parts)
        for p in (REPO / "recsys").iterdir()
        if p.is_dir() and (p / "__init__.py").exists()
    }
    assert packages <= set(ALLOWED) | EDGES, "a new sub-package needs its row in ALLOWED"


def test_a_lower_layer_importing_an_upper_one_is_caught(tmp_path):
    bad = tmp_path / "loading.py"
    bad.write_text("from recsys.serving import recommend\nfrom recsys_expectations import gates\n")
    assert violations({"recsys.ingest.loading": bad}) == [
        "recsys.ingest.loading (recsys.ingest) imports recsys.serving (recsys.serving)",
        "recsys.ingest.loading (recsys.ingest) imports recsys.serving.recommend (recsys.serving)",
        "recsys.ingest.loading (recsys.ingest) imports recsys_expectations (recsys_expectations)",
        "recsys.ingest.loading (recsys.ingest) imports recsys_expectations.gates (recsys_expectations)",
    ]
    relative = tmp_path / "train.py"
    relative.write_text("from ..serving import recommend\nfrom . import models\n")
    assert violations({"recsys.training.train": relative}) == [
        "recsys.training.train (recsys.training) imports recsys.serving (recsys.serving)",
        "recsys.training.train (recsys.training) imports recsys.serving.recommend (recsys.serving)",
    ]


@pytest.mark.parametrize("package", sorted(set(ALLOWED) | {"recsys.cli"}))
def test_every_package_is_installed(package):
    declared = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]
    assert package in declared
