"""Model-input and recommendation suites: enough signal before training; exactly k
valid, recommendable items per user before publishing."""

from __future__ import annotations

import datetime as dt

import pytest

from recsys.platform import warehouse
from recsys.platform.settings import QualityConfig, RecsConfig, Settings
from recsys_expectations import run_suite

pytestmark = pytest.mark.integration

DAY = dt.date(2011, 11, 30)
K = 5
CONFIG = QualityConfig(min_users=50, min_items=20, min_interactions=500, min_catalog_coverage=0.2)

INTERACTIONS = """
create table {name} (
    customer_id text, product_id text, n_views integer, n_carts integer, n_purchases integer,
    n_ratings integer, avg_rating double precision, first_interaction_at timestamptz,
    last_interaction_at timestamptz, weight double precision
)"""

RECS = "create table {name} (run_id text, customer_id text, rank integer, product_id text, score double precision)"


@pytest.fixture(scope="module")
def settings(tmp_path_factory) -> Settings:
    return Settings(home=tmp_path_factory.mktemp("dq_model"), dq=CONFIG, recs=RecsConfig(k=K))


@pytest.fixture(scope="module")
def catalogue(warehouse_db) -> str:
    """100 products (p90..p99 out of stock) and what customers c0..c99 bought."""
    with warehouse.transaction(warehouse_db) as conn:
        conn.execute(
            "create table marts.dim_products (product_id text, in_stock boolean, is_active boolean, is_product boolean)"
        )
        conn.execute("insert into marts.dim_products select 'p' || g, g < 90, true, true from generate_series(0, 99) g")
        conn.execute(
            "create table marts.fct_interactions_daily (customer_id text, product_id text, event_date date,"
            " n_views integer, n_purchases integer)"
        )
        conn.execute(
            "insert into marts.fct_interactions_daily select 'c' || g, 'p' || (80 + g %% 10), %s, 1, 1"
            " from generate_series(0, 99) g",
            (DAY,),
        )
    return warehouse_db


def interactions(url: str, name: str, users: int, items: int, per_user: int) -> str:
    with warehouse.transaction(url) as conn:
        conn.execute(INTERACTIONS.format(name=name))
        conn.execute(
            f"insert into {name} select 'c' || u, 'p' || ((u * 7 + j) %% %(items)s), 1, 0, 0, 0, null, now(), now(), 1.0"
            " from generate_series(0, %(users)s - 1) u, generate_series(0, %(per_user)s - 1) j",
            {"users": users, "items": items, "per_user": per_user},
        )
    return name


def recommendations(url: str, name: str, users: int = 100, items: int = 80) -> str:
    """K distinct in-stock items per user, rotating through ``items`` products."""
    with warehouse.transaction(url) as conn:
        conn.execute(RECS.format(name=name))
        conn.execute(
            f"insert into {name} select 'r1', 'c' || u, r, 'p' || ((u + r * 13) %% %(items)s), 1.0 / r"
            " from generate_series(0, %(users)s - 1) u, generate_series(1, %(k)s) r",
            {"users": users, "items": items, "k": K},
        )
    return name


def validate(url, settings, suite, table):
    return run_suite(url, suite, DAY, table=table, run_id=f"test__{table}", settings=settings, build_docs=False)


def failed(result) -> dict[str, str]:
    return {o.expectation: o.observed_value for o in result.errors}


def test_enough_interactions_pass(warehouse_db, settings):
    table = interactions(
        warehouse_db, "intermediate.int_user_item_interactions_plain", users=200, items=100, per_user=10
    )
    result = validate(warehouse_db, settings, "model_inputs", table)
    assert result.success, failed(result)
    density = next(o for o in result.outcomes if o.expectation == "expect_column_max_to_be_between(density)")
    assert float(density.observed_value) == pytest.approx(10 / 100)


def test_too_few_users_and_a_dense_matrix_stop_training(warehouse_db, settings):
    table = interactions(warehouse_db, "intermediate.int_user_item_interactions_small", users=20, items=30, per_user=30)
    result = validate(warehouse_db, settings, "model_inputs", table)
    assert set(failed(result)) == {
        "expect_column_max_to_be_between(n_users)",
        "expect_column_max_to_be_between(density)",
    }
    assert failed(result)["expect_column_max_to_be_between(n_users)"] == "20"
    assert float(failed(result)["expect_column_max_to_be_between(density)"]) == pytest.approx(1.0)


def test_missing_ids_and_unusable_weights_are_counted(warehouse_db, settings):
    table = interactions(
        warehouse_db, "intermediate.int_user_item_interactions_broken", users=200, items=100, per_user=10
    )
    with warehouse.transaction(warehouse_db) as conn:
        conn.execute(f"update {table} set weight = 'NaN' where customer_id = 'c1'")
        conn.execute(f"update {table} set weight = 0 where customer_id = 'c2'")
        conn.execute(f"update {table} set customer_id = null where customer_id = 'c3' and product_id = 'p21'")
    result = validate(warehouse_db, settings, "model_inputs", table)
    assert failed(result) == {
        "expect_column_max_to_be_between(invalid_weights)": "20",
        "expect_column_max_to_be_between(missing_customer_ids)": "1",
    }


def test_a_duplicated_pair_fails_unless_a_primary_key_guards_it(warehouse_db, settings):
    table = interactions(warehouse_db, "intermediate.int_user_item_interactions_dup", users=200, items=100, per_user=10)
    with warehouse.transaction(warehouse_db) as conn:
        conn.execute(f"insert into {table} select * from {table} where customer_id = 'c7' and product_id = 'p49'")
    label = "unexpected_rows_expectation(no duplicate (customer_id, product_id))"
    assert failed(validate(warehouse_db, settings, "model_inputs", table))[label].startswith(
        "1 unexpected row(s), e.g. [{customer_id: c7, product_id: p49, n_rows: 2}]"
    )
    with warehouse.transaction(warehouse_db) as conn:
        conn.execute(
            f"delete from {table} where ctid = (select max(ctid) from {table}"
            " where customer_id = 'c7' and product_id = 'p49')"
        )
        conn.execute(f"alter table {table} add primary key (customer_id, product_id)")
    key = next(o for o in validate(warehouse_db, settings, "model_inputs", table).outcomes if o.expectation == label)
    assert key.success and "enforced by unique index" in key.threshold


def test_the_dbt_view_takes_its_key_from_the_stored_pairs_under_it(warehouse_db, settings):
    stored = interactions(warehouse_db, "intermediate.int_user_item_totals", users=200, items=100, per_user=10)
    with warehouse.transaction(warehouse_db) as conn:
        conn.execute(f"create unique index int_user_item_totals_key on {stored} (customer_id, product_id)")
        conn.execute(f"create view intermediate.int_user_item_interactions as select * from {stored}")
    result = run_suite(warehouse_db, "model_inputs", DAY, run_id="test__view", settings=settings, build_docs=False)
    assert result.success, failed(result)
    key = next(o for o in result.outcomes if o.expectation.startswith("unexpected_rows_expectation(no duplicate"))
    assert key.threshold == "0 rows (enforced by unique index intermediate.int_user_item_totals_key)"


def test_valid_recommendations_pass(catalogue, settings):
    result = validate(catalogue, settings, "recommendations", recommendations(catalogue, "recs.test_recs_valid"))
    assert result.success, failed(result)


def test_staging_table_with_broken_lists_is_refused(catalogue, settings):
    table = recommendations(catalogue, "recs.test_recs_staging")
    with warehouse.transaction(catalogue) as conn:
        conn.execute(f"delete from {table} where customer_id = 'c1' and rank = {K}")
        conn.execute(f"update {table} set score = 'NaN' where customer_id = 'c2' and rank = 1")
        conn.execute(f"update {table} set product_id = 'p95' where customer_id = 'c3' and rank = 2")
        conn.execute(
            f"update {table} set product_id = (select product_id from {table} where customer_id = 'c4'"
            " and rank = 1) where customer_id = 'c4' and rank = 2"
        )
    result = validate(catalogue, settings, "recommendations", table)
    observed = failed(result)
    assert observed[f"unexpected_rows_expectation(every user has exactly {K} rows)"].startswith(
        "1 unexpected row(s), e.g. [{customer_id: c1, n_rows: 4}]"
    )
    assert "nan" in observed["expect_column_values_to_be_between(score)"]
    assert (
        "p95"
        in observed[
            "unexpected_rows_expectation(every item is a known, active, in-stock product of marts.dim_products)"
        ]
    )
    assert "unexpected_rows_expectation(no duplicate (customer_id, product_id))" in observed


def test_low_catalogue_coverage_is_refused(catalogue, settings):
    result = validate(catalogue, settings, "recommendations", recommendations(catalogue, "recs.recs_narrow", items=10))
    assert failed(result) == {"expect_column_unique_value_count_to_be_between(product_id)": "10"}
    coverage = result.errors[0].threshold
    assert coverage.startswith("min_value=18") and "of 90 recommendable products" in coverage


def test_already_bought_items_only_warn(catalogue, settings):
    table = recommendations(catalogue, "recs.recs_repeat", items=90)
    with warehouse.transaction(catalogue) as conn:
        conn.execute(
            f"insert into marts.fct_interactions_daily select customer_id, product_id, %s, 1, 2 from {table}"
            " where customer_id = 'c5' and rank = 1",
            (DAY,),
        )
    result = validate(catalogue, settings, "recommendations", table)
    assert result.success
    assert [o.expectation for o in result.warnings] == ["unexpected_rows_expectation(no item the user already bought)"]
    assert "c5" in result.warnings[0].observed_value
