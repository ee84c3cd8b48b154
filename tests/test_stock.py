"""Stock: days of cover, one alert per product and day, restocks leave, back-in-stock audiences,
the notifier, and scores demoted as cover runs low."""

from __future__ import annotations

import csv
import datetime as dt
import http.server
import json
import threading
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import REPO

from recsys.ingest import quarantine
from recsys.ingest.landing import load_landing
from recsys.platform import dbt_runner, roles, warehouse
from recsys.platform.settings import ContextConfig, Settings, StockConfig
from recsys.serving import recommend, rules, stock

DAY1, DAY2 = dt.date(2023, 6, 1), dt.date(2023, 6, 2)
PRODUCT_COLUMNS = ["product_id", "title", "category", "brand", "price", "stock_level", "created_at", "is_active"]
EVENT_COLUMNS = ["event_id", "customer_id", "session_id", "event_type", "product_id", "event_ts", "price", "rating"]


def test_cover_factor_is_zero_above_the_threshold_and_log_below():
    factor = stock.cover_factor([np.nan, None, 30.0, 14.0, 7.0, 1.4, 0.0], 14.0, 3.0)
    np.testing.assert_allclose(factor[:4], 0.0)
    assert factor[4] == pytest.approx(np.log(0.5))
    assert factor[5] == pytest.approx(np.log(0.1))
    assert factor[6] == pytest.approx(-3.0), "floored at -max_log"
    with pytest.raises(ValueError, match="demote_cover_days"):
        stock.cover_factor([1.0], 0.0, 2.0)


def test_a_product_running_low_drops_in_the_lists_and_says_why():
    from test_recommend import NEUTRAL_RULES, ZERO, run, synthetic

    model, users, items, history = synthetic(seed=3)
    plenty = items.assign(days_of_cover=100.0)
    before = run(model, users, plenty, history, ZERO, NEUTRAL_RULES)
    # the product most often recommended runs low: 2 days of cover against a 14-day threshold
    top = before["item_id"].value_counts().index[0]
    low = plenty.assign(days_of_cover=np.where(plenty["item_id"] == top, 2.0, 100.0))
    after = run(model, users, low, history, ZERO, NEUTRAL_RULES)
    assert (after["item_id"] == top).sum() < 0.5 * (before["item_id"] == top).sum()
    rows = after[after["item_id"] == top]
    assert (rows["stock_factor"] < 0).all() and (after.loc[after["item_id"] != top, "stock_factor"] == 0).all()
    parts = after["raw_score"] + after[list(recommend.FACTOR_COLUMNS)].sum(axis=1)
    np.testing.assert_allclose(after["score"], parts, rtol=1e-4, atol=1e-4)
    off = recommend.recommend_for_users(
        model,
        recommend.ScoringInputs(users, low, history),
        recommend.ScoringSetup(dt.date(2011, 11, 28), 10, ZERO, NEUTRAL_RULES, StockConfig(demote_weight=0.0)),
    )
    assert (off["stock_factor"] == 0).all() and (off["item_id"] == top).sum() == (before["item_id"] == top).sum()


def _write(path: Path, columns: list[str], rows: list[list]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(columns)
        writer.writerows(rows)


def _product(product_id: str, stock_level: int, active: bool = True) -> list:
    return [product_id, f"Product {product_id}", "Garden", "Brand", 9.99, stock_level, "2022-01-01T00:00:00Z", active]


def _events() -> list[list]:
    """A, B and C sell one a day for four weeks (28 units each); views of A while it is out
    of stock on DAY1 by c1, c2 (who also carts it) and c3 (who then buys it)."""
    rows, n = [], 0
    for day in range(28):
        ts = dt.datetime.combine(DAY1 - dt.timedelta(days=day), dt.time(10), dt.UTC)
        for product in ("SKU-A", "SKU-B", "SKU-C"):
            n += 1
            rows.append([f"e{n}", "c9", f"s{n}", "purchase", product, ts.isoformat(), 9.99, ""])
    at = dt.datetime.combine(DAY1, dt.time(12), dt.UTC)
    rows += [
        ["v1", "c1", "s-v1", "view", "SKU-A", at.isoformat(), 9.99, ""],
        ["v2", "c2", "s-v2", "view", "SKU-A", at.isoformat(), 9.99, ""],
        ["v3", "c2", "s-v2", "cart", "SKU-A", (at + dt.timedelta(minutes=1)).isoformat(), 9.99, ""],
        ["v4", "c3", "s-v4", "view", "SKU-A", at.isoformat(), 9.99, ""],
        ["v5", "c3", "s-v5", "purchase", "SKU-A", (at + dt.timedelta(hours=2)).isoformat(), 9.99, ""],
    ]
    return rows


@pytest.fixture(scope="module")
def stock_nights(warehouse_db, tmp_path_factory):
    """DAY1: SKU-A out of stock, SKU-B 3 units at one a day, SKU-C plenty, SKU-R retired; DAY2: SKU-A restocked.
    (Ids with a prefix: a bare "B" is a fee code of the Online Retail data, var fee_product_codes.)"""
    tmp = tmp_path_factory.mktemp("stock")
    settings = Settings(home=REPO, warehouse_url=warehouse_db, data_root=tmp / "data")
    landing = settings.landing_dir
    _write(
        landing / "products" / f"products_{DAY1}.csv",
        PRODUCT_COLUMNS,
        [_product("SKU-A", 0), _product("SKU-B", 3), _product("SKU-C", 500), _product("SKU-R", 0, active=False)],
    )
    _write(landing / "events" / f"events_{DAY1}.csv", EVENT_COLUMNS, _events())
    _write(landing / "products" / f"products_{DAY2}.csv", PRODUCT_COLUMNS, [_product("SKU-A", 40)])

    def night(day: dt.date, load: bool = True) -> dbt_runner.DbtResult:
        if load:
            results = load_landing(roles.role_url(warehouse_db, "loader", settings), landing, day)
            quarantine.record_verdicts(warehouse_db, [r.batch_id for r in results if r.batch_id and not r.skipped], [])
        return dbt_runner.run_dbt(
            settings,
            roles.role_url(warehouse_db, "transformer", settings),
            ("build",),
            as_of_date=day,
            target_path=tmp / "target",
        )

    return settings, night


def _alerts(url: str) -> list[tuple]:
    with warehouse.connect(url) as conn:
        return conn.execute(
            "select alert_date, product_id, alert_kind, stock_level, round(days_of_cover::numeric, 2)"
            " from marts.fct_stock_alerts order by product_id"
        ).fetchall()


@pytest.mark.integration
def test_one_alert_per_product_and_day_and_a_restocked_product_leaves(warehouse_db, stock_nights):
    settings, night = stock_nights
    night(DAY1)
    first = _alerts(warehouse_db)
    assert first == [(DAY1, "SKU-A", "out_of_stock", 0, 0), (DAY1, "SKU-B", "low_cover", 3, 3)]
    night(DAY1, load=False)  # a rerun of the night
    assert _alerts(warehouse_db) == first, "exactly one alert per product per day"
    with warehouse.connect(warehouse_db) as conn:
        cover = dict(conn.execute("select product_id, days_of_cover from marts.dim_products").fetchall())
    assert cover["SKU-C"] == pytest.approx(500.0) and cover["SKU-B"] == pytest.approx(3.0)
    night(DAY2)
    # SKU-B: 27 of the 28 sales days are still in the window: 3 units / (27 / 28) a day
    assert _alerts(warehouse_db) == [(DAY2, "SKU-B", "low_cover", 3, Decimal("3.11"))], "SKU-A was restocked"


@pytest.mark.integration
def test_who_viewed_or_carted_while_out_of_stock_is_told_when_it_is_back(warehouse_db, stock_nights):
    with warehouse.connect(warehouse_db) as conn:
        audience = conn.execute(
            "select customer_id, product_id, back_in_stock_since, out_of_stock_views, out_of_stock_carts"
            " from marts.fct_back_in_stock_audience order by customer_id"
        ).fetchall()
        history = conn.execute(
            "select valid_from, valid_to, stock_level from intermediate.int_product_stock_history"
            " where product_id = 'SKU-A' order by valid_from"
        ).fetchall()
    assert history == [(DAY1, DAY2, 0), (DAY2, None, 40)]
    assert audience == [("c1", "SKU-A", DAY2, 1, 0), ("c2", "SKU-A", DAY2, 1, 1)], "c3 bought it since"
    settings, _ = stock_nights
    bi = roles.role_url(warehouse_db, "publisher", settings)  # any reader of marts; BI over TCP in test_bi
    with warehouse.connect(bi) as conn:
        assert conn.execute("select count(*) from marts.fct_back_in_stock_audience").fetchone() == (2,)


@pytest.mark.integration
def test_the_scoring_reads_the_cover(warehouse_db, stock_nights):
    from recsys.serving.inputs import read_inputs

    settings, _ = stock_nights
    inputs = read_inputs(roles.role_url(warehouse_db, "publisher", settings), DAY2, active_days=365)
    assert inputs.items is not None
    cover = inputs.items.set_index("item_id")["days_of_cover"]
    assert cover["SKU-B"] == pytest.approx(3 * 28 / 27) and cover["SKU-A"] == pytest.approx(40.0)


class _Hook(http.server.BaseHTTPRequestHandler):
    received: list[dict] = []

    def do_POST(self):
        length = int(self.headers["Content-Length"])
        _Hook.received.append(json.loads(self.rfile.read(length)))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.mark.integration
def test_the_notifier_logs_the_alerts_and_posts_them_to_a_webhook(
    warehouse_db, stock_nights, monkeypatch, caplog, capsys
):
    from recsys_airflow.notifiers.stock import StockAlertNotifier

    parts = warehouse.url_parts(warehouse_db)
    monkeypatch.setenv(
        "AIRFLOW_CONN_WAREHOUSE",
        json.dumps(
            {
                "conn_type": "postgres",
                "host": parts.host,
                "port": parts.port,
                "login": parts.user,
                "schema": parts.dbname,
            }
        ),
    )
    server = http.server.HTTPServer(("127.0.0.1", 0), _Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        monkeypatch.setenv("RECSYS_STOCK__NOTIFY_WEBHOOK_URL", f"http://127.0.0.1:{server.server_port}/alerts")
        notifier = StockAlertNotifier(business_date=DAY2.isoformat())
        with caplog.at_level("INFO", logger="recsys_airflow.notifiers.stock"):
            notifier({"ds": DAY2.isoformat()})
    finally:
        server.shutdown()
    assert notifier.sent == ["log", "webhook"]
    # once Airflow has configured logging (another test imported it), records go to structlog's stdout
    logged = caplog.text + capsys.readouterr().out
    assert "Stock alerts 2023-06-02: 0 out of stock, 1 running low" in logged
    assert "SKU-B  Product SKU-B  (Garden): 3 left, 3.1 days of cover" in logged
    (payload,) = _Hook.received
    assert payload["business_date"] == "2023-06-02" and [a["product_id"] for a in payload["alerts"]] == ["SKU-B"]
    monkeypatch.setenv("RECSYS_STOCK__NOTIFY_WEBHOOK_URL", "http://127.0.0.1:9/unreachable")
    with pytest.raises(OSError):
        StockAlertNotifier(business_date=DAY2.isoformat())({"ds": DAY2.isoformat()})


def test_the_setup_carries_the_stock_settings():
    setup = recommend.ScoringSetup(dt.date(2023, 1, 1), 5, ContextConfig(), rules.BusinessRules())
    assert setup.weights["stock"] == StockConfig().demote_weight
    assert pd.Series(setup.weights).index.tolist()[-1] == "stock"
