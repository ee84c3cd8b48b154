"""CRM exports: byte-identical reruns, stable holdouts, layouts, catalogue feed, audiences."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import socket

import numpy as np
import pandas as pd
import pytest

from recsys.platform import roles, warehouse
from recsys.platform.settings import RecsConfig, Settings
from recsys.publishing import export_files, exports, runs

pytestmark = pytest.mark.integration

DAY = dt.date(2011, 11, 28)
N_CUSTOMERS, K = 2000, 10
CONFIG = RecsConfig(holdout_share=0.1)


def recs_rows(offset: int) -> pd.DataFrame:
    customer = np.repeat(np.arange(N_CUSTOMERS), K)
    rank = np.tile(np.arange(1, K + 1), N_CUSTOMERS)
    return pd.DataFrame(
        {
            "user_id": [f"c{c:05d}" for c in customer],
            "rank": rank,
            "item_id": [f"p{(c + r * 7 + offset) % 60:03d}" for c, r in zip(customer, rank)],
            "score": 1.0 / rank,
            "raw_score": 1.0 / rank,
            "season_factor": 0.0,
            "event_factor": 0.0,
            "country_factor": 0.0,
            "recent_factor": 0.0,
            "promotion_factor": 0.0,
            "stock_factor": 0.0,
            "reason_code": "bought_together",
            "reason_ref": "p001",
            "source": "model",
        }
    )


EMPTY_SIMILAR = pd.DataFrame(columns=["product_id", "rank", "similar_product_id", "score"])
EMPTY_POPULAR = pd.DataFrame(columns=["segment", "country", "rank", "product_id", "score"])


KEY = "a-long-random-secret-of-the-shop"


@pytest.fixture(scope="module")
def shop(warehouse_db) -> str:
    """Customers (half with an e-mail, two segments) and 60 products (some with URLs), in the
    crm schema as dbt builds it (as the transformer role), and a published run."""
    with warehouse.transaction(warehouse_db) as conn:
        conn.execute("set local role recsys_transformer")
        conn.execute("create table marts.dim_customers (customer_id text, rfm_segment text)")
        conn.execute(
            "create table crm.crm_contacts as select 'c' || lpad(g::text, 5, '0') as customer_id,"
            " case when g %% 2 = 0 then 'u' || g || '@example.org' end as email, 'UK' as country,"
            " case when g %% 3 = 0 then 'champions' else 'loyal' end as rfm_segment,"
            " true as marketing_consent, false as is_suppressed from generate_series(0, %s) g",
            (N_CUSTOMERS - 1,),
        )
        conn.execute("insert into marts.dim_customers select customer_id, rfm_segment from crm.crm_contacts")
        conn.execute(
            "create table crm.crm_products (product_id text, title text, price numeric, product_url text,"
            " image_url text, category text, stock_level integer, is_product boolean, is_active boolean)"
        )
        conn.execute(
            "insert into crm.crm_products select 'p' || lpad(g::text, 3, '0'), 'Product, \"' || g || '\"',"
            " (g * 1.25)::numeric, case when g % 5 = 0 then 'https://cdn/p/' || g end, null, 'cat' || g % 4,"
            " g, true, g <> 59 from generate_series(0, 59) g"
        )
    publisher = roles.role_url(warehouse_db, "publisher", Settings())  # run tables as the publisher creates them
    runs.publish(publisher, recs_rows(0), EMPTY_SIMILAR, EMPTY_POPULAR, context_date=DAY, model_version="m1", k=K)
    return warehouse_db


def export(url: str, *args, **kwargs):
    """An export as the CLI runs it: as the CRM role, audience queries as the BI role."""
    settings = Settings()
    return exports.export_campaign(
        roles.role_url(url, "crm", settings),
        *args,
        email_hash_key=KEY,
        audience_url=roles.role_url(url, "bi", settings),
        **kwargs,
    )


def read(folder, name, fmt="csv") -> pd.DataFrame:
    path = folder / f"{name}.{fmt}"
    if fmt == "parquet":
        return pd.read_parquet(path)
    if fmt == "jsonl":
        return pd.read_json(path, lines=True, dtype=False)
    return pd.read_csv(path, dtype=str, keep_default_na=False)


@pytest.mark.parametrize("fmt", export_files.FORMATS)
def test_reruns_are_byte_identical_and_the_manifest_checks_them(shop, tmp_path, fmt):
    first = export(shop, CONFIG, "xmas", tmp_path / "a", k=5, fmt=fmt)
    second = export(shop, CONFIG, "xmas", tmp_path / "b", k=5, fmt=fmt)
    manifest = json.loads(first.read_text())
    assert first.read_bytes() == second.read_bytes()
    for name, entry in manifest["files"].items():
        assert (first.parent / name).read_bytes() == (second.parent / name).read_bytes()
        assert export_files.sha256_of(first.parent / name) == entry["sha256"]
    assert manifest["counts"]["audience"] == N_CUSTOMERS
    counts = manifest["counts"]
    assert counts["sent"] + counts["holdout"] + counts["global_control"] == N_CUSTOMERS
    wide = read(first.parent, "send_wide", fmt)
    assert len(wide) == manifest["counts"]["sent"] == manifest["files"][f"send_wide.{fmt}"]["rows"]


def test_wide_and_long_layouts_and_the_catalogue_feed(shop, tmp_path):
    folder = export(shop, CONFIG, "layouts", tmp_path, k=3).parent
    wide, long = read(folder, "send_wide"), read(folder, "send_long")
    expected = ["customer_id", "email_hash"] + [f"{f}_{r}" for r in (1, 2, 3) for f in exports.ITEM_FIELDS]
    assert list(wide.columns) == expected
    assert len(long) == 3 * len(wide) and set(long["rank"]) == {"1", "2", "3"}
    assert wide["customer_id"].is_unique
    first = long[long["customer_id"] == wide["customer_id"].iloc[0]].set_index("rank")
    assert wide["product_id_2"].iloc[0] == first.loc["2", "product_id"]
    assert long["product_url"].str.startswith("https://").all() and long["image_url"].str.startswith("https://").all()
    catalogue = read(folder, "catalogue")
    assert list(catalogue.columns) == list(exports.CATALOGUE_COLUMNS)
    assert len(catalogue) == 59, "inactive products are not in the feed"
    assert catalogue.loc[catalogue["id"] == "p001", "title"].item() == 'Product, "1"'


def test_holdout_is_close_to_the_share_stable_across_runs_and_left_out(shop, tmp_path):
    manifest = json.loads(export(shop, CONFIG, "spring", tmp_path / "1").read_text())
    holdout = manifest["counts"]["holdout"] + manifest["counts"]["global_control"]
    expected = 1 - 0.9 * 0.95  # the campaign's holdout of those outside the 5 % global control
    assert abs(holdout - expected * N_CUSTOMERS) < 4 * np.sqrt(N_CUSTOMERS * expected * (1 - expected))
    with warehouse.connect(shop) as conn:
        members = conn.execute(
            "select customer_id, in_holdout from recs.campaign_audiences where campaign = 'spring' order by customer_id"
        ).fetchall()
    held = {c for c, h in members if h}
    assert len(members) == N_CUSTOMERS and len(held) == holdout
    sent = set(read(tmp_path / "1" / f"spring_{DAY}", "send_long")["customer_id"])
    assert not held & sent
    runs.publish(
        roles.role_url(shop, "publisher", Settings()),
        recs_rows(13),
        EMPTY_SIMILAR,
        EMPTY_POPULAR,
        context_date=DAY,
        model_version="m2",
        k=K,
    )
    export(shop, CONFIG, "spring", tmp_path / "2")
    with warehouse.connect(shop) as conn:
        again = conn.execute(
            "select customer_id from recs.campaign_audiences where campaign = 'spring' and in_holdout"
        ).fetchall()
    assert {c for (c,) in again} == held, "the same customers are held out whatever the run"
    other = set(np.flatnonzero(exports.holdout_bucket([f"c{i:05d}" for i in range(N_CUSTOMERS)], "summer") < 0.1))
    assert other != {int(c[1:]) for c in held}, "each campaign draws its own holdout"


def test_segments_and_audience_queries_narrow_the_audience(shop, tmp_path):
    by_segment = json.loads(
        export(shop, CONFIG, "vip", tmp_path, audience=exports.Audience(segment="champions")).read_text()
    )
    assert by_segment["counts"]["audience"] == len(range(0, N_CUSTOMERS, 3))
    query = "select customer_id from marts.dim_customers where rfm_segment = 'loyal';"
    by_query = json.loads(export(shop, CONFIG, "mail", tmp_path, audience=exports.Audience(sql_text=query)).read_text())
    assert by_query["counts"]["audience"] == N_CUSTOMERS - len(range(0, N_CUSTOMERS, 3))
    with pytest.raises(ValueError, match="campaign name"):
        export(shop, CONFIG, "../etc", tmp_path)


def test_files_do_not_depend_on_how_the_rows_are_fetched(shop, tmp_path, monkeypatch):
    """Chunks end on whole customers, whatever the fetch size cuts."""
    for fmt in export_files.FORMATS:
        whole = export(shop, CONFIG, "chunks", tmp_path / "whole", k=7, fmt=fmt)
        with monkeypatch.context() as patch:
            patch.setattr(exports, "FETCH_ROWS", 500)  # not a multiple of 7: lists are cut across fetches
            chunked = export(shop, CONFIG, "chunks", tmp_path / "chunked", k=7, fmt=fmt)
        assert chunked.read_bytes() == whole.read_bytes(), fmt
        for name in json.loads(whole.read_text())["files"]:
            assert (chunked.parent / name).read_bytes() == (whole.parent / name).read_bytes(), name


def test_a_failed_export_keeps_the_recorded_audience(shop, tmp_path, monkeypatch):
    def audience() -> list[tuple]:
        with warehouse.connect(shop) as conn:
            return conn.execute(
                "select customer_id, in_holdout, holdout_bucket, run_id from recs.campaign_audiences"
                " where campaign = 'atomic' order by customer_id"
            ).fetchall()

    export(shop, CONFIG, "atomic", tmp_path / "ok")
    recorded = audience()
    ids = [row[0] for row in recorded]
    assert [row[2] for row in recorded] == exports.holdout_bucket(ids, "atomic").tolist()
    held = (exports.holdout_bucket(ids, "atomic") < CONFIG.holdout_share) | (
        exports.holdout_bucket(ids, exports.GLOBAL_CONTROL_SALT) < exports.GLOBAL_CONTROL_SHARE
    )
    assert [row[1] for row in recorded] == held.tolist()
    layout, calls = exports.wide_layout, []

    def failing(long, k):
        calls.append(len(long))
        if len(calls) == 3:
            raise RuntimeError("disk full")
        return layout(long, k)

    monkeypatch.setattr(exports, "FETCH_ROWS", 1000)
    monkeypatch.setattr(exports, "wide_layout", failing)
    with pytest.raises(RuntimeError, match="disk full"):
        export(shop, CONFIG, "atomic", tmp_path / "failed")
    assert audience() == recorded, "the audience of a failed export is rolled back"


def test_audience_queries_run_read_only_as_the_bi_role_and_leak_nothing(shop, tmp_path):
    bi = roles.role_url(shop, "bi", Settings())
    for query, error in (
        ("select pg_read_file('/etc/hostname') as customer_id", "permission denied"),
        ("select customer_id from crm.crm_contacts", "permission denied"),
        ("select customer_id from marts.dim_customers where nextval('recs.run_number') > 0", "permission denied"),
        ("select lo_creat(-1)::text as customer_id", "read-only"),
        ("select 'x' as customer_id) as a; delete from marts.dim_customers; select (select 'y'", "multiple commands"),
    ):
        with pytest.raises(Exception, match=error) as raised:
            export(shop, CONFIG, "evil", tmp_path, audience=exports.Audience(sql_text=query))
        assert socket.gethostname() not in str(raised.value)
    with pytest.raises(Exception, match="statement timeout"):
        exports.audience_ids(bi, "select customer_id from marts.dim_customers, pg_sleep(5)", timeout_seconds=0.5)


def test_addresses_leave_only_as_hashes_keyed_by_the_shop(shop, tmp_path):
    folder = export(shop, CONFIG, "hashes", tmp_path, k=2).parent
    long = read(folder, "send_long")
    sent = long.drop_duplicates("customer_id").set_index("customer_id")["email_hash"]
    assert sent["c00002"] == hmac.new(KEY.encode(), b"u2@example.org", hashlib.sha256).hexdigest()
    assert sent["c00001"] == "", "no address, no hash"
    assert not any("@" in path.read_text() for path in folder.glob("*.csv"))
    with pytest.raises(ValueError, match="RECSYS_PII__EMAIL_HASH_KEY"):
        exports.export_campaign(shop, CONFIG, "nokey", tmp_path)
