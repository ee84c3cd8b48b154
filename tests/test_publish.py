"""Publishing into recs: atomic swaps, history, restore, idempotent blocks, the quality gate."""

from __future__ import annotations

import datetime as dt
import threading
import time

import numpy as np
import pandas as pd
import pytest

from recsys.platform import warehouse
from recsys.publishing import runs

pytestmark = pytest.mark.integration

DAY = dt.date(2011, 11, 28)


def recs_rows(n_customers: int, k: int = 5, offset: int = 0) -> pd.DataFrame:
    """Rows in the recommend layout: customers c0.., k distinct products each."""
    customer = np.repeat(np.arange(n_customers), k)
    rank = np.tile(np.arange(1, k + 1), n_customers)
    rows = pd.DataFrame(
        {
            "user_id": [f"c{c}" for c in customer],
            "rank": rank,
            "item_id": [f"p{(c * 3 + r + offset) % 97}" for c, r in zip(customer, rank)],
            "score": 10.0 - rank,
            "raw_score": 9.5 - rank,
            "season_factor": 0.5,
            "event_factor": 0.0,
            "country_factor": 0.0,
            "recent_factor": 0.0,
            "promotion_factor": 0.0,
            "stock_factor": 0.0,
            "reason_code": "bought_together",
            "reason_ref": "p1",
            "source": "model",
        }
    )
    rows.loc[rows.index % 7 == 0, "reason_ref"] = None
    return rows


SIMILAR = pd.DataFrame(
    {
        "product_id": ["p1", "p1", "p2"],
        "rank": [1, 2, 1],
        "similar_product_id": ["p2", "p3", "p1"],
        "score": [0.9, 0.8, 0.9],
    }
)
POPULAR = pd.DataFrame(
    {
        "segment": ["all", "all"],
        "country": ["all", "all"],
        "rank": [1, 2],
        "product_id": ["p1", "p2"],
        "score": [2.0, 1.0],
    }
)


def publish_run(url, n_customers, **kwargs):
    return runs.publish(
        url, recs_rows(n_customers), SIMILAR, POPULAR, context_date=DAY, model_version="m1", k=5, **kwargs
    )


def current_rows(url) -> pd.DataFrame:
    with warehouse.connect(url) as conn:
        cursor = conn.execute("select * from recs.user_recommendations order by customer_id, rank")
        return pd.DataFrame(cursor.fetchall(), columns=[c.name for c in cursor.description or ()])


def test_a_published_run_is_what_readers_see(warehouse_db):
    info = publish_run(warehouse_db, 40)
    assert info.status == runs.CURRENT and info.n_rows == 200 and info.n_customers == 40
    assert (info.n_similar, info.n_popular) == (3, 2)
    rows = current_rows(warehouse_db)
    assert len(rows) == 200 and set(rows["run_id"]) == {info.run_id}
    expected = recs_rows(40).sort_values(["user_id", "rank"]).reset_index(drop=True)
    assert rows["product_id"].tolist() == expected.sort_values(["user_id", "rank"])["item_id"].tolist()
    assert rows["reason_ref"].isna().sum() == expected["reason_ref"].isna().sum(), "NULL survives the COPY"
    assert (rows["context_date"] == DAY).all() and (rows["model_version"] == "m1").all()
    with warehouse.connect(warehouse_db) as conn:
        assert conn.execute("select count(*) from recs.similar_items").fetchone()[0] == 3
        assert conn.execute("select count(*) from recs.popular_items").fetchone()[0] == 2


def test_history_restore_and_pruning(warehouse_db):
    first = publish_run(warehouse_db, 10, keep_runs=2)
    second = publish_run(warehouse_db, 11, keep_runs=2)
    assert runs.get_run(warehouse_db, first.run_id).status == runs.PREVIOUS
    restored = runs.restore_run(warehouse_db, first.run_id)
    assert restored.status == runs.CURRENT and len(current_rows(warehouse_db)) == 50
    assert runs.get_run(warehouse_db, second.run_id).status == runs.PREVIOUS
    third = publish_run(warehouse_db, 12, keep_runs=2)
    statuses = runs.list_runs(warehouse_db).set_index("run_id")["status"]
    assert statuses[third.run_id] == runs.CURRENT
    assert statuses[first.run_id] == runs.PREVIOUS, "restored last, so kept as the newest previous"
    assert statuses[second.run_id] == runs.PURGED
    with pytest.raises(ValueError, match="pruned"):
        runs.restore_run(warehouse_db, second.run_id)
    with warehouse.connect(warehouse_db) as conn:
        gone = conn.execute("select to_regclass(%s)", (runs.table_name("user_recommendations", second.run_id),))
        assert gone.fetchone()[0] is None


def test_a_run_that_fails_its_check_is_not_published(warehouse_db):
    before = publish_run(warehouse_db, 8)

    def refuse(table: str) -> None:
        raise RuntimeError(f"{table}: 3 users without k rows")

    with pytest.raises(RuntimeError, match="without k rows"):
        publish_run(warehouse_db, 9, validate=refuse)
    listed = runs.list_runs(warehouse_db)
    failed = listed[listed["status"] == runs.FAILED].iloc[0]
    assert "without k rows" in failed["message"]
    assert set(current_rows(warehouse_db)["run_id"]) == {before.run_id}
    with pytest.raises(ValueError, match="failed"):
        runs.restore_run(warehouse_db, failed["run_id"])


def test_blocks_are_written_once_and_only_into_building_runs(warehouse_db):
    run_id = runs.begin_run(warehouse_db, DAY, "m1", 5)
    generated = runs.get_run(warehouse_db, run_id).started_at
    block = runs.recommendation_rows(recs_rows(6), "m1", DAY, generated)
    assert runs.write_block(warehouse_db, run_id, "user_recommendations", block, "0-6") == 30
    assert runs.write_block(warehouse_db, run_id, "user_recommendations", block, "0-6") == 0
    info = runs.finish_run(warehouse_db, run_id)
    assert info.n_rows == 30
    with pytest.raises(ValueError, match="not building"):
        runs.write_block(warehouse_db, run_id, "user_recommendations", block, "6-12")
    with pytest.raises(ValueError, match="not a publishing run id"):
        runs.run_table("user_recommendations", "x; drop table recs.runs")


def test_a_block_that_does_not_fit_its_table_writes_nothing(warehouse_db):
    run_id = runs.begin_run(warehouse_db, DAY, "m1", 5)
    rows = runs.recommendation_rows(recs_rows(6), "m1", DAY, runs.get_run(warehouse_db, run_id).started_at)
    too_deep = rows.assign(rank=rows["rank"] + 40_000)  # rank is a smallint
    with pytest.raises(ValueError, match="does not fit PostgreSQL int2"):
        runs.write_block(warehouse_db, run_id, "user_recommendations", too_deep, "0-6")
    assert runs.write_block(warehouse_db, run_id, "user_recommendations", rows, "0-6") == 30, "not marked written"
    assert runs.finish_run(warehouse_db, run_id).n_rows == 30


def filenode(url, table: str) -> int:
    with warehouse.connect(url) as conn:
        return warehouse.one_row(conn.execute("select pg_relation_filenode(%s::regclass)", (table,)))[0]


def test_the_first_block_truncates_its_table_unless_another_block_is_being_written(warehouse_db):
    """At wal_level=minimal a COPY into a table truncated in the same transaction skips the
    WAL; only an empty table nobody is writing to may be truncated."""
    busy, quiet = (runs.begin_run(warehouse_db, DAY, "m1", 5) for _ in range(2))
    rows = runs.recommendation_rows(recs_rows(12), "m1", DAY, runs.get_run(warehouse_db, busy).started_at)
    blocks = [rows.iloc[start : start + 20] for start in range(0, 60, 20)]
    busy_table, quiet_table = (runs.table_name("user_recommendations", run) for run in (busy, quiet))
    created = {table: filenode(warehouse_db, table) for table in (busy_table, quiet_table)}
    with warehouse.connect(warehouse_db) as writer:
        writer.execute(f"lock table {busy_table} in row exclusive mode")  # as another block's COPY does
        started = time.perf_counter()
        assert runs.write_block(warehouse_db, busy, "user_recommendations", blocks[0], "0-4") == 20
        assert time.perf_counter() - started < 10, "a busy table is appended to, not waited for"
    assert filenode(warehouse_db, busy_table) == created[busy_table]
    for i, block in enumerate(blocks):
        assert runs.write_block(warehouse_db, quiet, "user_recommendations", block, f"{4 * i}-{4 * i + 4}") == 20
        if i == 0:
            truncated = filenode(warehouse_db, quiet_table)
            assert truncated != created[quiet_table], "the first block got a new file"
    assert filenode(warehouse_db, quiet_table) == truncated, "later blocks append"
    info = runs.finish_run(warehouse_db, quiet)
    assert info.n_rows == 60 and info.n_customers == 12


def test_lazy_blocks_stream_through_one_transaction_and_a_failure_writes_none(warehouse_db):
    """publish_for_date scores each range while the COPY is open: nobody sees a block
    before all are written, and a scoring error midway leaves the table as it was."""
    run_id = runs.begin_run(warehouse_db, DAY, "m1", 5)
    rows = runs.recommendation_rows(recs_rows(12), "m1", DAY, runs.get_run(warehouse_db, run_id).started_at)
    table = runs.table_name("user_recommendations", run_id)
    seen = []

    def blocks(fail_at: int | None = None):
        for i in range(3):
            if i == fail_at:
                raise RuntimeError("scoring failed")
            with warehouse.connect(warehouse_db) as reader:  # the table itself is locked (truncated)
                seen.append(
                    warehouse.one_row(
                        reader.execute("select count(*) from recs.run_blocks where run_id = %s", (run_id,))
                    )[0]
                )
            yield f"{4 * i}-{4 * i + 4}", rows.iloc[20 * i : 20 * i + 20]

    with pytest.raises(RuntimeError, match="scoring failed"):
        runs.write_blocks(warehouse_db, run_id, "user_recommendations", blocks(fail_at=2))
    with warehouse.connect(warehouse_db) as conn:
        assert conn.execute(f"select count(*) from {table}").fetchone()[0] == 0
    created = filenode(warehouse_db, table)
    assert runs.write_blocks(warehouse_db, run_id, "user_recommendations", blocks()) == 60
    assert seen == [0] * 5, "no block was visible before the commit"
    assert filenode(warehouse_db, table) != created, "the one transaction truncated the table first"
    assert runs.write_blocks(warehouse_db, run_id, "user_recommendations", blocks()) == 0, "a retry skips them"
    assert runs.finish_run(warehouse_db, run_id).n_customers == 12


def test_a_reader_in_a_loop_only_ever_sees_one_complete_run(warehouse_db):
    sizes = {}
    seen = []
    stop = threading.Event()

    def read() -> None:
        with warehouse.connect(warehouse_db, autocommit=True) as conn:
            while not stop.is_set():
                seen.append(
                    conn.execute("select run_id, count(*) from recs.user_recommendations group by run_id").fetchall()
                )

    reader = threading.Thread(target=read)
    reader.start()
    try:
        for n in (300, 700, 500, 900):
            info = publish_run(warehouse_db, n, keep_runs=2)
            sizes[info.run_id] = info.n_rows
    finally:
        stop.set()
        reader.join()
    observed = [rows for rows in seen if rows]
    assert len(observed) > 10
    assert all(len(rows) == 1 for rows in observed), "never two runs in one read"
    assert all(count == sizes.get(run_id, count) for ((run_id, count),) in observed), "never a partial run"
    assert {run_id for ((run_id, _),) in observed} & set(sizes)


def test_the_output_quality_suite_gates_the_swap(warehouse_db, tmp_path):
    from recsys.platform.settings import QualityConfig, RecsConfig, Settings
    from recsys_expectations.gates import recommendations_gate
    from recsys_expectations.results import DataQualityError

    with warehouse.transaction(warehouse_db) as conn:
        conn.execute(
            "create table if not exists marts.dim_products (product_id text, in_stock boolean,"
            " is_active boolean, is_product boolean)"
        )
        conn.execute("insert into marts.dim_products select 'p' || g, true, true, true from generate_series(0, 96) g")
        conn.execute(
            "create table if not exists marts.fct_interactions_daily (customer_id text, product_id text,"
            " event_date date, n_views integer, n_purchases integer)"
        )
    settings = Settings(home=tmp_path, dq=QualityConfig(min_catalog_coverage=0.05), recs=RecsConfig(k=5))
    gate = recommendations_gate(warehouse_db, settings, DAY, build_docs=False)
    good = publish_run(warehouse_db, 30, validate=gate)
    assert good.status == runs.CURRENT
    bad = recs_rows(30)
    bad.loc[bad["rank"] == 2, "item_id"] = "p999"  # a product the catalogue does not know
    with pytest.raises(DataQualityError, match="in-stock product"):
        runs.publish(warehouse_db, bad, SIMILAR, POPULAR, context_date=DAY, model_version="m1", k=5, validate=gate)
    assert set(current_rows(warehouse_db)["run_id"]) == {good.run_id}
