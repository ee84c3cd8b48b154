"""Tasks of ``recsys_training``."""

from __future__ import annotations

import dataclasses
import datetime as dt

from airflow.sdk import Metadata, task

from recsys_airflow.assets import CHAMPION_MODEL
from recsys_airflow.dates import BUSINESS_DATE_KEY
from recsys_airflow.tasks.common import warehouse_url


@task(execution_timeout=dt.timedelta(hours=2))
def train_and_evaluate(business_date: str) -> dict:
    """Train the hybrid, evaluate it against baselines and the champion, apply the gate."""
    from recsys.platform.settings import get_settings
    from recsys.training.registry import git_revision
    from recsys.training.train import run_training

    settings = get_settings()
    result = run_training(
        warehouse_url("trainer"),
        dt.date.fromisoformat(business_date),
        settings.training,
        settings.evaluation,
        settings.artifacts_dir,
        git_revision=git_revision(settings.home),
    )
    return {k: v for k, v in dataclasses.asdict(result).items() if k != "metrics"}


@task(outlets=[CHAMPION_MODEL])
def announce_model(business_date: str, result: dict):
    """Tell ``recs_publish`` to score with the champion (new or kept) for the business date."""
    yield Metadata(
        CHAMPION_MODEL,
        extra={BUSINESS_DATE_KEY: business_date, "run_id": result["run_id"], "promoted": result["promoted"]},
    )
