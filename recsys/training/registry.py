"""The model registry (``ml.model_runs``) and the champion gate.

Each training run writes one row: run id, logical date, data window, parameters, the
metrics of the model and every baseline, artifact path and checksum, report path, git
revision, status and the gate's reason.  ``status`` is ``champion`` for the one model that
serves (a partial unique index keeps it unique), ``retired`` for former champions,
``rejected`` for runs the gate turned down and ``failed`` for runs that raised.

The run id is the logical date plus a hash of the parameters, so rerunning a date with the
same configuration overwrites its own row and artifact instead of piling up duplicates.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import subprocess
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path

import pandas as pd
from psycopg.types.json import Jsonb

from recsys.pgio import frames
from recsys.platform import warehouse
from recsys.platform.settings import EvaluationConfig
from recsys.platform.sqlfiles import SqlFiles

_sql = SqlFiles(__name__)

GATE_METRIC = "ndcg@10"
CHAMPION, REJECTED, RETIRED, FAILED = "champion", "rejected", "retired", "failed"


@dataclass(frozen=True)
class GateDecision:
    """Whether the candidate serves, and the sentence the run row keeps about why."""

    promote: bool
    reason: str


def champion_gate(
    candidate: Mapping[str, float],
    champion: Mapping[str, float] | None,
    popularity: Mapping[str, float],
    config: EvaluationConfig,
    *,
    baselines: Mapping[str, Mapping[str, float]] | None = None,
) -> GateDecision:
    """Promote only a model that holds up against the champion and beats the baselines.

    Every comparison uses NDCG@10 on the same test window and users: the candidate needs
    at least ``champion - champion_tolerance``, at least
    ``popularity * (1 + min_lift_over_popularity)`` (and more than popularity at all), and
    at least ``(1 + min_lift_over_baselines)`` times the best of ``baselines`` (the tuned
    EASE, RP3beta and recent popularity).
    """
    score, floor = candidate[GATE_METRIC], popularity[GATE_METRIC]
    needed = floor * (1 + config.min_lift_over_popularity)
    if not score > floor or score < needed:
        return GateDecision(
            False,
            f"{GATE_METRIC} {score:.4f} is not clearly above popularity's {floor:.4f} "
            f"(needs >= {needed:.4f}, lift {config.min_lift_over_popularity:.0%})",
        )
    versus = ""
    if baselines:
        best = max(baselines, key=lambda name: baselines[name][GATE_METRIC])
        best_score = baselines[best][GATE_METRIC]
        if score < best_score * (1 + config.min_lift_over_baselines):
            return GateDecision(
                False,
                f"{GATE_METRIC} {score:.4f} is below the best baseline, {best} {best_score:.4f} "
                f"(needs lift {config.min_lift_over_baselines:.0%})",
            )
        versus = ", " + ", ".join(f"{name} {values[GATE_METRIC]:.4f}" for name, values in baselines.items())
    if champion is None:
        return GateDecision(True, f"first champion: {GATE_METRIC} {score:.4f} vs popularity {floor:.4f}{versus}")
    incumbent = champion[GATE_METRIC]
    if score < incumbent - config.champion_tolerance:
        return GateDecision(
            False,
            f"{GATE_METRIC} {score:.4f} is below the champion's {incumbent:.4f} "
            f"minus tolerance {config.champion_tolerance}: the champion keeps serving",
        )
    return GateDecision(
        True,
        f"{GATE_METRIC} {score:.4f} vs champion {incumbent:.4f} "
        f"(tolerance {config.champion_tolerance}) and popularity {floor:.4f}{versus}",
    )


@dataclass(frozen=True)
class RunRecord:
    """One row of ``ml.model_runs``."""

    run_id: str
    logical_date: dt.date
    params: dict
    status: str
    metrics: dict
    train_start: dt.date | None = None
    cutoff: dt.date | None = None
    test_end: dt.date | None = None
    artifact_path: str | None = None
    artifact_checksum: str | None = None
    report_path: str | None = None
    git_revision: str | None = None
    gate_reason: str | None = None
    training_seconds: float | None = None


def make_run_id(logical_date: dt.date, params: Mapping) -> str:
    """``YYYYMMDD-<hash of params>``: stable across reruns of the same date and settings."""
    digest = hashlib.sha256(json.dumps(params, sort_keys=True, default=str).encode()).hexdigest()[:10]
    return f"{pd.Timestamp(logical_date):%Y%m%d}-{digest}"


def record_run(url: str, record: RunRecord) -> None:
    """Write the run row; a champion retires the previous one in the same transaction."""
    if record.status not in (CHAMPION, REJECTED, FAILED):
        raise ValueError(f"a new run is champion, rejected or failed, not {record.status!r}")
    row = asdict(record) | {"params": Jsonb(record.params), "metrics": Jsonb(_json_safe(record.metrics))}
    with warehouse.transaction(url) as conn:
        if record.status == CHAMPION:
            conn.execute(_sql("registry_retire_champion.sql"), {"run_id": record.run_id})
        conn.execute(_sql("registry_upsert_run.sql"), row)


def _json_safe(value):
    """NaN is not JSON: metrics of empty slices become null."""
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_safe(v) for v in value]
    if isinstance(value, float) and value != value:
        return None
    return value


def current_champion(url: str) -> dict | None:
    """The serving run's id, date, artifact and metrics, or ``None`` before any promotion."""
    with warehouse.connect(url) as conn:
        rows = frames.query_frame(conn, _sql("registry_champion.sql")).to_dict("records")
    return rows[0] if rows else None


def run_history(url: str) -> pd.DataFrame:
    """Every run in date order (``run_id, logical_date, status, metrics, ...``)."""
    with warehouse.connect(url) as conn:
        return frames.query_frame(conn, _sql("registry_history.sql"))


def git_revision(repository: Path) -> str | None:
    """The checkout's commit, or ``None`` outside a git checkout (an installed package)."""
    try:
        result = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=repository, capture_output=True, text=True, timeout=10, check=True
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return result.stdout.strip() or None
