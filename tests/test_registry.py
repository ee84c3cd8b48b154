"""Registry rows, artifacts and the champion gate against the real warehouse.

The marts are created here with the contract columns the training reader selects and
filled from the planted data set, so the test needs neither dbt nor the generator.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import pandas as pd
import psycopg
import pytest
from planted import START, planted_frames

from recsys.platform import warehouse
from recsys.platform.settings import EvaluationConfig, TrainingConfig
from recsys.training import artifacts, registry
from recsys.training.train import run_training
from recsys.training.weighting import Weighting

CONFIG = TrainingConfig(epochs=30, no_components=16, eval_every=5, search_trials=12)
EVALUATION = EvaluationConfig(test_days=14, validation_days=14, min_train_interactions=500, min_test_users=20)
LOGICAL_DATE = (START + pd.Timedelta(days=179)).date()
#: A customer whose first and only purchase is on the business date (not in any backtest).
FRESH = "fresh-customer"

MARTS_DDL = """
create table marts.fct_interactions_daily (
    customer_id text, product_id text, event_date date, n_views integer, n_carts integer,
    n_purchases integer, quantity integer, n_ratings integer, rating double precision);
create table marts.dim_customers (
    customer_id text, country text, rfm_segment text, behaviour_segment text, tenure_days integer,
    attributes jsonb);
create table marts.dim_products (
    product_id text, title text, description text, category text, brand text, price_band text,
    is_product boolean);
"""

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def marts_url(warehouse_db) -> str:
    frames = planted_frames(seed=0)
    assert frames.users is not None and frames.items is not None
    daily = (
        frames.interactions.assign(
            event_date=frames.interactions["timestamp"].dt.date, rated=frames.interactions["rating"].notna().astype(int)
        )
        .groupby(["user_id", "item_id", "event_date"])
        .agg(n_purchases=("timestamp", "size"), n_ratings=("rated", "sum"), rating=("rating", "mean"))
        .reset_index()
    )
    popular = daily["item_id"].value_counts().index[0]
    fresh = pd.DataFrame({"user_id": [FRESH], "item_id": [popular], "event_date": [LOGICAL_DATE], "n_purchases": [1]})
    daily = pd.concat([daily, fresh.assign(n_ratings=0, rating=np.nan)], ignore_index=True)
    with warehouse.transaction(warehouse_db) as conn:
        conn.execute(MARTS_DDL)
        _copy(
            conn,
            "marts.fct_interactions_daily (customer_id, product_id, event_date, n_views, n_carts, "
            "n_purchases, quantity, n_ratings, rating)",
            [
                (
                    r.user_id,
                    r.item_id,
                    r.event_date,
                    0,
                    0,
                    r.n_purchases,
                    r.n_purchases,
                    r.n_ratings,
                    None if pd.isna(r.rating) else float(r.rating),
                )
                for r in daily.itertuples()
            ],
        )
        _copy(
            conn,
            "marts.dim_customers (customer_id, country, rfm_segment, tenure_days, attributes)",
            [
                (u, c, None, 100, json.dumps({"newsletter": i % 2 == 0}))
                for i, (u, c) in enumerate(frames.users[["user_id", "country"]].itertuples(index=False))
            ],
        )
        _copy(
            conn,
            "marts.dim_products (product_id, title, description, category, brand, price_band, is_product)",
            [
                (r.item_id, r.title, None, r.category, r.brand, "low" if r.price < 20 else "high", True)
                for r in frames.items.itertuples()
            ],
        )
    return warehouse_db


def _copy(conn: psycopg.Connection, target: str, rows: list[tuple]) -> None:
    with conn.cursor().copy(f"copy {target} from stdin") as copy:
        for row in rows:
            copy.write_row(row)


def _rows(url: str) -> pd.DataFrame:
    return registry.run_history(url).set_index("run_id")


def test_ddl_creates_the_registry_table(warehouse_db):
    with warehouse.connect(warehouse_db) as conn:
        columns = {
            r[0]
            for r in conn.execute(
                "select column_name from information_schema.columns where table_schema = 'ml' and table_name = 'model_runs'"
            )
        }
    assert {
        "run_id",
        "logical_date",
        "params",
        "metrics",
        "artifact_path",
        "artifact_checksum",
        "git_revision",
        "status",
        "gate_reason",
        "report_path",
    } <= columns


def test_champion_gate_keeps_the_champion_when_a_worse_model_arrives(marts_url, tmp_path_factory):
    artifacts_dir = tmp_path_factory.mktemp("artifacts")
    first = run_training(
        marts_url, LOGICAL_DATE, CONFIG, EVALUATION, artifacts_dir, weighting=Weighting(), git_revision="abc123"
    )
    assert first.status == registry.CHAMPION and first.promoted
    assert artifacts.verify(first.artifact_dir) == first.checksum
    row = _rows(marts_url).loc[first.run_id]
    assert row["status"] == registry.CHAMPION
    assert set(row["metrics"]["models"]) >= {
        "blend",
        "lightfm_hybrid",
        "popularity",
        "recent_popularity",
        "ease",
        "rp3beta",
        "als",
        "lightfm_cf",
    }
    assert row["metrics"]["served"]["search"] and row["metrics"]["served"]["choice"]["epochs"] > 0
    report_html = Path(first.report_path).read_text()
    assert "<img" in report_html and first.run_id in report_html

    worse = run_training(
        marts_url,
        LOGICAL_DATE,
        CONFIG.model_copy(update={"sample_fraction": 0.05}),
        EVALUATION,
        artifacts_dir,
        weighting=Weighting(),
    )
    assert worse.status == registry.REJECTED and not worse.promoted
    assert worse.metrics["blend"]["ndcg@10"] < worse.metrics["champion"]["ndcg@10"]
    assert registry.current_champion(marts_url)["run_id"] == first.run_id
    assert _rows(marts_url).loc[worse.run_id, "gate_reason"] == worse.reason

    again = run_training(marts_url, LOGICAL_DATE, CONFIG, EVALUATION, artifacts_dir, weighting=Weighting())
    assert again.run_id == first.run_id and again.checksum == first.checksum
    rows = _rows(marts_url)
    assert (rows["status"] == registry.CHAMPION).sum() == 1
    assert len(rows[rows["status"] != registry.FAILED]) == 2


def test_the_served_model_is_fitted_up_to_the_business_date(marts_url, tmp_path):
    """The served artifact is the configuration the gate judged, refitted on every purchase up to
    the business date: it knows a customer whose only purchase is on that day (the backtest
    model does not), and that purchase lifts the purchased item's neighbours in their list."""
    from recsys.platform.settings import ContextConfig
    from recsys.serving import recommend, rules

    result = run_training(marts_url, LOGICAL_DATE, CONFIG, EVALUATION, tmp_path, weighting=Weighting())
    assert result.promoted
    served = artifacts.load_model(Path(result.artifact_dir))
    backtest = artifacts.load_model(Path(result.artifact_dir) / artifacts.BACKTEST)
    production = served.config["production"]
    assert production["data_end"] == str(LOGICAL_DATE) and production["age_days_at_business_date"] == 0
    assert production["check"]["passed"] and production["check"]["train_auc"] > 0.5
    assert served.user_index([FRESH])[0] >= 0 and backtest.user_index([FRESH])[0] < 0
    assert served.config["choice"] == backtest.config["choice"]

    with warehouse.connect(marts_url) as conn:
        item = conn.execute(
            "select product_id from marts.fct_interactions_daily where customer_id = %s", (FRESH,)
        ).fetchone()[0]
    send_date = LOGICAL_DATE + pd.Timedelta(days=1)
    setup = recommend.ScoringSetup(
        send_date,
        10,
        ContextConfig(season_weight=0, event_weight=0, recent_weight=0, country_weight=0),
        rules.BusinessRules(category_cap=10, exploration_share=0),
    )
    users = pd.DataFrame({"user_id": [FRESH]})
    purchase = pd.DataFrame({"user_id": [FRESH], "item_id": [item], "timestamp": [pd.Timestamp(LOGICAL_DATE)]})
    with_purchase = recommend.recommend_for_users(served, recommend.ScoringInputs(users, None, purchase), setup)
    without = recommend.recommend_for_users(served, recommend.ScoringInputs(users, None, purchase.iloc[:0]), setup)
    row = served.item_index([item])[0]
    neighbours = served.item_ids[served.neighbours[row].indices[np.argsort(-served.neighbours[row].data)][:20]]
    assert with_purchase["item_id"].isin(neighbours).sum() > without["item_id"].isin(neighbours).sum()


def test_between_full_refits_a_night_warm_starts_the_champion(marts_url, tmp_path):
    config = CONFIG.model_copy(update={"full_refit_days": 3})
    full = run_training(marts_url, LOGICAL_DATE, config, EVALUATION, tmp_path, weighting=Weighting())
    assert full.promoted
    night = LOGICAL_DATE + dt.timedelta(days=1)
    warm = run_training(marts_url, night, config, EVALUATION, tmp_path, weighting=Weighting())
    assert warm.status == registry.CHAMPION and "incremental night" in warm.reason
    served = artifacts.load_model(Path(warm.artifact_dir))
    assert served.config["fit"] == "incremental" and served.config["production"]["warm_started_from"] == full.run_id
    assert served.config["production"]["check"]["passed"]
    assert served.config["backtest_path"] == str(Path(full.artifact_dir) / artifacts.BACKTEST)
    row = _rows(marts_url).loc[warm.run_id]
    assert row["metrics"]["incremental"]["check"]["train_auc"] > 0.5
    assert registry.current_champion(marts_url)["run_id"] == warm.run_id


def test_a_failing_run_is_recorded_as_failed(marts_url, tmp_path):
    before_any_data = START.date()
    with pytest.raises(ValueError):
        run_training(marts_url, before_any_data, CONFIG, EVALUATION, tmp_path, weighting=Weighting())
    failed = _rows(marts_url).query("status == 'failed'")
    assert len(failed) == 1 and failed["gate_reason"].iloc[0].startswith("ValueError")


def test_promotion_retires_the_previous_champion(warehouse_db):
    for run_id in ("r1", "r2"):
        registry.record_run(
            warehouse_db,
            registry.RunRecord(
                run_id=run_id,
                logical_date=LOGICAL_DATE,
                params={},
                status=registry.CHAMPION,
                metrics={"ndcg": float("nan")},
            ),
        )
    statuses = _rows(warehouse_db)["status"].to_dict()
    assert statuses["r1"] == registry.RETIRED and statuses["r2"] == registry.CHAMPION


@pytest.mark.parametrize(
    ("candidate", "champion", "promote", "reason"),
    [
        (0.30, None, True, "first champion"),
        (0.30, 0.302, True, "tolerance"),
        (0.30, 0.32, False, "champion keeps serving"),
        (0.104, None, False, "popularity"),
        (0.09, 0.05, False, "popularity"),
    ],
)
def test_champion_gate_rules(candidate, champion, promote, reason):
    config = EvaluationConfig(champion_tolerance=0.005, min_lift_over_popularity=0.05)
    decision = registry.champion_gate(
        {"ndcg@10": candidate}, None if champion is None else {"ndcg@10": champion}, {"ndcg@10": 0.10}, config
    )
    assert decision.promote is promote
    assert reason in decision.reason
