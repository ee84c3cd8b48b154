"""Campaign rules without a database: definitions, who may be sent (over many generated
shops), the tools' file layouts, the outbox, and the uplift estimator on a few seeds."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from conftest import REPO

from recsys.campaigns import eligibility, layouts, outbox, uplift
from recsys.campaigns.definitions import CampaignError, load_campaigns, parse_campaign
from recsys.generator import campaigns as simulation
from recsys.generator.catalog import make_catalog
from recsys.generator.customers import make_customers, suppressions_table
from recsys.generator.spec import shop_spec
from recsys.publishing import exports
from recsys.serving.reasons import REASON_CODES


def test_the_repositorys_campaigns_are_valid():
    found = load_campaigns(REPO / "dbt" / "campaigns")
    assert len(found) >= 2
    assert {c.layout for c in found} >= {"braze", "klaviyo"}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("name: x\nlayout: mailchimp\n", "layout"),
        ("name: x\ncadence: hourly\n", "cadence must be daily"),
        ("name: x\nholdout_share: 0.9\n", "holdout_share"),
        ("name: x\nlayout: klaviyo\nformat: parquet\n", "imported as CSV"),
        ("name: x\naudience: {segment: loyal, sql: select 1}\n", "not both"),
        ("name: ../etc\n", "name"),
        ("name: x\nkk: 4\n", "kk"),
        ("[1, 2]", "mapping"),
    ],
)
def test_a_bad_definition_is_one_line_naming_the_field(text, message):
    with pytest.raises(CampaignError, match=message) as raised:
        parse_campaign(text, "bad.yml")
    assert "\n" not in str(raised.value) and str(raised.value).startswith("bad.yml: ")


def test_cadences():
    monday = dt.date(2024, 1, 1)
    days = [monday + dt.timedelta(days=i) for i in range(50)]

    def due(cadence: str, **extra) -> list[dt.date]:
        campaign = parse_campaign(f"name: x\ncadence: '{cadence}'\n").model_copy(update=extra)
        return [d for d in days if campaign.is_due(d)]

    assert len(due("daily")) == 50
    assert due("weekly:mon") == [monday + dt.timedelta(days=7 * i) for i in range(8)]
    assert due("monthly:15") == [dt.date(2024, 1, 15), dt.date(2024, 2, 15)]
    assert due("once:2024-01-03") == [dt.date(2024, 1, 3)]
    assert due("daily", start_date=dt.date(2024, 1, 5), end_date=dt.date(2024, 1, 6)) == days[4:6]


RULES = eligibility.Rules(
    holdout_share=0.2, control_share=0.05, control_salt="global-control", frequency_cap=2, needs_address=False
)


def _contacts(seed: int) -> tuple[pd.DataFrame, pd.Series]:
    """A generated shop's customers as crm_contacts shows them, and random recent sends."""
    spec = shop_spec("tiny", seed=seed, n_customers=800)
    customers = make_customers(spec, make_catalog(spec))
    suppressed = suppressions_table(customers, spec, int(customers.signup_day.max()))
    rng = np.random.default_rng(seed)
    ids = customers.customer_id.to_pylist()
    emails = [e if rng.random() > 0.1 else None for e in customers.email.to_pylist()]
    listed = set(suppressed.column("customer_id").drop_null().to_pylist())
    listed_emails = set(suppressed.column("email").to_pylist())
    contacts = pd.DataFrame(
        {
            "customer_id": ids,
            "email": emails,
            "marketing_consent": customers.consent,
            "is_suppressed": [c in listed or e in listed_emails for c, e in zip(ids, customers.email.to_pylist())],
        }
    )
    recent = pd.Series(rng.integers(0, 4, len(ids)), index=ids)
    return contacts, recent


@pytest.mark.parametrize("seed", range(25))
def test_nobody_excluded_or_in_the_global_control_is_ever_treated(seed):
    contacts, recent = _contacts(seed)
    for rules in (RULES, eligibility.Rules(0.1, 0.05, "global-control", 3, needs_address=True)):
        assigned, excluded = eligibility.assign(contacts, f"campaign{seed}", recent, rules)
        treated = contacts.set_index("customer_id").loc[assigned.loc[assigned["arm"] == "treatment", "customer_id"]]
        assert treated["marketing_consent"].all() and not treated["is_suppressed"].any()
        assert (recent[treated.index] < rules.frequency_cap).all(), "the frequency cap holds"
        if rules.needs_address:
            assert treated["email"].notna().all()
        control = exports.holdout_bucket(treated.index, "global-control") < rules.control_share
        assert not control.any()
        assert len(assigned) + sum(excluded.values()) == len(contacts)
        again, _ = eligibility.assign(contacts.sample(frac=1, random_state=seed), f"campaign{seed}", recent, rules)
        assert again.equals(assigned), "the split is deterministic, whatever the order"


def test_the_global_control_is_the_same_customers_in_every_campaign():
    contacts, recent = _contacts(1)
    groups = [
        set(eligibility.assign(contacts, name, recent * 0, RULES)[0].query("arm == 'global_control'")["customer_id"])
        for name in ("a", "b", "c")
    ]
    assert groups[0] == groups[1] == groups[2] and 0.03 < len(groups[0]) / len(contacts) < 0.07


def test_every_reason_code_has_words():
    assert set(layouts.REASON_TEXT) == set(REASON_CODES)
    words = layouts.reason_text(
        pd.Series(["bought_together", "seasonal", "similar_to_viewed", "new_arrival"]),
        pd.Series(["P1", "christmas", None, None]),
        {"P1": "Festive Mug"},
    )
    assert words.tolist() == ["Because you bought Festive Mug", "In season: christmas", "Picked for you", "New in"]


def _long(n_customers: int = 3, k: int = 2) -> pd.DataFrame:
    rows = [
        (
            f"c{c}",
            f"c{c}@example.org" if c else None,
            f"h{c}",
            r,
            f"P{r}",
            f"Mug {r}",
            2.5 * r,
            f"u{r}",
            f"i{r}",
            "new_arrival",
            "New in",
        )
        for c in range(n_customers)
        for r in range(1, k + (c != 2))
    ]
    columns = ["customer_id", "email", "email_hash", "rank", "product_id", "title", "price", "product_url", "image_url"]
    return pd.DataFrame(rows, columns=[*columns, "reason_code", "reason"])


def test_tool_layouts_put_the_identifier_first_and_one_customer_per_row():
    braze = layouts.send_file(_long(), "braze", 3, "EUR")
    assert list(braze.columns[:3]) == ["external_id", "email", "currency"]
    assert braze["external_id"].tolist() == ["c0", "c1", "c2"] and braze["email"].isna().tolist() == [
        True,
        False,
        False,
    ]
    assert braze.loc[2, "rec_3_name"] is None, "a short list leaves the last slots empty"
    klaviyo = layouts.send_file(_long(), "klaviyo", 3, "EUR")
    assert list(klaviyo.columns[:3]) == ["Email", "customer_id", "currency"]
    wide = layouts.send_file(_long(), "wide", 3, "EUR")
    assert "email" not in wide.columns and list(wide.columns[:2]) == ["customer_id", "email_hash"]
    assert len(layouts.send_file(_long(), "long", 3, "EUR")) == len(_long())


def test_the_outbox_shows_a_send_whole_or_not_at_all(tmp_path):
    def failing(folder):
        (folder / "send.csv").write_text("half")
        raise OSError("disk full")

    with pytest.raises(OSError):
        outbox.write_folder(tmp_path, "s_2024-01-01", failing)
    assert list(tmp_path.iterdir()) == []
    folder, _ = outbox.write_folder(tmp_path, "s_2024-01-01", lambda f: (f / "manifest.json").write_text("1"))
    outbox.write_folder(tmp_path, "s_2024-01-01", lambda f: (f / "manifest.json").write_text("2"))
    assert [p.name for p in tmp_path.iterdir()] == ["s_2024-01-01"] and (folder / "manifest.json").read_text() == "2"
    assert outbox.is_url("s3://bucket/outbox") and not outbox.is_url("/srv/outbox")


def _simulated(seed: int, lift: float, n: int = 6000) -> tuple[pd.DataFrame, dict]:
    """A send to ``n`` synthetic customers with organic purchases that depend on past spend."""
    rng = np.random.default_rng(seed)
    ids = [f"c{i:05d}" for i in range(n)]
    arms = exports.assign_arms(ids, f"send{seed}", 0.2, 0.05)[["customer_id", "arm"]]
    pre = rng.gamma(0.3, 40.0, n)
    buys = rng.random(n) < 0.02 + 0.1 * (pre > 20)
    organic = pd.DataFrame(
        {"customer_id": ids, "revenue0": buys * rng.gamma(2.0, 15.0, n), "pre_period_revenue": pre, "converted0": buys}
    )
    items = pd.DataFrame(
        [(c, r, f"P{r}") for c in ids for r in (1, 2, 3)], columns=["customer_id", "rank", "product_id"]
    )
    send = simulation.Send(
        f"send{seed}",
        dt.date(2024, 1, 1),
        "braze",
        f"send{seed}_2024-01-01",
        7,
        arms,
        items,
        simulation.CampaignEffect(lift),
    )
    responses = simulation.simulate_send(send, organic, {"P1": 20.0, "P2": 12.0, "P3": 8.0}, {}, seed)
    return responses.recipients, responses.truth


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_interval_covers_the_planted_effect(seed):
    recipients, truth = _simulated(seed, lift=0.05)
    result = uplift.analyze(recipients, 0.2, 0.05).set_index(["metric", "comparison"])
    for metric in ("conversion", "revenue_per_recipient"):
        row = result.loc[(metric, "holdout")]
        assert row["ci_lower"] <= truth[metric] <= row["ci_upper"], (metric, row.to_dict(), truth)
        assert row["ci_lower"] > 0, "a 5-point lift on 6,000 customers is detected"
    assert not result["srm_flag"].any()


def test_cuped_narrows_the_interval_and_a_broken_split_is_flagged():
    recipients, _ = _simulated(3, lift=0.0)
    with_covariate = uplift.analyze(recipients, 0.2, 0.05).set_index(["metric", "comparison"])
    plain = uplift.analyze(recipients.assign(pre_period_revenue=0.0), 0.2, 0.05).set_index(["metric", "comparison"])
    width = lambda r: r["ci_upper"] - r["ci_lower"]  # noqa: E731
    assert width(with_covariate.loc[("revenue_per_recipient", "holdout")]) < width(
        plain.loc[("revenue_per_recipient", "holdout")]
    )
    # a tenth of the holdout lost (a broken join, a filter on one arm): the split no longer matches its design
    holdout = recipients.index[recipients["arm"] == "holdout"]
    broken = recipients.drop(holdout[: len(holdout) // 10 * 3])
    flagged = uplift.analyze(broken, 0.2, 0.05)
    assert flagged.loc[flagged["comparison"] == "holdout", "srm_flag"].all()
    assert not flagged.loc[flagged["comparison"] == "global_control", "srm_flag"].any()


def test_a_url_destination_gets_the_whole_send_through_object_storage(tmp_path):
    """The DAG's delivery to object storage (Airflow's ObjectStoragePath; file:// here, any
    fsspec store in production): the folder arrives whole, a second delivery replaces it."""
    from recsys_airflow.outbox import upload_folder

    local, _ = outbox.write_folder(
        tmp_path / "outbox",
        "s_2024-01-01",
        lambda f: [(f / n).write_text(n) for n in ("send_braze.csv", "manifest.json")],
    )
    target = tmp_path / "bucket"
    for _ in range(2):
        landed = upload_folder(local, f"file://{target}")
        assert landed.endswith("/s_2024-01-01")
        assert sorted(p.name for p in target.iterdir()) == ["s_2024-01-01"], "no .part folder left"
        assert (target / "s_2024-01-01" / "manifest.json").read_text() == "manifest.json"
