"""Run the dbt project in-process and hand back its results as data.

dbt reads its connection from ``<settings.dbt_profiles_dir>/profiles.yml`` (profile
``recsys``), written here from the warehouse URL, so dbt, the CLI and Airflow (through
astronomer-cosmos, which needs the file to be called exactly ``profiles.yml``) all build
the same warehouse.  ``dbt parse`` needs no database: it gets a placeholder profile, which
keeps manifest generation possible on a machine without the warehouse.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from recsys.platform.settings import Settings
from recsys.platform.warehouse import url_parts

PROFILE_NAME = "recsys"
TARGET_NAME = "warehouse"
#: Schema for anything without a folder schema (the models all have one, see
#: dbt/macros/generate_schema_name.sql).
DEFAULT_SCHEMA = "marts"
#: dbt commands this module runs; anything else is a programming error.
COMMANDS = frozenset({("build",), ("run",), ("test",), ("seed",), ("parse",), ("docs", "generate")})
#: Node statuses that make a run fail (dependents of a failed node are "skipped").
FAILED_STATUSES = frozenset({"error", "fail", "runtime error"})
#: Used by ``dbt parse``, which never connects.
PLACEHOLDER_URL = "postgresql://postgres@localhost:5432/warehouse"


@dataclass(frozen=True)
class NodeResult:
    """Outcome of one dbt node (model, test, seed, unit test)."""

    unique_id: str
    name: str
    resource_type: str
    status: str
    execution_time: float
    message: str | None = None
    failures: int | None = None

    @property
    def failed(self) -> bool:
        return self.status in FAILED_STATUSES


@dataclass(frozen=True)
class DbtResult:
    """Outcome of one dbt invocation.

    Attributes
    ----------
    command : tuple of str
        The dbt command, e.g. ``("build",)`` or ``("docs", "generate")``.
    success : bool
        dbt's own verdict (false when any node errored or failed, or dbt raised).
    nodes : tuple of NodeResult
        Per-node status and timing, in execution order (empty for ``parse``/``docs``).
    elapsed : float
        Wall-clock seconds of the invocation.
    error : str or None
        The exception dbt raised before or outside node execution (compilation, connection).
    """

    command: tuple[str, ...]
    success: bool
    nodes: tuple[NodeResult, ...]
    elapsed: float
    error: str | None = None

    @property
    def failed_nodes(self) -> tuple[NodeResult, ...]:
        return tuple(node for node in self.nodes if node.failed)

    def summary(self) -> dict[str, int]:
        """Number of nodes per status, e.g. ``{"success": 14, "pass": 60}``."""
        counts: dict[str, int] = {}
        for node in self.nodes:
            counts[node.status] = counts.get(node.status, 0) + 1
        return counts


class DbtError(RuntimeError):
    """A dbt invocation failed; the message names the failed nodes and why."""

    def __init__(self, result: DbtResult):
        self.result = result
        super().__init__(describe_failure(result))


def describe_failure(result: DbtResult) -> str:
    """One readable message for a failed run: the failed nodes first, then dbt's error."""
    command = "dbt " + " ".join(result.command)
    lines = []
    if result.failed_nodes:
        lines.append(f"{command} failed on {len(result.failed_nodes)} node(s):")
        lines += [f"  {n.unique_id} [{n.status}]: {(n.message or '').strip()}" for n in result.failed_nodes]
    if result.error:
        lines.append(f"{command} failed: {result.error}")
    if not lines:
        lines.append(f"{command} failed without a node error; see dbt/logs/dbt.log")
    return "\n".join(lines)


def profile_config(url: str, *, threads: int = 2) -> dict[str, Any]:
    """The ``profiles.yml`` content for the warehouse behind ``url``.

    A Unix-socket server gets its socket folder as ``host``, which libpq (and so
    dbt-postgres) understands.
    """
    if threads < 1:
        raise ValueError(f"threads must be >= 1, got {threads}")
    parts = url_parts(url)
    output = {
        "type": "postgres",
        "host": parts.host,
        "port": parts.port,
        "user": parts.user,
        "password": parts.password,
        "dbname": parts.dbname,
        "schema": DEFAULT_SCHEMA,
        "threads": threads,
    }
    return {PROFILE_NAME: {"target": TARGET_NAME, "outputs": {TARGET_NAME: output}}}


def write_profile(url: str, profiles_dir: Path, *, threads: int = 2) -> Path:
    """Write ``<profiles_dir>/profiles.yml`` for ``url`` (owner-only: it may hold a password)."""
    profiles_dir.mkdir(parents=True, exist_ok=True)
    path = profiles_dir / "profiles.yml"
    path.write_text(yaml.safe_dump(profile_config(url, threads=threads), sort_keys=False))
    path.chmod(0o600)
    return path


def dbt_args(
    command: Sequence[str],
    *,
    project_dir: Path,
    profiles_dir: Path,
    target_path: Path | None = None,
    as_of_date: dt.date | None = None,
    select: Sequence[str] = (),
    full_refresh: bool = False,
) -> list[str]:
    """The dbt command line for one invocation.

    ``as_of_date`` becomes the dbt var of the same name: the logical date every "as of"
    model is bounded by.  A ``target_path`` of its own (and logs beside it) lets
    concurrent invocations avoid each other's artifacts.
    """
    command = tuple(command)
    if command not in COMMANDS:
        raise ValueError(f"unsupported dbt command {' '.join(command)!r}; use one of {sorted(COMMANDS)}")
    if full_refresh and command not in {("build",), ("run",), ("seed",)}:
        raise ValueError(f"--full-refresh applies to build, run and seed, not {' '.join(command)}")
    args = [*command, "--project-dir", str(project_dir), "--profiles-dir", str(profiles_dir)]
    if target_path is not None:
        args += ["--target-path", str(target_path), "--log-path", str(target_path / "logs")]
    if as_of_date is not None:
        args += ["--vars", json.dumps({"as_of_date": as_of_date.isoformat()})]
    for selector in select:
        args += ["--select", selector]
    if full_refresh:
        args.append("--full-refresh")
    if command == ("docs", "generate"):
        args.append("--static")  # one self-contained HTML file a person can open
    return args


def _node_results(raw_result: Any) -> tuple[NodeResult, ...]:
    """Per-node results of build/run/test/seed; other commands return no node list."""
    results = getattr(raw_result, "results", None) or ()
    return tuple(
        NodeResult(
            unique_id=r.node.unique_id,
            name=r.node.name,
            resource_type=str(r.node.resource_type),
            status=str(r.status),
            execution_time=float(r.execution_time or 0.0),
            message=r.message,
            failures=r.failures,
        )
        for r in results
    )


def invoke(args: Sequence[str], *, check: bool = True) -> DbtResult:
    """Run dbt with ``args`` through ``dbtRunner`` in this process.

    Raises
    ------
    DbtError
        When ``check`` and the invocation failed; the message names the failed nodes.
    """
    from dbt.cli.main import dbtRunner  # imported lazily: dbt takes a second to import

    command = tuple(args[:2]) if tuple(args[:2]) == ("docs", "generate") else (args[0],)
    started = time.perf_counter()
    raw = dbtRunner().invoke(list(args))
    result = DbtResult(
        command=command,
        success=bool(raw.success),
        nodes=_node_results(raw.result),
        elapsed=time.perf_counter() - started,
        error=None if raw.exception is None else f"{type(raw.exception).__name__}: {raw.exception}",
    )
    if check and not result.success:
        raise DbtError(result)
    return result


def run_dbt(
    settings: Settings,
    url: str,
    command: Sequence[str],
    *,
    as_of_date: dt.date | None = None,
    select: Sequence[str] = (),
    full_refresh: bool = False,
    profiles_dir: Path | None = None,
    target_path: Path | None = None,
    threads: int = 2,
    check: bool = True,
) -> DbtResult:
    """Write the profile for ``url`` and run one dbt command on the project.

    Parameters
    ----------
    settings : Settings
        Gives the project folder and the default profiles folder.
    url : str
        Warehouse URL (``recsys.platform.warehouse.warehouse_url(settings)``).
    command : sequence of str
        ``("build",)``, ``("run",)``, ``("test",)``, ``("seed",)``, ``("parse",)`` or
        ``("docs", "generate")``.
    as_of_date : date, optional
        The run's logical date; unset, the models use the latest loaded date.
    select : sequence of str
        dbt selectors (``--select``), e.g. ``("fct_events+",)``.
    profiles_dir, target_path : Path, optional
        Override the profile folder and dbt's target folder (tests and concurrent runs).

    Raises
    ------
    DbtError
        When ``check`` and dbt failed; the message names the failed nodes.
    """
    # One profile folder per warehouse: concurrent runs on different databases
    # (tests, a demo beside a benchmark) must not overwrite each other's profile.
    profiles_dir = profiles_dir or settings.dbt_profiles_dir / hashlib.sha256(url.encode()).hexdigest()[:12]
    write_profile(url, profiles_dir, threads=threads)
    args = dbt_args(
        command,
        project_dir=settings.dbt_project_dir,
        profiles_dir=profiles_dir,
        target_path=target_path,
        as_of_date=as_of_date,
        select=select,
        full_refresh=full_refresh,
    )
    return invoke(args, check=check)


def parse_project(settings: Settings, *, target_path: Path | None = None) -> Path:
    """Parse the project without a database and return the path of ``manifest.json``.

    astronomer-cosmos renders the Airflow tasks from this manifest, so it must be
    producible on a machine where the warehouse is not running.
    """
    target_path = target_path or settings.dbt_project_dir / "target"
    with tempfile.TemporaryDirectory(prefix="recsys-dbt-profile-") as profiles_dir:
        run_dbt(
            settings,
            PLACEHOLDER_URL,
            ("parse",),
            profiles_dir=Path(profiles_dir),
            target_path=target_path,
        )
    return target_path / "manifest.json"


def project_vars(settings: Settings) -> dict[str, Any]:
    """The ``vars`` of ``dbt_project.yml`` (interaction weights, half-life, fee codes, ...).

    ``recsys.training.dataset`` weighs interactions with these same values, so the training matrix
    and ``int_user_item_interactions`` agree.
    """
    path = settings.dbt_project_dir / "dbt_project.yml"
    if not path.exists():
        raise FileNotFoundError(f"{path} not found: settings.home must be the repository root")
    from recsys.platform.dbt_project import (
        dbt_vars,  # one reader of dbt_project.yml's vars
    )

    return dict(dbt_vars(path))
