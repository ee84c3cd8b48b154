"""The raw gate behind the real loader: landing files in the contract go through
``recsys.ingest.loading`` and the raw stage runs on the batches just loaded, as the ingest DAG
does.  A clean drop passes every raw suite; each planted defect stops the gate at the
suite of its table, and ``dq.validation_results`` names the expectation and observation."""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import random
from pathlib import Path

import pytest

from recsys.ingest.landing import load_landing
from recsys.platform import warehouse
from recsys.platform.settings import Settings
from recsys_expectations import DataQualityError, run_stage
from recsys_expectations.gates import raw_gate

pytestmark = pytest.mark.integration

DAY = dt.date(2011, 11, 30)


@pytest.fixture(scope="module")
def settings(tmp_path_factory) -> Settings:
    return Settings(home=tmp_path_factory.mktemp("dq_pipeline"))


def write(landing: Path, source: str, rows: list[dict]) -> None:
    path = landing / source / f"{source}_{DAY}.csv.gz"
    path.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(path, "wt", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def events(seed: int, anonymous: float = 0.01, shift_days: int = 0) -> list[dict]:
    rng = random.Random(seed)
    start = dt.datetime.combine(DAY + dt.timedelta(days=shift_days), dt.time(), dt.UTC)
    return [
        {
            "event_id": f"e{seed}-{i}",
            "customer_id": "" if rng.random() < anonymous else f"c{rng.randrange(300)}",
            "session_id": f"s{i // 5}",
            "event_type": rng.choice(["view", "view", "view", "cart", "purchase"]),
            "product_id": f"p{rng.randrange(200)}",
            "event_ts": (start + dt.timedelta(seconds=i * 40)).isoformat(),
            "price": f"{rng.uniform(1, 40):.2f}",
            "rating": "",
        }
        for i in range(2000)
    ]


def order_lines(seed: int, repeat: int = 1) -> list[dict]:
    rng = random.Random(seed)
    lines = [
        {
            "InvoiceNo": f"{seed}{i // 4:05d}",
            "StockCode": f"8{i % 97:04d}",
            "Description": "MUG",
            "Quantity": str(rng.choice([1, 2, 6, 12])),
            "InvoiceDate": f"{DAY} {8 + i // 100:02d}:{i % 60:02d}:00",
            "UnitPrice": f"{rng.uniform(0.5, 9):.2f}",
            "CustomerID": str(12000 + i // 4),
            "Country": "United Kingdom",
        }
        for i in range(800)
    ]
    return [line for line in lines for _ in range(repeat)]


def products(seed: int, sign: int = 1) -> list[dict]:
    return [
        {
            "product_id": f"p{seed}-{i}",
            "title": f"Mug {i}",
            "category": "kitchen",
            "brand": "acme",
            "price": f"{sign * (1 + i % 30):.2f}",
            "stock_level": str(i % 12),
            "created_at": "2010-05-01T00:00:00Z",
        }
        for i in range(200)
    ]


def customers(seed: int) -> list[dict]:
    return [
        {"customer_id": f"c{seed}-{i}", "country": "UK", "signup_date": "2010-03-01", "email": f"u{i}@x.org"}
        for i in range(300)
    ]


@pytest.fixture(autouse=True)
def replaced_after_each_test(warehouse_db):
    """Each test's quarantined batches count as replaced afterwards (as when an operator drops a
    corrected file), so the next test's gate judges only its own files."""
    yield
    with warehouse.transaction(warehouse_db) as conn:
        conn.execute("update raw.load_batches set gate_status = 'replaced' where gate_status = 'quarantined'")


def load_and_gate(url: str, settings: Settings, landing: Path, run_id: str, build_docs: bool = False):
    results = load_landing(url, landing, DAY)
    assert any(not r.skipped for r in results) and all(r.rows_rejected == 0 for r in results)
    return raw_gate(url, settings, DAY, run_id, build_docs=build_docs)


def failures(url: str, run_id: str) -> dict[tuple[str, str], str]:
    with warehouse.connect(url) as conn:
        rows = conn.execute(
            "select table_name, expectation, observed_value from dq.validation_results"
            " where run_id = %s and severity = 'error' and not success",
            (run_id,),
        ).fetchall()
    return {(t, e): o for t, e, o in rows}


def test_a_clean_drop_passes_every_raw_suite(warehouse_db, settings, tmp_path):
    for source, rows in (
        ("events", events(1)),
        ("order_lines", order_lines(1)),
        ("products", products(1)),
        ("customers", customers(1)),
    ):
        write(tmp_path, source, rows)
    results = load_and_gate(warehouse_db, settings, tmp_path, "clean", build_docs=True)
    assert [r.suite_name for r in results] == ["raw_customers", "raw_products", "raw_events", "raw_order_lines"]
    assert failures(warehouse_db, "clean") == {}
    assert (settings.dq_dir / "data_docs" / "index.html").exists()


@pytest.mark.parametrize(
    ("source", "rows", "table", "expectation", "observed"),
    [
        (
            "events",
            lambda: events(2, anonymous=0.3),
            "raw.events",
            "expect_column_values_to_not_be_null(customer_id)",
            "% unexpected",
        ),
        (
            "events",
            lambda: events(3, shift_days=366),
            "raw.events",
            "expect_column_values_to_be_between(event_ts)",
            "100.00% unexpected (2,000 of 2,000 rows), e.g. [2012-11-30",
        ),
        (
            "order_lines",
            lambda: order_lines(4, repeat=2),
            "raw.order_lines",
            "expect_compound_columns_to_be_unique([invoice_no, product_id, quantity, unit_price])",
            "100.00% unexpected (1,600 of 1,600 rows)",
        ),
        (
            "products",
            lambda: products(5, sign=-1),
            "raw.products",
            "expect_column_values_to_be_between(price)",
            "100.00% unexpected (200 of 200 rows), e.g. [-1",
        ),
    ],
    ids=["30pct-anonymous-events", "events-a-year-ahead", "every-order-line-twice", "negative-prices"],
)
def test_each_defect_stops_the_raw_gate_at_its_table(
    warehouse_db, settings, tmp_path, source, rows, table, expectation, observed
):
    write(tmp_path, source, rows())
    run_id = f"defect_{source}_{tmp_path.name}"
    with pytest.raises(DataQualityError) as raised:
        load_and_gate(warehouse_db, settings, tmp_path, run_id)
    found = failures(warehouse_db, run_id)
    assert list(found) == [(table, expectation)]
    assert observed in found[(table, expectation)]
    assert (
        table in str(raised.value)
        and expectation in str(raised.value)
        and found[(table, expectation)] in str(raised.value)
    )


def test_the_stage_can_be_rerun_without_duplicating_results(warehouse_db, settings):
    first = run_stage(warehouse_db, "raw", DAY, "rerun", settings=settings, build_docs=False)
    second = run_stage(warehouse_db, "raw", DAY, "rerun", settings=settings, build_docs=False)
    with warehouse.connect(warehouse_db) as conn:
        stored = conn.execute("select count(*) from dq.validation_results where run_id = 'rerun'").fetchone()[0]
    assert stored == sum(len(r.outcomes) for r in second) == sum(len(r.outcomes) for r in first)
