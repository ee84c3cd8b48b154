"""Mart suites on tables built to the dbt contracts with plain SQL: clean marts pass;
a low-volume day, stale data, broken keys and orphans stop the gate.  Row checks of the
incremental facts read the days the night rebuilt; keys come from the primary key when
the table has one, else from the whole table."""

from __future__ import annotations

import datetime as dt

import pytest

from recsys.platform import warehouse
from recsys.platform.settings import QualityConfig, Settings
from recsys_expectations import run_suite
from recsys_expectations.catalog import unique_key_index
from recsys_expectations.sqltext import render
from recsys_expectations.window import DEFAULT_LOOKBACK_DAYS, recent_from

pytestmark = pytest.mark.integration

DAY = dt.date(2011, 11, 30)
PER_DAY = 400
#: The days the events tables below span.
FIRST_DAY, LAST_DAY = DAY - dt.timedelta(days=40), DAY + dt.timedelta(days=3)

FCT_EVENTS = """
create table {name} (
    event_id text, source text, customer_id text, session_id text, event_type text, product_id text,
    event_ts timestamptz, event_date date, quantity integer, price numeric, revenue numeric,
    rating integer, batch_id bigint
)"""

# 36 days up to DAY, 5 % purchases, 60 products; a few products first appear each day.
EVENTS_ROWS = """
insert into {name}
select 'e' || d::date || '-' || g, 'events', 'c' || (g %% 80), 's' || (g / 4),
       case when g %% 20 = 0 then 'purchase' else 'view' end,
       case when g = 1 then 'new-' || d::date else 'p' || (g %% 60) end,
       d + make_interval(secs => g * 60), d::date, 1, 9.5, 9.5, null, 1
from generate_series(%(first)s::date, %(last)s::date, interval '1 day') as d,
     generate_series(1, %(per_day)s) as g
"""


@pytest.fixture(scope="module")
def settings(tmp_path_factory) -> Settings:
    return Settings(home=tmp_path_factory.mktemp("dq_marts"), dq=QualityConfig(freshness_lag_days=1))


def events_table(url: str, name: str, first: dt.date, last: dt.date = DAY, per_day: int = PER_DAY) -> str:
    with warehouse.transaction(url) as conn:
        conn.execute(FCT_EVENTS.format(name=name))
        conn.execute(EVENTS_ROWS.format(name=name), {"first": first, "last": last, "per_day": per_day})
    return name


@pytest.fixture(scope="module")
def dims(warehouse_db) -> str:
    """Customers c0..c79 and products p0..p59 (+ the daily new ones) as dbt builds them; a
    product's first_seen_at is the first day any events table below has it."""
    with warehouse.transaction(warehouse_db) as conn:
        conn.execute(
            "create table marts.dim_customers (customer_id text, country text, signup_date date, rfm_segment text)"
        )
        conn.execute(
            "insert into marts.dim_customers select 'c' || g, 'UK', date '2010-01-01', 'loyal' from generate_series(0, 79) g"
        )
        conn.execute(
            "create table marts.dim_products (product_id text, title text, price numeric, stock_level integer,"
            " in_stock boolean, is_active boolean, is_product boolean, first_seen_at timestamptz)"
        )
        conn.execute(
            "insert into marts.dim_products select 'p' || g, 'P', 5, 10, true, true, true, %s"
            " from generate_series(0, 59) g",
            (FIRST_DAY,),
        )
        conn.execute(
            "insert into marts.dim_products select 'new-' || d::date, 'P', 5, 10, true, true, true, d"
            " from generate_series(%s::date, %s::date, interval '1 day') d",
            (FIRST_DAY, LAST_DAY),
        )
    return warehouse_db


def validate(url, settings, suite, table, day=DAY):
    return run_suite(url, suite, day, table=table, run_id=f"test__{table}", settings=settings, build_docs=False)


def failed(result) -> dict[str, str]:
    return {o.expectation: o.observed_value for o in result.errors}


def test_clean_events_pass_with_learnt_bands(dims, settings):
    table = events_table(dims, "marts.fct_events", DAY - dt.timedelta(days=35))
    result = validate(dims, settings, "marts_fct_events", table)
    assert result.success, failed(result)
    volume = next(o for o in result.outcomes if o.expectation == "expect_column_max_to_be_between(n_events)")
    assert volume.observed_value == str(PER_DAY) and "median 400/day" in volume.threshold
    assert volume.threshold.startswith(f"min_value={int(0.2 * PER_DAY)}, max_value={5 * PER_DAY}")


def test_a_day_with_a_tenth_of_the_volume_fails(dims, settings):
    table = events_table(dims, "marts.fct_events_low", DAY - dt.timedelta(days=35), DAY - dt.timedelta(days=1))
    with warehouse.transaction(dims) as conn:
        conn.execute(EVENTS_ROWS.format(name=table), {"first": DAY, "last": DAY, "per_day": PER_DAY // 10})
    result = validate(dims, settings, "marts_fct_events", table)
    assert failed(result) == {"expect_column_max_to_be_between(n_events)": str(PER_DAY // 10)}


def test_a_five_fold_spike_fails(dims, settings):
    table = events_table(dims, "marts.fct_events_spike", DAY - dt.timedelta(days=35), DAY - dt.timedelta(days=1))
    with warehouse.transaction(dims) as conn:
        conn.execute(EVENTS_ROWS.format(name=table), {"first": DAY, "last": DAY, "per_day": PER_DAY * 6})
    result = validate(dims, settings, "marts_fct_events", table)
    assert "expect_column_max_to_be_between(n_events)" in failed(result)


def test_stale_marts_fail_freshness(dims, settings):
    table = events_table(dims, "marts.fct_events_stale", DAY - dt.timedelta(days=40), DAY - dt.timedelta(days=5))
    result = validate(dims, settings, "marts_fct_events", table)
    assert failed(result)["expect_column_max_to_be_between(event_date)"] == (DAY - dt.timedelta(days=5)).isoformat()


def test_purchase_share_outside_its_band_fails(dims, settings):
    table = events_table(dims, "marts.fct_events_mix", DAY - dt.timedelta(days=35))
    with warehouse.transaction(dims) as conn:
        conn.execute(f"update {table} set event_type = 'purchase' where event_date = %s and random() < 0.5", (DAY,))
    result = validate(dims, settings, "marts_fct_events", table)
    assert list(failed(result)) == ["expect_column_max_to_be_between(purchase_share)"]


def test_short_history_only_warns(dims, settings):
    table = events_table(dims, "marts.fct_events_young", DAY - dt.timedelta(days=3), DAY - dt.timedelta(days=1))
    with warehouse.transaction(dims) as conn:
        conn.execute(EVENTS_ROWS.format(name=table), {"first": DAY, "last": DAY, "per_day": PER_DAY // 10})
    result = validate(dims, settings, "marts_fct_events", table)
    assert result.success
    volume = next(o for o in result.warnings if o.expectation == "expect_column_max_to_be_between(n_events)")
    assert "only 3 day(s)" in volume.threshold


def test_duplicated_event_ids_fail_the_key(dims, settings):
    table = events_table(dims, "marts.fct_events_dup", DAY - dt.timedelta(days=35))
    with warehouse.transaction(dims) as conn:
        conn.execute(f"insert into {table} select * from {table} where event_date = %s limit 10", (DAY,))
    result = validate(dims, settings, "marts_fct_events", table)
    assert "unexpected_rows_expectation(no duplicate event_id)" in failed(result)


def _interactions(url: str, name: str, orphan: bool) -> str:
    with warehouse.transaction(url) as conn:
        conn.execute(
            f"create table {name} (customer_id text, product_id text, event_date date, n_views integer,"
            " n_carts integer, n_purchases integer, quantity integer, n_ratings integer, rating double precision)"
        )
        conn.execute(
            f"insert into {name} select 'c' || (g % 80), 'p' || ((g / 80) % 60), date '2011-11-30' - (g / 4800), 1, 0, 0, 0, 0, null"
            " from generate_series(0, 9599) g"
        )
        if orphan:
            conn.execute(f"insert into {name} values ('ghost', 'p1', date '2011-11-30', 1, 0, 0, 0, 0, null)")
    return name


def test_interactions_with_known_keys_pass(dims, settings):
    result = validate(
        dims, settings, "marts_fct_interactions_daily", _interactions(dims, "marts.fct_interactions_daily", False)
    )
    assert result.success, failed(result)


def test_an_interaction_of_an_unknown_customer_fails(dims, settings):
    result = validate(
        dims, settings, "marts_fct_interactions_daily", _interactions(dims, "marts.fct_interactions_orphan", True)
    )
    label = "unexpected_rows_expectation(every interaction's customer exists in marts.dim_customers)"
    assert list(failed(result)) == [label]
    assert failed(result)[label].startswith("1 unexpected row(s), e.g. [{customer_id: ghost, n_rows: 1}]")


def test_dimension_keys(dims, settings):
    assert validate(dims, settings, "marts_dim_customers", "marts.dim_customers").success
    assert validate(dims, settings, "marts_dim_products", "marts.dim_products").success
    with warehouse.transaction(dims) as conn:
        conn.execute("create table marts.dim_products_broken as select * from marts.dim_products")
        conn.execute("insert into marts.dim_products_broken (product_id) values ('p1'), (null)")
    result = validate(dims, settings, "marts_dim_products", "marts.dim_products_broken")
    assert set(failed(result)) == {
        "expect_column_values_to_not_be_null(product_id)",
        "unexpected_rows_expectation(no duplicate product_id)",
    }


def test_a_closed_weekday_without_events_only_warns(dims, settings):
    saturday = dt.date(2011, 12, 3)
    table = events_table(dims, "marts.fct_events_weekdays", saturday - dt.timedelta(days=35), saturday)
    with warehouse.transaction(dims) as conn:
        conn.execute(f"delete from {table} where extract(isodow from event_date) = 6")
    result = validate(dims, settings, "marts_fct_events", table, day=saturday)
    assert result.success, failed(result)
    assert {o.expectation for o in result.warnings} == {
        "expect_column_max_to_be_between(n_events)",
        "expect_column_max_to_be_between(purchase_share)",
        "expect_column_max_to_be_between(new_product_share)",
    }
    assert "no Saturday in the window had data" in result.warnings[0].threshold


def test_a_bad_night_fails_the_row_checks_which_read_only_the_rebuilt_days(dims, settings):
    table = events_table(dims, "marts.fct_events_bad_night", DAY - dt.timedelta(days=35))
    with warehouse.transaction(dims) as conn:
        conn.execute(f"update {table} set event_type = 'click' where event_id = %s", (f"e{DAY}-2",))
        conn.execute(f"update {table} set event_id = null where event_id = %s", (f"e{DAY}-3",))
    observed = failed(validate(dims, settings, "marts_fct_events", table))
    recent_days = (DAY - recent_from(DAY, DEFAULT_LOOKBACK_DAYS)).days + 1
    assert observed["expect_column_values_to_not_be_null(event_id)"].startswith(
        f"{100 / (recent_days * PER_DAY):.2f}% unexpected (1 of {recent_days * PER_DAY:,} rows)"
    )
    assert "click" in observed["expect_column_values_to_be_in_set(event_type)"]


def test_an_old_duplicate_is_found_when_no_primary_key_guards_the_table(dims, settings):
    table = events_table(dims, "marts.fct_events_old_dup", DAY - dt.timedelta(days=35))
    with warehouse.transaction(dims) as conn:
        conn.execute(
            f"insert into {table} select * from {table} where event_date = %s limit 1", (DAY - dt.timedelta(days=20),)
        )
    result = validate(dims, settings, "marts_fct_events", table)
    assert list(failed(result)) == ["unexpected_rows_expectation(no duplicate event_id)"]
    assert failed(result)["unexpected_rows_expectation(no duplicate event_id)"].startswith("1 unexpected row(s)")


def test_a_primary_key_answers_the_key_check_from_the_catalogue(dims, settings):
    table = events_table(dims, "marts.fct_events_keyed", DAY - dt.timedelta(days=35))
    with warehouse.transaction(dims) as conn:
        conn.execute(f"alter table {table} add primary key (event_id)")
    result = validate(dims, settings, "marts_fct_events", table)
    assert result.success, failed(result)
    key = next(o for o in result.outcomes if o.expectation == "unexpected_rows_expectation(no duplicate event_id)")
    assert key.observed_value == "0 unexpected row(s)"
    assert key.threshold == "0 rows (enforced by unique index marts.fct_events_keyed_pkey)"


def test_only_a_valid_plain_unique_index_within_the_key_enforces_it(warehouse_db):
    with warehouse.transaction(warehouse_db) as conn:
        conn.execute("create table marts.keyed (a text, b text, c text)")
        conn.execute("create unique index keyed_ab on marts.keyed (a, b)")
        conn.execute("create unique index keyed_c_some on marts.keyed (c) where a is not null")
        conn.execute("create unique index keyed_lower_b on marts.keyed (lower(b))")
        conn.execute("create index keyed_c on marts.keyed (c)")
    with warehouse.connect(warehouse_db) as conn:
        assert unique_key_index(conn, "marts.keyed", ["a", "b"]) == "marts.keyed_ab"
        assert unique_key_index(conn, "marts.keyed", ["c", "b", "a"]) == "marts.keyed_ab"
        assert unique_key_index(conn, "marts.keyed", ["a"]) is None
        assert unique_key_index(conn, "marts.keyed", ["b", "c"]) is None


def test_the_catalogue_key_check_fails_once_its_index_is_gone(warehouse_db):
    with warehouse.transaction(warehouse_db) as conn:
        conn.execute("create table marts.guarded (a text primary key)")
        conn.execute("insert into marts.guarded values ('x')")
    rule = render("unique_index_lost.sql", index_name="marts.guarded_pkey").replace("{batch}", "marts.guarded")
    with warehouse.transaction(warehouse_db) as conn:
        assert conn.execute(rule).fetchall() == []
        conn.execute("alter table marts.guarded drop constraint guarded_pkey")
        assert conn.execute(rule).fetchall() == [("marts.guarded_pkey",)]
