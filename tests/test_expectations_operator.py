"""The Airflow gate operator and the ``recsys dq run`` command, on a real warehouse."""

from __future__ import annotations

import datetime as dt
import json
import random

import pytest
from airflow.sdk.exceptions import AirflowFailException
from typer.testing import CliRunner

from recsys.platform import warehouse

pytestmark = pytest.mark.integration

DAY = dt.date(2011, 11, 30)


@pytest.fixture(scope="module")
def url(warehouse_db) -> str:
    """One batch of catalogue rows for DAY, three of them with negative prices."""
    rng = random.Random(7)
    with warehouse.transaction(warehouse_db) as conn:
        batch = warehouse.one_row(
            conn.execute(
                "insert into raw.load_batches (source, file_name, file_sha256, logical_date, started_at, status)"
                " values ('products', 'products.csv', 'x', %s, now(), 'succeeded') returning batch_id",
                (DAY,),
            )
        )[0]
        with conn.cursor() as cur:
            cur.executemany(
                "insert into raw.products (product_id, title, price, stock_level, created_at, is_active, _batch_id,"
                " _line_number) values (%s, 'x', %s, 5, '2010-06-01', true, %s, %s)",
                [(f"p{i}", -1.5 if i < 3 else round(rng.uniform(1, 9), 2), batch, i + 1) for i in range(100)],
            )
    return warehouse_db


@pytest.fixture
def env(url, tmp_path, monkeypatch):
    """The ``warehouse`` Airflow connection and the settings home, from the environment."""
    parts = warehouse.url_parts(url)
    conn = {
        "conn_type": "postgres",
        "host": parts.host,
        "port": parts.port,
        "login": parts.user,
        "password": parts.password,
        "schema": parts.dbname,
    }
    monkeypatch.setenv("AIRFLOW_CONN_WAREHOUSE", json.dumps(conn))
    monkeypatch.setenv("RECSYS_HOME", str(tmp_path))
    monkeypatch.delenv("WAREHOUSE_URL", raising=False)
    monkeypatch.delenv("RECSYS_WAREHOUSE_URL", raising=False)
    return tmp_path


def test_operator_fails_the_task_naming_table_expectation_and_observed_value(url, env):
    from recsys_airflow.operators.data_quality import DataQualityOperator

    operator = DataQualityOperator(task_id="raw_products_gate", suite="raw_products")
    context = {"logical_date": dt.datetime(2011, 11, 30, tzinfo=dt.UTC), "run_id": "scheduled__2011-11-30"}
    with pytest.raises(AirflowFailException) as raised:
        operator.execute(context)
    message = str(raised.value)
    assert "raw.products" in message
    assert "expect_column_values_to_be_between(price)" in message
    assert "3.00% unexpected (3 of 100 rows)" in message
    with warehouse.connect(url) as conn:
        rows = conn.execute(
            "select observed_value, threshold from dq.validation_results where run_id = 'scheduled__2011-11-30'"
            " and expectation = 'expect_column_values_to_be_between(price)' and not success"
        ).fetchall()
    assert rows == [(rows[0][0], "min_value=0, max_value=100000")] and rows[0][0] in message
    assert (env / "artifacts" / "dq" / "data_docs" / "index.html").exists()


def test_operator_passes_a_clean_batch_and_returns_a_summary(url, env):
    from recsys_airflow.operators.data_quality import DataQualityOperator

    operator = DataQualityOperator(task_id="raw_customers_gate", suite="raw_customers", logical_date=DAY.isoformat())
    summary = operator.execute({"run_id": "manual__test"})
    assert summary[0]["suite"] == "raw_customers" and summary[0]["warnings"] == 1  # an empty customer batch


def test_cli_prints_a_table_and_exits_non_zero_on_errors(url, env):
    import typer

    from recsys.cli.dq_cmd import register

    app = typer.Typer()
    register(app)
    result = CliRunner().invoke(
        app, ["dq", "run", "--suite", "raw_products", "--date", DAY.isoformat(), "--url", url, "--no-docs"]
    )
    assert result.exit_code == 1, result.output
    assert "expect_column_values_to_be_between(price)" in result.output
    assert "3.00% unexpected" in result.output
    ok = CliRunner().invoke(
        app, ["dq", "run", "--suite", "raw_customers", "--date", DAY.isoformat(), "--url", url, "--no-docs"]
    )
    assert ok.exit_code == 0, ok.output
