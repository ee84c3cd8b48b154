"""A generated shop run night after night through the platform's own steps.

Each night does what ``shop_ingest`` and ``warehouse_build`` do, calling the same
functions their tasks call, each as its component's role: load the day's landing files,
the raw gate, ``dbt build``, the behavioural segments and the rebuild of
``dim_customers+``, the mart gate.  :func:`train_and_publish` then does what
``recsys_training`` and ``recs_publish`` do.  No Airflow: the DAG wiring has its own tests;
these builds feed the tests of what the nights produce (segments, stock, BI).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

from recsys.generator.shop import generate_shop, landing_dates
from recsys.generator.spec import ShopSpec
from recsys.ingest.landing import load_landing
from recsys.platform import dbt_runner, roles
from recsys.platform.settings import Settings
from recsys.segments.clusters import SegmentFit
from recsys.segments.store import DBT_REBUILD, fit_night


@dataclass
class Nights:
    """A shop's warehouse and what its nights produced."""

    url: str
    settings: Settings
    spec: ShopSpec
    landing: Path
    dates: list[dt.date]
    fits: dict[dt.date, SegmentFit] = field(default_factory=dict)

    def as_role(self, component: str) -> str:
        return roles.role_url(self.url, component, self.settings)

    def dbt(self, day: dt.date, select: tuple[str, ...] = ()) -> dbt_runner.DbtResult:
        return dbt_runner.run_dbt(
            self.settings,
            self.as_role("transformer"),
            ("build",),
            as_of_date=day,
            select=select,
            target_path=self.settings.data_dir / "dbt_target",
        )


def generated_nights(url: str, settings: Settings, spec: ShopSpec, daily_days: int) -> Nights:
    """The shop's landing files (history up to the day before the first daily date); no night run yet."""
    landing = settings.landing_dir
    generate_shop(spec, landing, daily_days=daily_days, with_truth=False)
    history_day, daily = landing_dates(spec, daily_days)
    return Nights(url, settings, spec, landing, [history_day, *daily])


def run_night(nights: Nights, day: dt.date, *, gates: bool = True) -> None:
    """One night of ``shop_ingest`` and ``warehouse_build`` for ``day``."""
    from recsys.ingest import quarantine
    from recsys_expectations import gate
    from recsys_expectations.gates import raw_gate

    results = load_landing(nights.as_role("loader"), nights.landing, day)
    if gates:
        raw_gate(nights.as_role("quality"), nights.settings, day, f"test_raw__{day}", build_docs=False)
    else:
        quarantine.record_verdicts(
            nights.as_role("quality"), [r.batch_id for r in results if r.batch_id is not None and not r.skipped], []
        )
    nights.dbt(day)
    nights.fits[day] = fit_night(nights.as_role("trainer"), day, nights.settings.segments)
    nights.dbt(day, DBT_REBUILD)
    if gates:
        gate(nights.as_role("quality"), "marts", day, f"test_marts__{day}", settings=nights.settings, build_docs=False)


def train_and_publish(nights: Nights, day: dt.date) -> None:
    """``recsys_training`` and ``recs_publish`` for ``day`` (the output gate included)."""
    from recsys.publishing.job import publish_for_date
    from recsys.training.train import run_training
    from recsys_expectations.gates import recommendations_gate

    settings = nights.settings
    run_training(nights.as_role("trainer"), day, settings.training, settings.evaluation, settings.artifacts_dir)
    publish_for_date(
        nights.as_role("publisher"),
        settings,
        day,
        validate=recommendations_gate(nights.as_role("quality"), settings, day, build_docs=False),
    )
