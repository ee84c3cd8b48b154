"""Campaigns end to end on a real warehouse: a generated shop, a published run, two
campaigns planned and delivered, simulated responses loaded through the loader and the raw
gate, the campaign marts built by dbt, the uplift measured.

What must hold: nobody without consent, suppressed or in the global control is in a send
file; the frequency cap holds across campaigns of a day; the marts reproduce the
simulator's outcomes exactly; files are byte-identical for the same inputs and a rerun
does not send twice; unsubscribes of a send suppress the customer afterwards.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil

import numpy as np
import pandas as pd
import pytest

from recsys.campaigns import delivery, report, results
from recsys.campaigns.definitions import parse_campaign
from recsys.generator import campaigns as simulation
from recsys.generator.shop import generate_shop
from recsys.generator.spec import ShopSpec
from recsys.ingest.landing import load_landing
from recsys.platform import dbt_runner, roles, warehouse
from recsys.platform.settings import get_settings
from recsys.publishing import exports, runs
from recsys_expectations.gates import raw_gate

pytestmark = [pytest.mark.integration, pytest.mark.slow]

SPEC = ShopSpec(
    n_customers=1_200, n_products=120, n_events=40_000, start=dt.date(2023, 9, 1), end=dt.date(2023, 12, 31), seed=5
)
SEND = dt.date(2024, 1, 1)
WINDOW_END = dt.date(2024, 1, 7)
KEY = "campaign-test-key-of-the-shop"
BRAZE = parse_campaign("name: picks\nlayout: braze\nk: 4\nholdout_share: 0.2\ncadence: weekly:mon\n")
KLAVIYO = parse_campaign(
    "name: favourites\nlayout: klaviyo\nk: 3\nholdout_share: 0.3\ncadence: daily\npriority: 10\n"
    "audience:\n  sql: select customer_id from marts.dim_customers where country <> 'Germany'\n"
)
EFFECTS = {"picks": 0.06, "favourites": 0.0}


def _publish(url: str, customers: list[str], context_date: dt.date, seed: int) -> str:
    rng = np.random.default_rng(seed)
    products = [f"P{i:06d}" for i in range(1, SPEC.n_products + 1)]
    rows = [
        (c, r + 1, p, 1.0 / (r + 1)) for c in customers for r, p in enumerate(rng.choice(products, 5, replace=False))
    ]
    frame = pd.DataFrame(rows, columns=["user_id", "rank", "item_id", "score"]).assign(
        raw_score=lambda f: f["score"],
        season_factor=0.0,
        event_factor=0.0,
        country_factor=0.0,
        recent_factor=0.0,
        promotion_factor=0.0,
        stock_factor=0.0,
        reason_code=lambda f: np.where(f["rank"] == 1, "bought_together", "popular_in_segment"),
        reason_ref=lambda f: np.where(f["rank"] == 1, products[0], "loyal"),
        source="model",
    )
    similar = pd.DataFrame(columns=["product_id", "rank", "similar_product_id", "score"])
    popular = pd.DataFrame(columns=["segment", "country", "rank", "product_id", "score"])
    return runs.publish(url, frame, similar, popular, context_date=context_date, model_version="m1", k=5).run_id


def _load_and_build(settings, url: str, day: dt.date) -> None:
    as_role = {c: roles.role_url(url, c, settings) for c in roles.COMPONENTS}
    failed = [r for r in load_landing(as_role["loader"], settings.landing_dir, day) if r.failed]
    assert not failed, failed
    raw_gate(as_role["quality"], settings, day, build_docs=False)
    dbt_runner.run_dbt(
        settings, as_role["transformer"], ("build",), as_of_date=day, target_path=settings.data_dir / "dbt_target"
    )


@pytest.fixture(scope="module")
def shop(warehouse_db, tmp_path_factory):
    root = tmp_path_factory.mktemp("campaigns")
    settings = get_settings(
        {
            **os.environ,
            "WAREHOUSE_URL": warehouse_db,
            "RECSYS_DATA_ROOT": str(root / "data"),
            "RECSYS_ARTIFACTS_ROOT": str(root / "artifacts"),
            "RECSYS_CAMPAIGNS__FREQUENCY_CAP": "1",
        }
    )
    as_role = {c: roles.role_url(warehouse_db, c, settings) for c in roles.COMPONENTS}
    generate_shop(SPEC, settings.landing_dir, with_truth=False)
    _load_and_build(settings, warehouse_db, SPEC.end)
    with warehouse.connect(warehouse_db) as conn:
        customers = [c for (c,) in conn.execute("select customer_id from marts.dim_customers order by 1")]
    run_id = _publish(as_role["publisher"], customers, SEND, seed=1)
    planned = delivery.plan_sends(
        as_role["crm"], settings.campaigns, SEND, [KLAVIYO, BRAZE], audience_url=as_role["bi"]
    )
    locations = {
        c.name: delivery.deliver(
            as_role["crm"],
            c,
            SEND,
            recs_config=settings.recs,
            config=settings.campaigns,
            outbox_dir=settings.outbox_dir,
            email_hash_key=KEY,
        )
        for c in (KLAVIYO, BRAZE)
    }
    sends = []
    with warehouse.connect(warehouse_db) as conn:
        for campaign in (BRAZE, KLAVIYO):
            arms = pd.DataFrame(
                conn.execute(
                    "select customer_id, arm from recs.campaign_audiences where campaign = %s", (campaign.name,)
                ).fetchall(),
                columns=["customer_id", "arm"],
            )
            items = pd.DataFrame(
                conn.execute(
                    "select customer_id, rank, product_id from recs.campaign_items where campaign = %s",
                    (campaign.name,),
                ).fetchall(),
                columns=["customer_id", "rank", "product_id"],
            )
            sends.append(
                simulation.Send(
                    campaign.name,
                    SEND,
                    campaign.layout,
                    campaign.tool_campaign_name(SEND),
                    settings.campaigns.attribution_days,
                    arms,
                    items,
                    simulation.CampaignEffect(EFFECTS[campaign.name]),
                )
            )
    _, responses = simulation.write_window(SPEC, sends, settings.landing_dir)
    _load_and_build(settings, warehouse_db, WINDOW_END)
    measured = results.measure(as_role["crm"], as_role["bi"], settings.campaigns, WINDOW_END)
    return {
        "settings": settings,
        "url": warehouse_db,
        "roles": as_role,
        "run_id": run_id,
        "planned": {p.campaign: p for p in planned},
        "locations": locations,
        "responses": {s.campaign: r for s, r in zip(sends, responses)},
        "measured": measured,
    }


def _send_file(shop, campaign) -> pd.DataFrame:
    folder = shop["settings"].outbox_dir / campaign.tool_campaign_name(SEND)
    return pd.read_csv(folder / f"send_{campaign.layout}.csv", dtype=str, keep_default_na=False)


def _contacts(shop) -> pd.DataFrame:
    with warehouse.connect(shop["url"]) as conn:
        return pd.DataFrame(
            conn.execute(
                "select customer_id, email, marketing_consent, is_suppressed from crm.crm_contacts"
            ).fetchall(),
            columns=["customer_id", "email", "marketing_consent", "is_suppressed"],
        ).set_index("customer_id")


def test_nobody_without_consent_suppressed_or_in_the_global_control_is_sent(shop):
    contacts = _contacts(shop)
    braze, klaviyo = _send_file(shop, BRAZE), _send_file(shop, KLAVIYO)
    by_email = contacts.reset_index().set_index("email")
    sent = set(braze["external_id"]) | set(by_email.loc[klaviyo["Email"], "customer_id"])
    assert len(sent) > 300
    assert contacts.loc[list(sent), "marketing_consent"].all()
    # the suppression list of the shop, as of the send (unsubscribes of the send came later)
    with warehouse.connect(shop["url"]) as conn:
        listed = {
            c
            for (c,) in conn.execute(
                "select customer_id from staging.stg_shop__suppressions where customer_id is not null"
            )
        }
        listed_emails = {e for (e,) in conn.execute("select email from staging.stg_shop__suppressions")}
    assert not sent & listed
    assert not set(klaviyo["Email"]) & listed_emails
    assert not set(braze["email"]) & listed_emails
    control = exports.holdout_bucket(sorted(sent), exports.GLOBAL_CONTROL_SALT) < exports.GLOBAL_CONTROL_SHARE
    assert not control.any(), "a global-control customer was sent"
    for campaign, sent_ids in ((BRAZE, set(braze["external_id"])), (KLAVIYO, set(klaviyo["customer_id"]))):
        holdout = pd.read_csv(shop["settings"].outbox_dir / campaign.tool_campaign_name(SEND) / "holdout.csv")
        assert set(holdout["arm"]) == {"holdout", "global_control"}
        assert not set(holdout["customer_id"]) & sent_ids


def test_the_frequency_cap_holds_across_the_days_campaigns(shop):
    with warehouse.connect(shop["url"]) as conn:
        treated = conn.execute(
            "select customer_id, count(*) from recs.campaign_audiences where arm = 'treatment' group by 1 having count(*) > 1"
        ).fetchall()
    assert treated == [], "a customer was sent two campaigns with a cap of one"
    assert shop["planned"]["picks"].counts["excluded_capped"] > 0, "favourites went first and capped picks"


def test_the_files_follow_the_tools_import_specifications(shop):
    braze, klaviyo = _send_file(shop, BRAZE), _send_file(shop, KLAVIYO)
    assert list(braze.columns[:3]) == ["external_id", "email", "currency"]
    assert list(klaviyo.columns[:3]) == ["Email", "customer_id", "currency"]
    for frame, key in ((braze, "external_id"), (klaviyo, "Email")):
        assert frame[key].is_unique and (frame[key] != "").all()
        assert set(frame["currency"]) == {"GBP"}
        assert {f"rec_1_{f}" for f in ("product_id", "name", "price", "url", "image_url", "reason")} <= set(
            frame.columns
        )
        assert pd.to_numeric(frame["rec_1_price"]).gt(0).all(), "prices are plain numbers"
        assert frame["rec_1_reason"].str.startswith(("Because you bought", "Popular")).all()
    assert klaviyo["Email"].str.contains("@").all()
    manifest = json.loads(
        (shop["settings"].outbox_dir / KLAVIYO.tool_campaign_name(SEND) / "manifest.json").read_text()
    )
    assert manifest["tool_campaign_name"] == "favourites_2024-01-01" and manifest["counts"]["sent"] == len(klaviyo)


def test_a_rerun_sends_nothing_twice_and_the_same_inputs_give_the_same_bytes(shop, tmp_path):
    crm, settings = shop["roles"]["crm"], shop["settings"]
    again = delivery.deliver(
        crm, BRAZE, SEND, recs_config=settings.recs, config=settings.campaigns, outbox_dir=tmp_path, email_hash_key=KEY
    )
    assert again is None and not any(tmp_path.iterdir())
    replan = delivery.plan_sends(crm, settings.campaigns, SEND, [KLAVIYO, BRAZE], audience_url=shop["roles"]["bi"])
    assert {p.status for p in replan} == {"skipped"}
    with warehouse.connect(shop["url"]) as conn:
        log = conn.execute("select campaign, action from recs.campaign_log order by logged_at").fetchall()
    assert ("picks", "skipped") in log and log.count(("picks", "delivered")) == 1
    # the same plan delivered again (record removed) writes the same bytes
    original = shop["settings"].outbox_dir / BRAZE.tool_campaign_name(SEND)
    with warehouse.transaction(shop["url"]) as conn:
        saved = conn.execute("select * from recs.campaign_deliveries where campaign = 'picks'").fetchone()
        conn.execute("delete from recs.campaign_deliveries where campaign = 'picks'")
    try:
        location = delivery.deliver(
            crm,
            BRAZE,
            SEND,
            recs_config=settings.recs,
            config=settings.campaigns,
            outbox_dir=tmp_path,
            email_hash_key=KEY,
        )
        assert location is not None
        for path in original.iterdir():
            assert (tmp_path / original.name / path.name).read_bytes() == path.read_bytes(), path.name
    finally:
        with warehouse.transaction(shop["url"]) as conn:
            conn.execute("delete from recs.campaign_deliveries where campaign = 'picks'")
            conn.execute(
                "insert into recs.campaign_deliveries values (" + ", ".join(["%s"] * len(saved)) + ")",
                [json.dumps(v) if isinstance(v, dict) else v for v in saved],
            )
        shutil.rmtree(tmp_path / original.name)


def test_the_marts_reproduce_the_simulated_outcomes(shop):
    with warehouse.connect(shop["url"]) as conn:
        for campaign, responses in shop["responses"].items():
            mart = pd.DataFrame(
                conn.execute(
                    "select customer_id, arm, converted, revenue::float8, pre_period_revenue::float8, clicked"
                    " from marts.fct_campaign_recipients where campaign = %s order by customer_id",
                    (campaign,),
                ).fetchall(),
                columns=["customer_id", "arm", "converted", "revenue", "pre_period_revenue", "clicked"],
            )
            simulated = responses.recipients.sort_values("customer_id").reset_index(drop=True)
            assert mart["customer_id"].tolist() == simulated["customer_id"].tolist()
            assert mart["arm"].tolist() == simulated["arm"].tolist()
            assert mart["converted"].tolist() == simulated["converted"].astype(bool).tolist(), campaign
            np.testing.assert_allclose(mart["revenue"], simulated["revenue"], atol=1e-6)
            np.testing.assert_allclose(mart["pre_period_revenue"], simulated["pre_period_revenue"], atol=1e-6)
            assert not mart.loc[mart["arm"] != "treatment", "clicked"].any(), "controls got no e-mail"


def test_uplift_is_recorded_with_intervals_and_seen_by_bi(shop):
    measured = shop["measured"]
    assert set(measured["campaign"]) == {"picks", "favourites"}
    assert set(zip(measured["metric"], measured["comparison"])) == {
        (m, c) for m in ("conversion", "revenue_per_recipient") for c in ("holdout", "global_control")
    }
    assert (measured["ci_lower"] <= measured["effect"]).all() and (measured["effect"] <= measured["ci_upper"]).all()
    assert not measured["srm_flag"].any()
    picks = measured[(measured["campaign"] == "picks") & (measured["comparison"] == "holdout")].set_index("metric")
    truth = shop["responses"]["picks"].truth
    width = picks.loc["conversion", "ci_upper"] - picks.loc["conversion", "ci_lower"]
    assert abs(picks.loc["conversion", "effect"] - truth["conversion"]) < width, "estimate near the planted effect"
    import psycopg

    with psycopg.connect(shop["roles"]["bi"]) as conn:
        rows = conn.execute("select campaign, metric, is_significant from bi.bi_campaign_uplift").fetchall()
        arms = conn.execute(
            "select arm, recipients, click_rate from bi.bi_campaign_arms where campaign = 'picks'"
        ).fetchall()
    assert len(rows) == 8
    assert {a for a, _, _ in arms} == {"treatment", "holdout", "global_control"}
    assert all((rate or 0) == 0 for arm, _, rate in arms if arm != "treatment")


def test_unsubscribes_of_a_send_suppress_the_customer_afterwards(shop):
    responses = shop["responses"]["picks"]
    unsubscribed = responses.email_events.loc[
        responses.email_events["event_type"] == "users.messages.email.Unsubscribe", "external_user_id"
    ]
    contacts = _contacts(shop)
    assert contacts.loc[list(unsubscribed), "is_suppressed"].all()


def test_the_report_shows_uplift_and_funnels(shop, tmp_path):
    found = results.read_results(shop["roles"]["crm"])
    arms = results.read_arms(shop["roles"]["bi"])
    html = report.write_report(found, arms, str(WINDOW_END), tmp_path / "report.html").read_text()
    assert html.count("<img") >= 4 and "picks" in html and "favourites" in html
