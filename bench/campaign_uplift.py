"""Does the uplift estimator tell the truth?  Coverage, false positives and the SRM check
on seeded simulated campaigns (``python -m recsys_bench.campaign_uplift``).

Each campaign is a send on a generated shop (generator preset ``small``, five shop seeds,
send dates spread over 2023): the shop's own purchases in every arm, the real split
(:func:`recsys.campaigns.eligibility.assign`: consent, suppressions, global control,
holdout), and the generator's planted response (:mod:`recsys.generator.campaigns`).
Half the campaigns have a planted lift (1 to 5 points of conversion), half none.  Their
estimates come from the platform's own :func:`recsys.campaigns.uplift.analyze`.

Measured:

* coverage: the share of campaigns whose 95 % interval (treatment vs holdout) holds the
  true effect on their audience, for conversion and revenue per recipient;
* false positives: the share of zero-effect campaigns whose interval excludes 0;
* CUPED: the interval width with pre-period spend as covariate over the width without;
* the sample-ratio check: detection of a planted mismatch (a tenth of the holdout lost, a
  tenth of the treatment lost) and its false alarms on healthy splits.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import time
from pathlib import Path

import numpy as np
import pandas as pd

from recsys.campaigns import eligibility, uplift
from recsys.generator import campaigns as simulation
from recsys.generator.calendar import epoch_day
from recsys.generator.catalog import make_catalog
from recsys.generator.customers import make_customers, suppressions_table
from recsys.generator.events import event_model
from recsys.generator.spec import shop_spec

LIFTS = (0.01, 0.02, 0.03, 0.05)
RULES = eligibility.Rules(0.2, 0.05, "global-control", 3, needs_address=False)


def _contacts(customers, spec, send: dt.date) -> pd.DataFrame:
    """The shop's customers signed up by the send, as crm_contacts shows them."""
    day = epoch_day(send)
    listed = suppressions_table(customers, spec, day)
    suppressed = set(listed.column("customer_id").drop_null().to_pylist()) | set(listed.column("email").to_pylist())
    ids, emails = customers.customer_id.to_pylist(), customers.email.to_pylist()
    frame = pd.DataFrame(
        {
            "customer_id": ids,
            "email": emails,
            "marketing_consent": customers.consent,
            "is_suppressed": [c in suppressed or e in suppressed for c, e in zip(ids, emails)],
        }
    )
    return frame[customers.signup_day < day]


def run_campaigns(shops: int, per_shop: int, size: str) -> pd.DataFrame:
    """One row per simulated campaign: planted lift, truth, estimates and intervals."""
    rows = []
    for shop in range(shops):
        spec = shop_spec(size, seed=100 + shop)
        catalog = make_catalog(spec)
        customers = make_customers(spec, catalog)
        model = event_model(spec, catalog, customers)
        prices = dict(zip(catalog.product_id.to_pylist(), np.asarray(catalog.price, dtype=float)))
        products = np.array(catalog.product_id.to_pylist(), dtype=object)
        for n in range(per_shop):
            send = dt.date(2023, 2, 6) + dt.timedelta(days=7 * ((n * 7 + shop * 3) % 44))
            name = f"bench_{shop}_{n}"
            lift = 0.0 if n % 2 == 0 else LIFTS[(n // 2) % len(LIFTS)]
            contacts = _contacts(customers, spec, send)
            assigned, _ = eligibility.assign(contacts, name, pd.Series(dtype=float), RULES)
            rng = np.random.default_rng([shop, n])
            picks = rng.integers(0, len(products), (len(assigned), 4))
            items = pd.DataFrame(
                {
                    "customer_id": np.repeat(assigned["customer_id"].to_numpy(), 4),
                    "rank": np.tile(np.arange(1, 5), len(assigned)),
                    "product_id": products[picks.ravel()],
                }
            )
            organic = simulation.organic_outcomes(model, send, 7, 90)
            planted = simulation.Send(
                name,
                send,
                "braze",
                f"{name}_{send}",
                7,
                assigned[["customer_id", "arm"]],
                items,
                simulation.CampaignEffect(lift),
            )
            responses = simulation.simulate_send(planted, organic, prices, {}, seed=shop)
            recipients = responses.recipients
            result = uplift.analyze(recipients, RULES.holdout_share, RULES.control_share).set_index(
                ["metric", "comparison"]
            )
            plain = uplift.analyze(recipients.assign(pre_period_revenue=0.0), RULES.holdout_share, RULES.control_share)
            plain = plain.set_index(["metric", "comparison"])
            row = {"campaign": name, "send_date": send, "lift": lift, "n": len(recipients)}
            for metric in uplift.METRICS:
                estimate = result.loc[(metric, "holdout")]
                row |= {
                    f"{metric}_truth": responses.truth[metric],
                    f"{metric}_effect": estimate["effect"],
                    f"{metric}_low": estimate["ci_lower"],
                    f"{metric}_high": estimate["ci_upper"],
                    f"{metric}_width_ratio": (estimate["ci_upper"] - estimate["ci_lower"])
                    / (plain.loc[(metric, "holdout")]["ci_upper"] - plain.loc[(metric, "holdout")]["ci_lower"]),
                }
            row["srm_healthy"] = bool(result["srm_flag"].any())
            row["srm_lost_holdout"] = _srm_after_loss(recipients, "holdout")
            row["srm_lost_treatment"] = _srm_after_loss(recipients, "treatment")
            rows.append(row)
    return pd.DataFrame(rows)


def _srm_after_loss(recipients: pd.DataFrame, arm: str, share: float = 0.1) -> bool:
    """Whether the check flags the split after ``share`` of ``arm`` went missing."""
    members = recipients.index[recipients["arm"] == arm]
    broken = recipients.drop(members[: int(len(members) * share)])
    flags = uplift.analyze(broken, RULES.holdout_share, RULES.control_share)
    return bool(flags.loc[flags["comparison"] == "holdout", "srm_flag"].any())


def summarise(frame: pd.DataFrame) -> dict:
    """Coverage, false positives, CUPED width ratio and SRM rates over the campaigns."""
    zero, effect = frame[frame["lift"] == 0], frame[frame["lift"] > 0]
    summary: dict = {"campaigns": len(frame), "zero_effect": len(zero), "with_effect": len(effect)}
    for metric in uplift.METRICS:
        covered = (frame[f"{metric}_low"] <= frame[f"{metric}_truth"]) & (
            frame[f"{metric}_truth"] <= frame[f"{metric}_high"]
        )
        significant = (zero[f"{metric}_low"] > 0) | (zero[f"{metric}_high"] < 0)
        detected = (effect[f"{metric}_low"] > 0).mean()
        summary[metric] = {
            "coverage_all": round(float(covered.mean()), 3),
            "coverage_with_effect": round(float(covered[frame["lift"] > 0].mean()), 3),
            "false_positive_rate": round(float(significant.mean()), 3),
            "power": round(float(detected), 3),
            "cuped_width_ratio_median": round(float(frame[f"{metric}_width_ratio"].median()), 3),
        }
    summary["srm"] = {
        "false_alarm_rate": round(float(frame["srm_healthy"].mean()), 3),
        "detected_lost_tenth_of_holdout": round(float(frame["srm_lost_holdout"].mean()), 3),
        "detected_lost_tenth_of_treatment": round(float(frame["srm_lost_treatment"].mean()), 3),
    }
    summary["audience_median"] = int(frame["n"].median())
    return summary


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shops", type=int, default=5)
    parser.add_argument("--per-shop", type=int, default=40, help="Campaigns per shop (half with no effect).")
    parser.add_argument("--size", default="small")
    parser.add_argument("--out", type=Path, default=None, help="JSON file of the summary and every campaign.")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    frame = run_campaigns(args.shops, args.per_shop, args.size)
    summary = summarise(frame) | {"seconds": round(time.perf_counter() - started, 1)}
    print(json.dumps(summary, indent=2))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(
            json.dumps({"summary": summary, "campaigns": frame.to_dict("records")}, indent=1, default=str) + "\n"
        )
    return summary


if __name__ == "__main__":
    main()
