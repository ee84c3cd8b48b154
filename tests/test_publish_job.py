"""The nightly publishing job end to end: marts and a registered champion in, a current run out."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import shutil

import numpy as np
import pandas as pd
import pytest
from planted import planted_frames

from recsys.platform import warehouse
from recsys.platform.settings import RecsConfig, RulesConfig, Settings, TrainingConfig
from recsys.publishing import job, runs
from recsys.training import artifacts, registry
from recsys.training.blend import hybrid_only
from recsys.training.matrix import build_training_data
from recsys.training.models import LightFMRecommender
from recsys.training.weighting import load_weighting

pytestmark = pytest.mark.integration


MARTS = {
    "dim_customers": "customer_id text, country text, rfm_segment text, behaviour_segment text, signup_date date,"
    " last_event_at timestamptz",
    "dim_products": "product_id text, title text, description text, category text, brand text, price_band text,"
    " in_stock boolean, is_active boolean, is_product boolean, created_at timestamptz,"
    " first_seen_at timestamptz, days_of_cover double precision",
    "fct_interactions_daily": "customer_id text, product_id text, event_date date, n_views integer, n_carts integer,"
    " n_purchases integer, last_event_at timestamptz",
    "fct_product_weekly_demand": "product_id text, week_start date, n_purchases integer",
    "dim_calendar_events": "event_name text, country text, start_month integer, start_day integer, end_month integer,"
    " end_day integer, lead_days integer, keywords text[], categories text[]",
}


def _insert(conn, table: str, frame: pd.DataFrame) -> None:
    with conn.cursor() as cur, cur.copy(f"copy marts.{table} ({', '.join(frame.columns)}) from stdin") as copy:
        for row in frame.itertuples(index=False):
            copy.write_row([None if isinstance(v, float) and np.isnan(v) else v for v in row])


def planted_marts(url: str, frames) -> dt.date:
    """The marts the nightly job reads, filled from the planted data set; returns the last day."""
    inter = frames.interactions.assign(event_date=frames.interactions["timestamp"].dt.date)
    last_day = inter["event_date"].max()
    daily = (
        inter.groupby(["user_id", "item_id", "event_date"])
        .agg(n_purchases=("timestamp", "size"), last_event_at=("timestamp", "max"))
        .reset_index()
    )
    weekly = (
        inter.assign(week_start=inter["timestamp"].dt.to_period("W-SUN").dt.start_time.dt.date)
        .groupby(["item_id", "week_start"])
        .size()
        .rename("n_purchases")
        .reset_index()
    )
    items = frames.items
    with warehouse.transaction(url) as conn:
        for table, columns in MARTS.items():
            conn.execute(f"create table marts.{table} ({columns})")
        _insert(
            conn,
            "dim_customers",
            frames.users.rename(columns={"user_id": "customer_id"}).assign(
                rfm_segment="loyal", signup_date=None, last_event_at=pd.Timestamp(last_day, tz="UTC")
            ),
        )
        _insert(
            conn,
            "dim_products",
            pd.DataFrame(
                {
                    "product_id": items["item_id"],
                    "title": items["title"],
                    "category": items["category"],
                    "in_stock": items.index % 10 != 0,
                    "is_active": True,
                    "is_product": True,
                }
            ),
        )
        _insert(
            conn,
            "fct_interactions_daily",
            daily.rename(columns={"user_id": "customer_id", "item_id": "product_id"}).assign(n_views=0, n_carts=0),
        )
        _insert(conn, "fct_product_weekly_demand", weekly.rename(columns={"item_id": "product_id"}))
        _insert(
            conn,
            "dim_calendar_events",
            pd.DataFrame(
                {
                    "event_name": ["christmas"],
                    "country": ["*"],
                    "start_month": [12],
                    "start_day": [1],
                    "end_month": [12],
                    "end_day": [25],
                    "lead_days": [60],
                    "keywords": [["festive"]],
                    "categories": [[]],
                }
            ),
        )
    return last_day


@pytest.fixture(scope="module")
def champion(warehouse_db, tmp_path_factory):
    """Marts filled from the planted data and a registered champion trained on them."""
    frames = planted_frames(n_users=150, items_per_category=15, days=90)
    last_day = planted_marts(warehouse_db, frames)
    config = TrainingConfig(epochs=2, no_components=8)
    data = build_training_data(frames, pd.Timestamp(last_day) + pd.Timedelta(days=1), load_weighting())
    artifact = tmp_path_factory.mktemp("model")
    checksum = artifacts.save_model(
        artifact,
        hybrid_only(LightFMRecommender(config).fit(data)),
        {"training": config.model_dump(mode="json")},
        {},
    )
    registry.record_run(
        warehouse_db,
        registry.RunRecord(
            "planted-champion",
            last_day,
            {},
            registry.CHAMPION,
            {},
            artifact_path=str(artifact),
            artifact_checksum=checksum,
        ),
    )
    return frames, last_day


def test_the_nightly_job_publishes_the_champion_from_the_marts(warehouse_db, champion, tmp_path):
    frames, last_day = champion
    settings = Settings(home=tmp_path, recs=RecsConfig(k=8, keep_runs=5))
    info = job.publish_for_date(warehouse_db, settings, last_day, range_size=40)
    assert info.status == runs.CURRENT and info.model_version == "planted-champion"
    assert info.context_date == last_day + dt.timedelta(days=1), "lists are for the day after the data"
    assert info.n_customers == len(frames.users) and info.n_rows == 8 * len(frames.users)
    assert info.n_similar > 0 and info.n_popular > 0
    with warehouse.connect(warehouse_db) as conn:
        products = {p for (p,) in conn.execute("select product_id from recs.user_recommendations")}
        blocks = conn.execute(
            "select count(*) from recs.run_blocks where run_id = %s and kind = %s",
            (info.run_id, "user_recommendations"),
        ).fetchone()[0]
    out_of_stock = set(frames.items.loc[frames.items.index % 10 == 0, "item_id"])
    assert products and not products & out_of_stock
    assert blocks == -(-len(frames.users) // 40), "one COPY block per customer range"


def test_a_run_that_cannot_be_scored_is_marked_failed(warehouse_db, champion, tmp_path):
    _, last_day = champion
    current = runs.list_runs(warehouse_db).query("status == 'current'")["run_id"].tolist()
    impossible = Settings(home=tmp_path, recs=RecsConfig(k=8), rules=RulesConfig(category_cap=1))
    with pytest.raises(ValueError, match="category_cap"):
        job.publish_for_date(warehouse_db, impossible, last_day)
    listed = runs.list_runs(warehouse_db)
    assert listed.iloc[0]["status"] == runs.FAILED and "category_cap" in listed.iloc[0]["message"]
    assert listed.query("status == 'current'")["run_id"].tolist() == current


def test_mapped_steps_give_the_same_run_as_one_process(warehouse_db, champion, tmp_path):
    frames, last_day = champion
    settings = Settings(home=tmp_path, recs=RecsConfig(k=8, keep_runs=5))
    prepared = job.prepare_run(warehouse_db, settings, last_day, range_size=64)
    assert prepared["ranges"] == [(0, 64), (64, 128), (128, 150)]
    written = [job.score_range(warehouse_db, settings, prepared["run_id"], a, b) for a, b in prepared["ranges"]]
    retried = job.score_range(warehouse_db, settings, prepared["run_id"], 0, 64)
    assert retried == 0, "a retried range writes nothing"
    info = job.finalize_run(warehouse_db, settings, prepared["run_id"])
    assert sum(written) == info.n_rows == 8 * len(frames.users)
    with warehouse.connect(warehouse_db) as conn:
        mapped = conn.execute(
            "select customer_id, rank, product_id from recs.user_recommendations order by 1, 2"
        ).fetchall()
    single = job.publish_for_date(warehouse_db, settings, last_day)
    with warehouse.connect(warehouse_db) as conn:
        whole = conn.execute(
            "select customer_id, rank, product_id from recs.user_recommendations order by 1, 2"
        ).fetchall()
    assert single.run_id != info.run_id and mapped == whole


def test_a_model_changed_after_registration_is_refused(warehouse_db, champion, tmp_path):
    """Rewriting model.npz and regenerating the manifest keeps the files consistent with each
    other; only the registry's checksum tells: the job refuses the model and names both."""
    _, last_day = champion
    artifact = tmp_path / "tampered"
    original = warehouse.one_row(
        warehouse.connect(warehouse_db).execute(
            "select artifact_path, artifact_checksum from ml.model_runs where run_id = 'planted-champion'"
        )
    )
    shutil.copytree(original[0], artifact)
    with np.load(artifact / artifacts.MODEL) as arrays:
        parts = {name: arrays[name] for name in arrays.files}
    parts["item_biases"] = parts["item_biases"] + 5.0  # push the catalogue's tail up
    artifacts._write_npz(artifact / artifacts.MODEL, parts)
    manifest = json.loads((artifact / artifacts.MANIFEST).read_text())
    manifest["files"] = {name: artifacts.sha256_file(artifact / name) for name in manifest["files"]}
    manifest["checksum"] = hashlib.sha256(
        "".join(f"{manifest['files'][n]}  {n}\n" for n in artifacts.MODEL_FILES).encode()
    ).hexdigest()
    (artifact / artifacts.MANIFEST).write_text(json.dumps(manifest))
    assert artifacts.verify(artifact) == manifest["checksum"] != original[1], "the manifest agrees with the files"
    with warehouse.transaction(warehouse_db) as conn:
        conn.execute("update ml.model_runs set artifact_path = %s where run_id = 'planted-champion'", (str(artifact),))
    try:
        with pytest.raises(artifacts.ArtifactMismatch, match=f"{manifest['checksum']} differs from {original[1]}"):
            job.publish_for_date(warehouse_db, Settings(home=tmp_path, recs=RecsConfig(k=8)), last_day)
    finally:
        with warehouse.transaction(warehouse_db) as conn:
            conn.execute(
                "update ml.model_runs set artifact_path = %s where run_id = 'planted-champion'", (original[0],)
            )
