"""The dbt project on a real warehouse: a hand-written shop in the raw tables, built as of
2011-12-09, with the figures checked against values worked out by hand.

One module-scoped ``dbt build`` serves most tests; the last tests rerun it (idempotency),
move the date forward with a new batch and back again (incremental convergence).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import math
import uuid
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
import yaml

from recsys.generator.shop import generate_shop, landing_dates
from recsys.generator.spec import shop_spec
from recsys.ingest import quarantine
from recsys.ingest.landing import load_landing
from recsys.platform import dbt_runner, warehouse
from recsys.platform.settings import Settings, get_settings

REPO = Path(__file__).resolve().parents[1]
AS_OF = dt.date(2011, 12, 9)
KPI_DAY = dt.date(2011, 12, 1)
HALF_LIFE_DAYS = 90

HEART = "85123A"
ORDER_LINE_COLUMNS = (
    "invoice_no",
    "product_id",
    "description",
    "quantity",
    "invoice_ts",
    "unit_price",
    "customer_id",
    "country",
)
EVENT_COLUMNS = ("event_id", "customer_id", "session_id", "event_type", "product_id", "event_ts", "price", "rating")
CUSTOMER_COLUMNS = ("customer_id", "country", "signup_date", "email", "attributes")
PRODUCT_COLUMNS = ("product_id", "title", "category", "brand", "price", "stock_level", "created_at", "is_active")


def _ts(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)


def _utc(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC)


def order_lines() -> list[tuple]:
    """Online Retail style lines.  Customers (none is in the customer file):
    10001 buys the heart 500 times on AS_OF; 10002 once on AS_OF (plus postage, a
    cancellation and a return); 10003 once exactly one half-life before AS_OF; 10004 two
    products on KPI_DAY.  A guest line and a line after AS_OF are not purchases as of AS_OF.
    """
    white, cream = "WHITE HANGING HEART T-LIGHT HOLDER", "CREAM HANGING HEART T-LIGHT HOLDER"
    lines = [
        (f"{581000 + i}", HEART, white, 1, _ts("2011-12-09 10:00"), 2.55, "10001", "United Kingdom") for i in range(500)
    ]
    return lines + [
        ("581600", "85123a", cream, 1, _ts("2011-12-09 11:00"), 2.55, "10002", "United Kingdom"),
        ("581600", "POST", "POSTAGE", 1, _ts("2011-12-09 11:00"), 18.00, "10002", "United Kingdom"),
        ("C581601", HEART, white, -1, _ts("2011-12-09 12:00"), 2.55, "10002", "United Kingdom"),
        ("581602", "22423", "REGENCY CAKESTAND 3 TIER", -2, _ts("2011-12-09 12:30"), 12.75, "10002", "United Kingdom"),
        ("575000", HEART, white, 3, _ts("2011-09-10 09:00"), 2.55, "10003", "France"),
        ("580000", "P1", "MUG", 2, _ts("2011-12-01 09:00"), 3.00, "10004", "Germany"),
        ("580000", "P3", "LAMP", 1, _ts("2011-12-01 09:00"), 5.00, "10004", "Germany"),
        ("580001", "P1", "MUG", 1, _ts("2011-12-01 10:00"), 3.00, None, "United Kingdom"),
        ("581700", "P1", "MUG", 1, _ts("2011-12-10 09:00"), 3.00, "10002", "United Kingdom"),
    ]


def events() -> list[tuple]:
    """Site events of customers 20001 (E) and 20002 (F), one anonymous visitor, and 20005,
    whose only event is the only event of 2011-11-20."""
    return [
        ("e01", "20001", "s1", "view", "P1", _utc("2011-12-01 10:00"), 10, None),
        ("e02", "20001", "s1", "view", "P2", _utc("2011-12-01 10:01"), 20, None),
        ("e03", "20001", "s1", "cart", "P1", _utc("2011-12-01 10:02"), 10, None),
        ("e04", "20001", "s1", "purchase", "P1", _utc("2011-12-01 10:05"), 10, None),
        ("e05", None, "s2", "view", "P1", _utc("2011-12-01 11:00"), 10, None),
        ("e06", "20002", "s3", "view", "P2", _utc("2011-12-01 12:00"), 20, None),
        ("e07", "20002", "s3", "rating", "P2", _utc("2011-12-01 12:05"), None, 4),
        ("e08", "20001", "s0", "view", "P1", _utc("2011-11-15 09:00"), 10, None),
        ("e09", "20002", "s4", "view", "P1", _utc("2011-12-10 08:00"), 10, None),
        ("e10", "20001", "s5", "view", "P2", _utc("2011-12-05 09:00"), 20, None),
        ("e12", "20005", "s7", "view", "P3", _utc("2011-11-20 09:00"), 5, None),
    ]


def resent_events() -> list[tuple]:
    """A later batch re-sends e10 with a corrected time: the new version must win."""
    return [("e10", "20001", "s5", "view", "P2", _utc("2011-12-06 09:00"), 20, None)]


def customers() -> list[tuple]:
    return [
        (
            "20001",
            "United Kingdom",
            dt.date(2011, 1, 1),
            " E@Example.com ",
            json.dumps({"newsletter": True, "age_band": "25-34", "street": "1 High St"}),
        ),
        ("20002", "Germany", dt.date(2011, 6, 1), None, None),
        ("20003", "USA", dt.date(2012, 1, 1), "late@example.com", None),
        ("20004", "United Kingdom", dt.date(2011, 2, 1), "h@example.com", None),
    ]


def products() -> list[tuple]:
    return [
        ("P1", "Mug", "kitchen", "Acme", 10, 5, _utc("2011-01-01 00:00"), True),
        ("P2", "Vase", "home", "Acme", 20, 0, _utc("2011-01-01 00:00"), True),
        ("P3", "Lamp", "home", None, 5, None, _utc("2011-01-01 00:00"), None),
        ("P9", "Future", "home", None, 7, 3, _utc("2012-02-01 00:00"), True),
    ]


def admit(url: str, results) -> None:
    """The raw gate's verdict "passed" on the loaded batches: these tests check dbt, not the gate."""
    quarantine.record_verdicts(url, [r.batch_id for r in results if not r.skipped], [])


def load_batch(url: str, batch_id: int | None, source: str, columns: tuple[str, ...], rows: list[tuple]) -> int:
    """Insert one batch: its raw.load_batches row and its lines (numbered from 1).

    ``batch_id`` None takes the next id of the loader's sequence (after real loads).
    """
    with warehouse.transaction(url) as conn:
        if batch_id is None:
            batch_id = warehouse.one_row(
                conn.execute("select nextval(pg_get_serial_sequence('raw.load_batches', 'batch_id'))")
            )[0]
        conn.execute(
            "insert into raw.load_batches (batch_id, source, file_name, file_sha256, logical_date,"
            " rows_read, rows_loaded, rows_rejected, started_at, finished_at, status, gate_status)"
            " values (%s, %s, %s, %s, %s, %s, %s, 0, %s, %s, 'succeeded', 'passed')",
            (
                batch_id,
                source,
                f"{source}_{batch_id}.csv",
                f"{batch_id:064d}",
                AS_OF,
                len(rows),
                len(rows),
                _utc("2011-12-10 01:00"),
                _utc("2011-12-10 01:01"),
            ),
        )
        names = ", ".join((*columns, "_batch_id", "_line_number"))
        with conn.cursor().copy(f"copy raw.{source} ({names}) from stdin") as copy:
            for line_number, row in enumerate(rows, start=1):
                copy.write_row((*row, batch_id, line_number))
    return batch_id


@dataclass(frozen=True)
class Build:
    url: str
    settings: Settings
    profiles_dir: Path
    target_path: Path
    result: dbt_runner.DbtResult | None

    def run(self, command=("build",), as_of_date=AS_OF, full_refresh=False) -> dbt_runner.DbtResult:
        return dbt_runner.run_dbt(
            self.settings,
            warehouse.component_url(self.settings, "transformer"),
            command,
            as_of_date=as_of_date,
            full_refresh=full_refresh,
            profiles_dir=self.profiles_dir,
            target_path=self.target_path,
        )

    def rows(self, sql: str, params=()) -> list[tuple]:
        with warehouse.connect(self.url) as conn:
            return conn.execute(sql, params).fetchall()

    def one(self, sql: str, params=()):
        rows = self.rows(sql, params)
        assert len(rows) == 1, f"expected one row from {sql!r}, got {rows}"
        return rows[0]


@pytest.fixture(scope="module")
def build(warehouse_db, tmp_path_factory) -> Build:
    """The fixture shop in the raw tables (created by recsys/sql/ddl_raw.sql), built as of AS_OF."""
    load_batch(warehouse_db, 1, "order_lines", ORDER_LINE_COLUMNS, order_lines())
    load_batch(warehouse_db, 2, "events", EVENT_COLUMNS, events())
    load_batch(warehouse_db, 3, "customers", CUSTOMER_COLUMNS, customers())
    load_batch(warehouse_db, 4, "products", PRODUCT_COLUMNS, products())
    load_batch(warehouse_db, 5, "events", EVENT_COLUMNS, resent_events())
    tmp = tmp_path_factory.mktemp("dbt")
    settings = Settings(home=REPO, warehouse_url=warehouse_db)
    result = dbt_runner.run_dbt(
        settings,
        warehouse.component_url(settings, "transformer"),  # as the nightly build connects
        ("build",),
        as_of_date=AS_OF,
        profiles_dir=tmp / "profiles",
        target_path=tmp / "target",
    )
    print(f"\ndbt build of the fixture: {result.elapsed:.1f} s, {result.summary()}")
    return Build(warehouse_db, settings, tmp / "profiles", tmp / "target", result)


MART_TABLES = (
    "marts.fct_events",
    "marts.fct_order_lines",
    "marts.fct_interactions_daily",
    "marts.fct_daily_kpis",
    "marts.fct_product_weekly_demand",
    "marts.dim_customers",
    "marts.dim_products",
    "marts.dim_calendar_events",
    "marts.fct_segment_daily_kpis",
    "marts.fct_stock_alerts",
    "marts.fct_back_in_stock_audience",
    "intermediate.int_user_item_interactions",
    "intermediate.int_product_stock_history",
    "intermediate.int_customer_mix",
)


def snapshot(build: Build) -> dict[str, tuple[int, str]]:
    """Row count and a content checksum of every mart."""
    return {
        table: build.one(
            f"select count(*), coalesce(md5(string_agg(t::text, '|' order by t::text)), '') from {table} t"
        )
        for table in MART_TABLES
    }


def weight(build: Build, customer_id: str, product_id: str) -> float:
    return build.one(
        "select weight from intermediate.int_user_item_interactions where customer_id = %s and product_id = %s",
        (customer_id, product_id),
    )[0]


@pytest.mark.integration
def test_build_runs_every_model_and_test(build):
    assert build.result.success and not build.result.failed_nodes
    kinds = {node.resource_type for node in build.result.nodes}
    assert {"model", "test", "seed"} <= kinds
    built = {node.name for node in build.result.nodes if node.resource_type == "model"}
    assert built == {path.stem for path in (REPO / "dbt" / "models").rglob("*.sql")}, "every model of the project"
    tests = [node for node in build.result.nodes if node.resource_type == "test"]
    assert tests and all(node.status == "pass" for node in tests)


@pytest.mark.integration
def test_repeated_purchases_have_diminishing_weight(build):
    once, five_hundred = weight(build, "10002", HEART), weight(build, "10001", HEART)
    assert once == pytest.approx(5.0)  # purchase weight 5 * log2(1 + 1), on the as-of date
    assert five_hundred == pytest.approx(5.0 * math.log2(501))
    assert five_hundred / once < 10


@pytest.mark.integration
def test_weight_halves_at_the_half_life(build):
    last = build.one("select max(invoice_date) from marts.fct_order_lines where customer_id = '10003'")[0]
    assert (AS_OF - last).days == HALF_LIFE_DAYS
    assert weight(build, "10003", HEART) == pytest.approx(weight(build, "10002", HEART) / 2)


@pytest.mark.integration
def test_rating_weight_uses_the_stars(build):
    days = (AS_OF - KPI_DAY).days
    expected = (1.0 * 1 + 5.0 * 4 / 5 * 1) * 0.5 ** (days / HALF_LIFE_DAYS)  # one view + a 4-star rating
    assert weight(build, "20002", "P2") == pytest.approx(expected)


@pytest.mark.integration
def test_only_real_purchases_become_purchase_events(build):
    flags = {
        invoice: (is_cancellation, is_return, is_product, has_customer, is_purchase)
        for invoice, is_cancellation, is_return, is_product, has_customer, is_purchase in build.rows(
            "select invoice_no || ':' || product_id, is_cancellation, is_return, is_product, has_customer, is_purchase"
            " from marts.fct_order_lines where invoice_no in ('581600', 'C581601', '581602', '580001')"
        )
    }
    assert flags == {
        f"581600:{HEART}": (False, False, True, True, True),
        "581600:POST": (False, False, False, True, False),
        f"C581601:{HEART}": (True, True, True, True, False),
        "581602:22423": (False, True, True, True, False),
        "580001:P1": (False, False, True, False, False),
    }
    purchase_sessions = {
        row[0] for row in build.rows("select session_id from marts.fct_events where source = 'order_lines'")
    }
    assert not purchase_sessions & {"C581601", "581602", "580001"}
    assert build.one("select n_purchases from marts.dim_products where product_id = %s", (HEART,))[0] == 502


@pytest.mark.integration
def test_nothing_after_the_as_of_date(build):
    assert build.one("select max(event_date) from marts.fct_events")[0] == AS_OF
    assert build.one("select max(invoice_date) from marts.fct_order_lines")[0] == AS_OF
    assert build.one("select count(*) from marts.fct_events where event_id = 'e09'")[0] == 0


@pytest.mark.integration
def test_resent_event_keeps_its_latest_version(build):
    assert build.rows("select event_date, batch_id from marts.fct_events where event_id = 'e10'") == [
        (dt.date(2011, 12, 6), 5)
    ]


@pytest.mark.integration
def test_daily_kpis_of_a_hand_computed_day(build):
    row = build.one(
        "select sessions, views, carts, purchases, orders, conversion_rate, revenue, average_basket,"
        " active_customers, returning_customers, new_customers from marts.fct_daily_kpis where kpi_date = %s",
        (KPI_DAY,),
    )
    # sessions s1, s2, s3 and invoice 580000; orders s1 (10.00) and 580000 (2 * 3.00 + 5.00);
    # 20001 was first seen on 2011-11-15, 20002 and 10004 are new that day.
    assert row == (4, 4, 1, 3, 2, pytest.approx(0.5), 21, pytest.approx(10.5), 3, 1, 2)
    days = build.one("select count(*), min(kpi_date), max(kpi_date) from marts.fct_daily_kpis")
    assert days == ((AS_OF - dt.date(2011, 9, 10)).days + 1, dt.date(2011, 9, 10), AS_OF)


@pytest.mark.integration
def test_rfm_scores_and_segments(build):
    rows = {
        r[0]: r[1:]
        for r in build.rows(
            "select customer_id, recency_days, frequency, r_score, f_score, m_score, rfm_segment from marts.dim_customers"
        )
    }
    assert set(rows) == {"10001", "10002", "10003", "10004", "20001", "20002", "20004", "20005"}  # 20003 signs up later
    scored = [r for r in rows.values() if r[2] is not None]
    assert len(scored) == 5 and all(1 <= score <= 5 for r in scored for score in r[2:5])
    assert rows["10001"][1:] == (500, 4, 5, 5, "champions")  # recency tie with 10002 shares score 4
    assert rows["10002"][:2] == (0, 1) and rows["10002"][5] == "new"  # the cancellation is no order
    assert rows["10003"][:2] == (HALF_LIFE_DAYS, 1) and rows["10003"][5] == "hibernating"
    assert rows["20004"] == (None, 0, None, None, None, "prospect")
    assert rows["20002"][5] == "prospect"  # viewed and rated, never bought


@pytest.mark.integration
def test_customers_only_seen_in_order_lines_get_a_row(build):
    assert build.rows(
        "select customer_id, country, is_registered, signup_date from marts.dim_customers"
        " where customer_id in ('10003', '10004') order by customer_id"
    ) == [("10003", "France", False, None), ("10004", "Germany", False, None)]
    registered = build.one("select country, attributes from marts.dim_customers where customer_id = '20001'")
    assert registered == ("United Kingdom", {"age_band": "25-34"}), "only declared attributes reach the marts"
    assert "email" not in {
        c for (c,) in build.rows("select column_name from information_schema.columns where table_schema = 'marts'")
    }
    assert build.one("select email from crm.crm_contacts where customer_id = '20001'") == ("e@example.com",)


@pytest.mark.integration
def test_products_from_catalogue_and_order_lines(build):
    rows = {
        r[0]: r[1:]
        for r in build.rows(
            "select product_id, title, category, in_stock, in_catalogue, is_product, price_band, popularity_rank"
            " from marts.dim_products"
        )
    }
    assert "P9" not in rows  # created after the as-of date
    assert rows[HEART][:5] == ("WHITE HANGING HEART T-LIGHT HOLDER", "unknown", True, False, True)
    assert rows[HEART][6] == 1  # the most popular product
    assert rows["P1"][:5] == ("Mug", "kitchen", True, True, True)
    assert rows["P2"][2] is False and rows["P3"][2] is True  # stock 0, stock unknown
    assert rows["POST"][4:] == (False, "high", None)
    assert rows["P1"][5] == "high" and rows["P3"][5] == "mid"
    demand = build.one("select monthly_demand from marts.dim_products where product_id = %s", (HEART,))[0]
    assert len(demand) == 12 and sum(demand) == pytest.approx(1.0)
    assert demand[8] == pytest.approx(1 / 502) and demand[11] == pytest.approx(501 / 502)


@pytest.mark.integration
def test_weekly_demand_and_calendar(build):
    assert build.rows(
        "select week_start, iso_week, n_purchases, quantity from marts.fct_product_weekly_demand where product_id = %s"
        " order by week_start",
        (HEART,),
    ) == [(dt.date(2011, 9, 5), "2011-W36", 1, 3), (dt.date(2011, 12, 5), "2011-W49", 501, 501)]
    mothers_day = dict(
        build.rows("select country, start_month from marts.dim_calendar_events where event_name = 'mothers_day'")
    )
    assert mothers_day["United Kingdom"] == 3 and mothers_day["*"] == 5
    assert build.one(
        "select wraps_year_end, keywords[1] from marts.dim_calendar_events where event_name = 'christmas'"
    ) == (False, "christmas")


@pytest.mark.integration
def test_rerun_of_the_same_date_changes_nothing(build):
    before = snapshot(build)
    build.run(("run",))
    assert snapshot(build) == before


@pytest.mark.integration
def test_next_date_adds_a_batch_and_a_backfill_converges(build):
    before = snapshot(build)
    next_day = AS_OF + dt.timedelta(days=1)
    load_batch(
        build.url,
        6,
        "events",
        EVENT_COLUMNS,
        [("e11", "20001", "s6", "view", HEART, _utc("2011-12-10 09:30"), 2.55, None)],
    )
    build.run(("run",), as_of_date=next_day)
    late = build.rows("select event_id from marts.fct_events where event_date = %s order by event_id", (next_day,))
    assert late == [("e09",), ("e11",), ("order_line-581700-1",)]
    assert build.one("select sum(n_views) from marts.fct_interactions_daily where event_date = %s", (next_day,))[0] == 2
    build.run(as_of_date=AS_OF)
    assert snapshot(build) == before


@pytest.mark.integration
def test_resent_event_moving_days_converges_to_a_full_refresh(build):
    moved_from, moved_to = dt.date(2011, 11, 20), dt.date(2011, 12, 7)
    load_batch(
        build.url, 7, "events", EVENT_COLUMNS, [("e12", "20005", "s7", "view", "P3", _utc("2011-12-07 09:00"), 5, None)]
    )
    build.run()
    assert build.rows("select event_date from marts.fct_events where event_id = 'e12'") == [(moved_to,)]
    assert build.one("select count(*) from marts.fct_interactions_daily where event_date = %s", (moved_from,))[0] == 0
    incremental = snapshot(build)
    build.run(("run",), full_refresh=True)
    assert snapshot(build) == incremental


# A generated shop: nights built incrementally equal a full refresh ------------------------

#: Every relation a night builds from the raw data, compared row for row with a full
#: refresh.  int_event_versions is compared through int_events_unioned: it also keeps the
#: replaced deliveries of invoices, which a full refresh cannot see.
NIGHT_RELATIONS = (
    "intermediate.int_order_lines_flagged",
    "intermediate.int_as_of_date",
    "intermediate.int_events_unioned",
    "intermediate.int_daily_activity",
    "intermediate.int_customer_daily_activity",
    "intermediate.int_customer_activity",
    "intermediate.int_product_activity",
    "intermediate.int_product_daily_purchases",
    "intermediate.int_user_item_totals",
    "intermediate.int_customers_unioned",
    "intermediate.int_products_unioned",
    *MART_TABLES,
)


def generated_invoices(customers: list[str], products: list[str], history_day: dt.date) -> list[tuple]:
    """Two invoices of the history and one dated after it (loaded early: a later as-of date adds it)."""
    first, second = (dt.datetime.combine(history_day - dt.timedelta(days=d), dt.time(10)) for d in (10, 3))
    later = dt.datetime.combine(history_day + dt.timedelta(days=1), dt.time(11))
    return [
        ("G1001", products[0], "MUG", 2, first, 3.0, customers[0], "France"),
        ("G1001", products[1], "LAMP", 1, first, 5.0, customers[0], "France"),
        ("G1001", "POST", "POSTAGE", 1, first, 10.0, customers[0], "France"),
        ("G1002", products[2], "VASE", 1, second, 7.5, customers[1], "Germany"),
        ("G1003", products[0], "MUG", 4, later, 3.0, customers[2], "Germany"),
    ]


def corrections(build: Build, history_day: dt.date, products: list[str]) -> list[tuple]:
    """Old events sent again: one to another day, one to another customer, one to another
    product; plus a late event on an old day."""
    events = build.rows(
        "select event_id, customer_id, session_id, event_type, product_id, event_ts, price, rating from raw.events"
        " where customer_id is not null and event_ts < %s order by event_id limit 3",
        (history_day - dt.timedelta(days=20),),
    )
    moved, recustomered, reproducted = (list(event) for event in events)
    moved[5] += dt.timedelta(days=5)
    recustomered[1] = events[0][1] if events[0][1] != recustomered[1] else events[2][1]
    reproducted[4] = next(p for p in products if p != reproducted[4])
    late = ["late-1", moved[1], "late-session", "purchase", products[1], moved[5] - dt.timedelta(days=9), 5.0, None]
    return [tuple(row) for row in (moved, recustomered, reproducted, late)]


def keep_copies(build: Build, schema: str) -> None:
    """Copy every night relation into ``schema`` (same table names)."""
    with warehouse.transaction(build.url) as conn:
        conn.execute(f"drop schema if exists {schema} cascade")
        conn.execute(f"create schema {schema}")
        for relation in NIGHT_RELATIONS:
            conn.execute(f"create table {schema}.{relation.split('.')[1]} as select * from {relation}")


def comparable_columns(build: Build, relation: str) -> str:
    """The relation's columns for an exact comparison; floating-point values rounded to 9
    decimals (the same sums taken in another order differ in the last bits)."""
    schema, name = relation.split(".")
    columns = build.rows(
        "select column_name, data_type, udt_name from information_schema.columns"
        " where table_schema = %s and table_name = %s order by ordinal_position",
        (schema, name),
    )
    assert columns, f"{relation} has no columns"

    def comparable(column: str, data_type: str, udt_name: str) -> str:
        if data_type == "double precision":
            return f"round({column}::numeric, 9)"
        if udt_name == "_float8":
            return f"array(select round(v::numeric, 9) from unnest({column}) as v)"
        return column

    return ", ".join(comparable(*column) for column in columns)


def differences(build: Build, relation: str, copies: str) -> tuple[int, int]:
    """Rows only in the copy and rows only in the relation (multisets: duplicates count)."""
    columns = comparable_columns(build, relation)
    copy = f"{copies}.{relation.split('.')[1]}"
    return (
        build.one(f"select count(*) from (select {columns} from {copy} except all select {columns} from {relation}) d")[
            0
        ],
        build.one(f"select count(*) from (select {columns} from {relation} except all select {columns} from {copy}) d")[
            0
        ],
    )


@pytest.fixture(scope="module")
def generated_shop(server_url, tmp_path_factory):
    """A small generated shop in a database of its own: its history built, then two nights
    loaded and built incrementally, the second with corrections (old events re-sent to
    another day, customer or product, a late event, an invoice re-sent a day later with a
    line fewer).  The relations after the last night are kept in schema ``night``; the
    third value is a batch id taken before the last night's loads and not used yet."""
    tmp = tmp_path_factory.mktemp("generated")
    name = f"test_dbt_generated_{uuid.uuid4().hex[:8]}"
    warehouse.ensure_database(server_url, name)
    try:
        yield build_generated_nights(warehouse.with_database(server_url, name), tmp)
    finally:
        with psycopg.connect(server_url, autocommit=True) as conn:
            conn.execute(f'drop database if exists "{name}" with (force)')


def build_generated_nights(url: str, tmp: Path) -> tuple[Build, dt.date, int]:
    """The scenario of the ``generated_shop`` fixture in the empty database ``url``."""
    warehouse.ensure_schemas(url)
    spec = shop_spec(
        "tiny", n_customers=400, n_products=120, n_events=8000, start=dt.date(2023, 10, 1), end=dt.date(2023, 12, 31)
    )
    generate_shop(spec, tmp / "landing", daily_days=2, with_truth=False)
    history_day, nights = landing_dates(spec, 2)
    build = Build(url, Settings(home=REPO, warehouse_url=url), tmp / "profiles", tmp / "target", None)
    admit(url, load_landing(url, tmp / "landing", history_day))
    customers = [
        row[0]
        for row in build.rows(
            "select distinct customer_id from raw.events where customer_id is not null order by 1 limit 3"
        )
    ]
    products = [row[0] for row in build.rows("select product_id from raw.products order by 1 limit 3")]
    load_batch(url, None, "order_lines", ORDER_LINE_COLUMNS, generated_invoices(customers, products, history_day))
    build.run(as_of_date=history_day)  # seeds too
    late_batch_id = None
    for night in nights:
        if night == nights[-1]:  # a load that starts now and commits after the night's build
            late_batch_id = build.one("select nextval(pg_get_serial_sequence('raw.load_batches', 'batch_id'))")[0]
        admit(url, load_landing(url, tmp / "landing", night))
        if night == nights[-1]:
            load_batch(url, None, "events", EVENT_COLUMNS, corrections(build, history_day, products))
            resent = [line for line in generated_invoices(customers, products, history_day)[:2] if line[0] == "G1001"]
            load_batch(
                url,
                None,
                "order_lines",
                ORDER_LINE_COLUMNS,
                [(*line[:4], line[4] + dt.timedelta(days=1), *line[5:]) for line in resent[:1]],
            )
        result = build.run(("build",) if night == nights[-1] else ("run",), as_of_date=night)
    keep_copies(build, "night")
    assert late_batch_id is not None
    return dataclasses.replace(build, result=result), nights[-1], late_batch_id


@pytest.mark.integration
def test_a_night_rebuilds_only_its_days(generated_shop):
    build, night, _ = generated_shop
    inserted = {node.name: node.message for node in build.result.nodes if node.resource_type == "model"}
    total = build.one("select count(*) from marts.fct_events")[0]
    assert 0 < int(inserted["fct_events"].split()[-1]) < total / 5
    moved = build.one("select event_date from marts.fct_events where event_id = 'late-1'")[0]
    assert moved < night - dt.timedelta(days=5)  # a late event of an old day was added
    assert build.rows("select quantity from marts.fct_events where session_id = 'G1001'") == [(2,)]


@pytest.mark.integration
def test_rerunning_a_night_changes_nothing(generated_shop):
    build, night, _ = generated_shop
    build.run(("run",), as_of_date=night)
    assert {relation: differences(build, relation, "night") for relation in NIGHT_RELATIONS} == dict.fromkeys(
        NIGHT_RELATIONS, (0, 0)
    )


@pytest.mark.integration
def test_incremental_nights_equal_a_full_refresh(generated_shop):
    """After the nights, a batch that took its id before the last night's loads commits: the
    next build reads it (a late, older delivery of an event does not replace the newer one),
    and every relation equals a full refresh."""
    build, night, late_batch_id = generated_shop
    assert late_batch_id < build.one("select max(batch_id) from raw.load_batches")[0]
    customer = build.one("select min(customer_id) from marts.dim_customers")[0]
    product = build.one("select min(product_id) from marts.dim_products")[0]
    late_ts = dt.datetime.combine(night, dt.time(23, 30), dt.UTC)
    current = build.one(
        "select event_id, customer_id, session_id, event_type, product_id, event_ts, price, rating"
        " from raw.events where event_id = 'late-1'"
    )
    load_batch(
        build.url,
        late_batch_id,
        "events",
        EVENT_COLUMNS,
        [
            ("committed-late", customer, "late-session", "view", product, late_ts, 1.0, None),
            (*current[:4], product, current[5] - dt.timedelta(days=30), *current[6:]),
        ],
    )
    build.run(as_of_date=night)
    assert build.rows("select customer_id from marts.fct_events where event_id = 'committed-late'") == [(customer,)]
    assert build.rows("select event_ts from marts.fct_events where event_id = 'late-1'") == [(current[5],)]
    keep_copies(build, "incremental")
    build.run(("run",), as_of_date=night, full_refresh=True)
    assert {relation: differences(build, relation, "incremental") for relation in NIGHT_RELATIONS} == dict.fromkeys(
        NIGHT_RELATIONS, (0, 0)
    )


@pytest.mark.integration
def test_docs_generate(build):
    result = build.run(("docs", "generate"))
    catalog = json.loads((build.target_path / "catalog.json").read_text())
    assert result.success and "model.recsys.dim_products" in catalog["nodes"]
    assert (build.target_path / "static_index.html").stat().st_size > 0


def test_parse_needs_no_database(tmp_path):
    settings = Settings(home=REPO, warehouse_url="postgresql://nobody@unreachable.invalid:1/nowhere")
    manifest = json.loads(dbt_runner.parse_project(settings, target_path=tmp_path).read_text())
    interactions = manifest["nodes"]["model.recsys.int_user_item_interactions"]
    assert interactions["config"]["contract"]["enforced"] and interactions["schema"] == "intermediate"
    assert manifest["nodes"]["model.recsys.fct_events"]["config"]["materialized"] == "incremental"
    assert manifest["metadata"]["project_name"] == "recsys"


def test_profile_points_at_the_socket_folder(tmp_path):
    url = "postgresql://postgres:s%40cret@/warehouse?host=/tmp/pg-socket&port=5433"
    path = dbt_runner.write_profile(url, tmp_path, threads=3)
    output = yaml.safe_load(path.read_text())["recsys"]["outputs"]["warehouse"]
    assert path.name == "profiles.yml" and path.stat().st_mode & 0o077 == 0
    assert (output["host"], output["port"], output["password"], output["dbname"], output["threads"]) == (
        "/tmp/pg-socket",
        5433,
        "s@cret",
        "warehouse",
        3,
    )


def test_dbt_args_carry_the_date_and_refuse_unknown_commands(tmp_path):
    args = dbt_runner.dbt_args(
        ("build",), project_dir=tmp_path, profiles_dir=tmp_path, as_of_date=AS_OF, select=("fct_events+",)
    )
    assert json.loads(args[args.index("--vars") + 1]) == {"as_of_date": "2011-12-09"}
    assert args[args.index("--select") + 1] == "fct_events+"
    with pytest.raises(ValueError, match="unsupported dbt command"):
        dbt_runner.dbt_args(("run-operation",), project_dir=tmp_path, profiles_dir=tmp_path)
    with pytest.raises(ValueError, match="--full-refresh"):
        dbt_runner.dbt_args(("test",), project_dir=tmp_path, profiles_dir=tmp_path, full_refresh=True)


def test_failure_message_names_the_failed_nodes():
    result = dbt_runner.DbtResult(
        command=("build",),
        success=False,
        elapsed=1.0,
        nodes=(
            dbt_runner.NodeResult("model.recsys.fct_events", "fct_events", "model", "error", 0.2, "relation missing"),
            dbt_runner.NodeResult("model.recsys.dim_products", "dim_products", "model", "skipped", 0.0),
            dbt_runner.NodeResult("test.recsys.unique_x", "unique_x", "test", "pass", 0.1),
        ),
    )
    message = str(dbt_runner.DbtError(result))
    assert "model.recsys.fct_events [error]: relation missing" in message
    assert "dim_products" not in message and "1 node(s)" in message


def test_project_vars_are_the_interaction_parameters():
    variables = dbt_runner.project_vars(get_settings({"RECSYS_HOME": str(REPO)}))
    assert variables["as_of_date"] is None
    assert all(weight > 0 for weight in variables["event_weights"].values())
    assert {"POST", "DOT", "M", "C2", "BANK CHARGES", "AMAZONFEE", "CRUK"} <= set(variables["fee_product_codes"])
