"""A failed raw gate stays failed on a rerun until the file is replaced or a release is recorded.

The issue this guards against: a rerun of a business date skipped the already-loaded bad
file, the gate checked zero new rows and passed, and negative prices reached the marts.
Here the verdict lives on the batch: every rerun judges a quarantined batch again, staging
reads only admitted batches, and the release command is the only way through.
"""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import pytest
from conftest import REPO

from recsys.ingest import quarantine
from recsys.ingest.landing import load_landing
from recsys.platform import dbt_runner, roles, warehouse
from recsys.platform.settings import Settings
from recsys_expectations import DataQualityError
from recsys_expectations.gates import raw_gate

pytestmark = pytest.mark.integration
DAY = dt.date(2011, 11, 30)
HEADER = ["event_id", "customer_id", "session_id", "event_type", "product_id", "event_ts", "price", "rating"]


@pytest.fixture
def settings(warehouse_db, tmp_path) -> Settings:
    return Settings(
        home=REPO, warehouse_url=warehouse_db, data_root=tmp_path / "data", artifacts_root=tmp_path / "artifacts"
    )


def write_events(landing: Path, name: str, tag: str, *, price: str = "4.50", anonymous: float = 0.0) -> None:
    path = landing / "events" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(HEADER)
        for i in range(200):
            customer = "" if i < 200 * anonymous else f"c{i % 30}"
            ts = dt.datetime.combine(DAY, dt.time(9), dt.UTC) + dt.timedelta(minutes=i)
            writer.writerow([f"{tag}-{i}", customer, f"s{i // 4}", "purchase", f"p{i % 9}", ts.isoformat(), price, ""])


def gate_state(url: str, batch_id: int) -> str:
    with warehouse.connect(url) as conn:
        return warehouse.one_row(
            conn.execute("select gate_status from raw.load_batches where batch_id = %s", (batch_id,))
        )[0]


def admitted_rows(settings: Settings, url: str, batch_id: int) -> int:
    """Rows of a batch that dbt's staging model reads (built for real, as the nightly build does)."""
    dbt_runner.run_dbt(
        settings,
        roles.role_url(url, "transformer", settings),
        ("run",),
        select=["stg_shop__load_batches", "stg_shop__events"],
        target_path=settings.data_dir / "dbt_target",
    )
    with warehouse.connect(url) as conn:
        return warehouse.one_row(
            conn.execute("select count(*) from staging.stg_shop__events where batch_id = %s", (batch_id,))
        )[0]


def test_a_rerun_judges_the_quarantined_batch_again_and_staging_never_reads_it(warehouse_db, settings, tmp_path):
    landing = tmp_path / "landing"
    write_events(landing, f"events_{DAY}.csv", "neg", price="-999.99")
    (batch,) = load_landing(warehouse_db, landing, DAY)
    with pytest.raises(DataQualityError, match=rf"batch {batch.batch_id} \(events events_{DAY}.csv.*quarantined"):
        raw_gate(warehouse_db, settings, DAY, "first", build_docs=False)
    assert gate_state(warehouse_db, batch.batch_id) == quarantine.QUARANTINED

    (again,) = load_landing(warehouse_db, landing, DAY)  # the rerun: same content, skipped as loaded
    assert again.skipped and again.batch_id == batch.batch_id
    with pytest.raises(DataQualityError, match="price"):
        raw_gate(warehouse_db, settings, DAY, "rerun", build_docs=False)
    assert gate_state(warehouse_db, batch.batch_id) == quarantine.QUARANTINED
    assert admitted_rows(settings, warehouse_db, batch.batch_id) == 0

    write_events(landing, f"events_{DAY}.csv", "fixed")  # the corrected file, same name
    (fixed,) = load_landing(warehouse_db, landing, DAY)
    assert gate_state(warehouse_db, batch.batch_id) == quarantine.REPLACED
    assert [r.suite_name for r in raw_gate(warehouse_db, settings, DAY, "fixed", build_docs=False)] == ["raw_events"]
    assert gate_state(warehouse_db, fixed.batch_id) == quarantine.PASSED
    assert admitted_rows(settings, warehouse_db, fixed.batch_id) == 200
    assert admitted_rows(settings, warehouse_db, batch.batch_id) == 0


def test_only_a_recorded_release_lets_a_quarantined_batch_through(warehouse_db, settings, tmp_path):
    landing = tmp_path / "landing"
    write_events(landing, "events_2011-11-30_anonymous.csv", "anon", anonymous=0.3)  # 30 % guests: an error
    (batch,) = load_landing(warehouse_db, landing, DAY)
    with pytest.raises(DataQualityError, match="customer_id"):
        raw_gate(warehouse_db, settings, DAY, "anon", build_docs=False)

    with pytest.raises(ValueError, match="reason"):
        quarantine.release(warehouse_db, batch.batch_id, "ok")
    with pytest.raises(LookupError, match="no load batch"):
        quarantine.release(warehouse_db, 10**9, "a campaign brought many guest visitors")
    done = quarantine.release(
        warehouse_db, batch.batch_id, "a TV campaign brought many guest visitors", released_by="qa"
    )
    with pytest.raises(LookupError, match="is released, not quarantined"):
        quarantine.release(warehouse_db, batch.batch_id, "a TV campaign brought many guest visitors")

    assert raw_gate(warehouse_db, settings, DAY, "after_release", build_docs=False) == []
    assert gate_state(warehouse_db, batch.batch_id) == quarantine.RELEASED
    with warehouse.connect(warehouse_db) as conn:
        recorded = conn.execute(
            "select reason, released_by from dq.releases where batch_id = %s", (batch.batch_id,)
        ).fetchall()
    assert recorded == [("a TV campaign brought many guest visitors", "qa")] and done.released_by == "qa"
    assert admitted_rows(settings, warehouse_db, batch.batch_id) == 200
