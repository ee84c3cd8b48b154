"""Raw suites on real load batches: a clean batch passes, each planted defect stops the
gate and is recorded with its observed value."""

from __future__ import annotations

import datetime as dt
import random

import pytest

from recsys.platform import warehouse
from recsys.platform.settings import Settings
from recsys_expectations import DataQualityError, raise_for_errors, run_suite

pytestmark = pytest.mark.integration

DAY = dt.date(2011, 11, 30)
N = 1000


@pytest.fixture(scope="module")
def settings(tmp_path_factory) -> Settings:
    return Settings(home=tmp_path_factory.mktemp("dq_raw"))


def _batch(conn, source: str, logical_date: dt.date) -> int:
    return conn.execute(
        "insert into raw.load_batches (source, file_name, file_sha256, logical_date, started_at, status)"
        " values (%s, %s, md5(random()::text), %s, now(), 'succeeded') returning batch_id",
        (source, f"{source}_{logical_date}.csv", logical_date),
    ).fetchone()[0]


def load(url: str, table: str, rows: list[dict], logical_date: dt.date = DAY) -> int:
    """One load batch of ``rows`` into ``raw.<table>``; returns its batch id."""
    columns = list(rows[0])
    insert = (
        f"insert into raw.{table} ({', '.join(columns)}, _batch_id, _line_number) "
        f"values ({', '.join('%s' for _ in columns)}, %s, %s)"
    )
    with warehouse.transaction(url) as conn:
        batch_id = _batch(conn, table, logical_date)
        with conn.cursor() as cur:
            cur.executemany(insert, [(*r.values(), batch_id, i + 1) for i, r in enumerate(rows)])
    return batch_id


def events(seed: int = 0, anonymous: float = 0.01, day: dt.date = DAY) -> list[dict]:
    rng = random.Random(seed)
    start = dt.datetime.combine(day, dt.time(), dt.UTC)
    types = ["view"] * 80 + ["cart"] * 12 + ["purchase"] * 6 + ["rating"] * 2
    rows = []
    for i in range(N):
        kind = rng.choice(types)
        rows.append(
            {
                "event_id": f"e{seed}-{i}",
                "customer_id": None if rng.random() < anonymous else f"c{rng.randrange(200)}",
                "session_id": f"s{rng.randrange(400)}",
                "event_type": kind,
                "product_id": f"p{rng.randrange(300)}",
                "event_ts": start + dt.timedelta(seconds=rng.randrange(86_400)),
                "price": round(rng.uniform(0.5, 80), 2),
                "rating": rng.randint(1, 5) if kind == "rating" else None,
            }
        )
    return rows


def order_lines(seed: int = 0) -> list[dict]:
    rng = random.Random(seed)
    start = dt.datetime.combine(DAY, dt.time(8))
    rows = []
    for invoice in range(100):
        ts = start + dt.timedelta(minutes=5 * invoice)
        customer = f"1{rng.randrange(1000):04d}" if rng.random() > 0.2 else None
        for line in range(5):
            rows.append(
                {
                    "invoice_no": f"5{seed}{invoice:04d}",
                    "product_id": f"P{invoice * 5 + line}",
                    "description": "ITEM",
                    "quantity": rng.choice([1, 2, 6, 12, 24]),
                    "invoice_ts": ts,
                    "unit_price": round(rng.uniform(0.3, 20), 2),
                    "customer_id": customer,
                    "country": "United Kingdom",
                }
            )
    return rows


def products(seed: int = 0, negative_prices: bool = False) -> list[dict]:
    rng = random.Random(seed)
    return [
        {
            "product_id": f"p{seed}-{i}",
            "title": f"Product {i}",
            "category": rng.choice(["home", "garden", "toys"]),
            "brand": "acme",
            "price": -round(rng.uniform(1, 50), 2) if negative_prices else round(rng.uniform(1, 50), 2),
            "stock_level": rng.randrange(0, 100),
            "created_at": dt.datetime(2010, 1, 1, tzinfo=dt.UTC) + dt.timedelta(days=i),
            "is_active": True,
        }
        for i in range(300)
    ]


def customers(seed: int = 0) -> list[dict]:
    return [
        {
            "customer_id": f"c{seed}-{i}",
            "country": "UK",
            "signup_date": dt.date(2010, 1, 1) + dt.timedelta(days=i),
            "email": f"c{i}@example.com",
            "attributes": '{"segment": "retail"}',
        }
        for i in range(200)
    ]


def validate(url, settings, suite, batch_id, **kwargs):
    return run_suite(
        url,
        suite,
        DAY,
        run_id=f"test__{suite}_{batch_id}",
        settings=settings,
        options={"batch_ids": [batch_id]},
        **kwargs,
    )


def failed(result) -> dict[str, str]:
    """Failed error expectations -> observed value."""
    return {o.expectation: o.observed_value for o in result.errors}


def stored(url, result) -> list[tuple]:
    with warehouse.connect(url) as conn:
        return conn.execute(
            "select expectation, severity, success, observed_value, threshold from dq.validation_results"
            " where run_id = %s and suite_name = %s order by result_id",
            (result.run_id, result.suite_name),
        ).fetchall()


def test_clean_event_batch_passes_and_builds_data_docs(warehouse_db, settings):
    result = validate(warehouse_db, settings, "raw_events", load(warehouse_db, "events", events(seed=1)))
    assert result.success, failed(result)
    assert (settings.dq_dir / "data_docs" / "index.html").exists()
    rows = stored(warehouse_db, result)
    assert len(rows) == len(result.outcomes) and all(r[2] for r in rows if r[1] == "error")


def test_events_without_customer_stop_the_gate_with_the_observed_share(warehouse_db, settings):
    result = validate(warehouse_db, settings, "raw_events", load(warehouse_db, "events", events(seed=2, anonymous=0.3)))
    label = "expect_column_values_to_not_be_null(customer_id)"
    assert label in failed(result)
    share = float(failed(result)[label].split("%")[0])
    assert 25 < share < 35
    row = next(r for r in stored(warehouse_db, result) if r[0] == label)
    assert row[1:3] == ("error", False) and row[3] == failed(result)[label] and "mostly=0.95" in row[4]
    with pytest.raises(DataQualityError) as raised:
        raise_for_errors(result)
    assert "raw.events" in str(raised.value) and label in str(raised.value) and f"{share:.2f}%" in str(raised.value)


def test_timestamps_a_year_ahead_are_in_the_future(warehouse_db, settings):
    rows = events(seed=3, day=DAY.replace(year=DAY.year + 1))
    result = validate(warehouse_db, settings, "raw_events", load(warehouse_db, "events", rows))
    assert list(failed(result)) == ["expect_column_values_to_be_between(event_ts)"]
    assert "100.00% unexpected" in failed(result)["expect_column_values_to_be_between(event_ts)"]
    assert "2012-11-30" in failed(result)["expect_column_values_to_be_between(event_ts)"]


def test_logical_date_selects_only_its_own_batches(warehouse_db, settings):
    other_day = DAY + dt.timedelta(days=3)
    load(warehouse_db, "events", events(seed=4, day=other_day), logical_date=other_day)
    result = run_suite(warehouse_db, "raw_events", other_day, settings=settings, build_docs=False)
    assert result.success, failed(result)
    counts = [o for o in result.outcomes if o.expectation == "expect_column_values_to_not_be_null(event_id)"]
    assert f"of {N:,} rows" in counts[0].observed_value


def test_clean_order_lines_pass(warehouse_db, settings):
    result = validate(warehouse_db, settings, "raw_order_lines", load(warehouse_db, "order_lines", order_lines(1)))
    assert result.success, failed(result)
    assert not result.warnings


def test_every_order_line_duplicated_stops_the_gate(warehouse_db, settings):
    rows = order_lines(2)
    result = validate(warehouse_db, settings, "raw_order_lines", load(warehouse_db, "order_lines", rows + rows))
    label = "expect_compound_columns_to_be_unique([invoice_no, product_id, quantity, unit_price])"
    assert failed(result)[label].startswith("100.00% unexpected")
    assert label in {o.expectation for o in result.warnings}


def test_clean_catalogue_passes(warehouse_db, settings):
    result = validate(warehouse_db, settings, "raw_products", load(warehouse_db, "products", products(1)))
    assert result.success, failed(result)


def test_catalogue_with_negative_prices_stops_the_gate(warehouse_db, settings):
    batch = load(warehouse_db, "products", products(2, negative_prices=True))
    result = validate(warehouse_db, settings, "raw_products", batch)
    assert list(failed(result)) == ["expect_column_values_to_be_between(price)"]
    assert failed(result)["expect_column_values_to_be_between(price)"].startswith("100.00% unexpected (300 of 300")


def test_customers_good_and_duplicated(warehouse_db, settings):
    rows = customers(1)
    assert validate(warehouse_db, settings, "raw_customers", load(warehouse_db, "customers", rows)).success
    result = validate(warehouse_db, settings, "raw_customers", load(warehouse_db, "customers", rows[:50] * 2))
    assert list(failed(result)) == ["unexpected_rows_expectation(no duplicate customer_id)"]


def test_a_schema_drift_is_reported_per_column(warehouse_db, settings):
    with warehouse.transaction(warehouse_db) as conn:
        conn.execute("create table raw.events_drifted as select * from raw.events limit 0")
        conn.execute("alter table raw.events_drifted alter column price type text, drop column session_id")
    result = run_suite(warehouse_db, "raw_events", DAY, table="raw.events_drifted", settings=settings, build_docs=False)
    observed = {o.expectation: o.observed_value for o in result.errors if o.batch_name == "schema"}
    assert "session_id" in observed["expect_column_distinct_values_to_contain_set(column_name)"]
    assert "price" in observed["expect_column_pair_values_to_be_in_set(column_name, data_type)"]


def test_the_batch_tables_of_a_run_are_dropped_when_it_ends(warehouse_db, settings):
    batch_id = load(warehouse_db, "events", events(seed=5))
    result = validate(warehouse_db, settings, "raw_events", batch_id, build_docs=False)
    assert result.success, failed(result)
    with warehouse.connect(warehouse_db) as conn:
        left = conn.execute("select tablename from pg_tables where schemaname = 'dq' and tablename like 'gx%'")
        assert left.fetchall() == []


def test_a_suppression_naming_nobody_stops_the_gate(warehouse_db, settings):
    at = dt.datetime.combine(DAY, dt.time(9), dt.UTC)
    rows = [
        {"customer_id": f"c{i}", "email": None, "reason": "unsubscribe", "suppressed_at": at, "source": "shop"}
        for i in range(20)
    ]
    clean = validate(warehouse_db, settings, "raw_suppressions", load(warehouse_db, "suppressions", rows))
    assert clean.success, failed(clean)
    rows[3] = rows[3] | {"customer_id": None}
    result = validate(warehouse_db, settings, "raw_suppressions", load(warehouse_db, "suppressions", rows))
    assert [label for label in failed(result) if "names a customer or an address" in label]
