"""The served recommendations against the tuned baselines (``python -m recsys_bench.quality``).

On a temporal split (the last ``--test-days`` held out), two measurements on the same users
and truth (test items each customer had not had before, customers known before the cutoff):

* every baseline and the served blend through :func:`recsys.training.train.train_and_evaluate`
  (each baseline's setting and the blend's chosen on the validation window before the
  cutoff, never on the test window);
* the lists ``recsys recommend --as-of <cutoff>`` writes (:func:`recsys.serving.offline.recommend_frames`:
  the blend refitted on everything before the cutoff, then context factors, cold start and
  business rules), scored with the same metric code.

Data sets: ``online_retail`` (UCI Online Retail from ``../shared``, last 4 weeks) and
``generated`` (the project's shop generator with a seed nothing was developed on).
Prints a markdown table and writes ``bench/results/quality-<dataset>.json``.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from recsys.platform.dbt_project import dbt_vars
from recsys.platform.settings import get_settings
from recsys.serving import offline
from recsys.training import metrics
from recsys.training.evaluate import build_context
from recsys.training.frames import Frames, landing_to_frames, order_lines_to_frames, read_table
from recsys.training.split import temporal_split, windows
from recsys.training.train import train_and_evaluate
from recsys.training.weighting import load_weighting

REPO = Path(__file__).resolve().parents[1]
ONLINE_RETAIL = REPO.parent / "shared" / "data" / "online_retail" / "online_retail.csv.gz"
RESULTS_DIR = REPO / "bench" / "results"
K = 10
#: Strong baselines the served lists must beat by ``LIFT``.
STRONG = ("ease", "rp3beta", "recent_popularity")
LIFT = 0.10


def online_retail_frames() -> Frames:
    if not ONLINE_RETAIL.exists():
        raise SystemExit(f"{ONLINE_RETAIL} not found: the shared Online Retail file must sit beside the repository")
    fees = dbt_vars(REPO / "dbt" / "dbt_project.yml").get("fee_product_codes") or []
    return order_lines_to_frames(read_table(ONLINE_RETAIL), fees)


def generated_frames(preset: str, seed: int) -> Frames:
    """A generated shop's events, products and customers as standard frames."""
    from recsys.generator.shop import generate_shop, shop_spec

    with tempfile.TemporaryDirectory() as folder:
        generate_shop(shop_spec(preset, seed=seed), Path(folder), with_truth=False)
        read = {s: pd.read_csv(next((Path(folder) / s).glob("*.csv.gz"))) for s in ("events", "products", "customers")}
    return landing_to_frames(read["events"], read["products"], read["customers"])


def list_ndcg(recs: pd.DataFrame, context) -> dict[str, float]:
    """NDCG@10 and recall@10 of written lists over the evaluation context's users and truth."""
    data = context.data
    top = np.full((len(context.user_rows), K), -1, dtype=np.int64)
    position = pd.Series(np.arange(len(context.user_rows)), index=data.user_ids[context.user_rows])
    recs = recs[recs["user_id"].isin(position.index) & (recs["rank"] <= K)]
    top[position.loc[recs["user_id"]].to_numpy(), recs["rank"].to_numpy() - 1] = data.item_index(recs["item_id"])
    hit, relevant = metrics.hits(top, context.truth), metrics.n_relevant(context.truth)
    return {
        "ndcg@10": float(np.nanmean(metrics.ndcg_at_k(hit, relevant, K))),
        "recall@10": float(np.nanmean(metrics.recall_at_k(hit, relevant, K))),
        "users": int(len(context.user_rows)),
    }


def measure(frames: Frames, test_days: int) -> dict:
    """Baselines, the blend and the served lists on the last ``test_days`` of ``frames``."""
    settings = get_settings()
    evaluation = settings.evaluation.model_copy(update={"max_users": 0})  # every test customer
    logical = frames.interactions["timestamp"].max().date()
    cutoff, end = windows(logical, test_days)
    split = temporal_split(frames.interactions, cutoff, end)
    started = time.perf_counter()
    run = train_and_evaluate(frames, split, settings.training, evaluation, load_weighting())
    evaluate_seconds = time.perf_counter() - started
    started = time.perf_counter()
    recs, fit, _ = offline.recommend_frames(frames, settings, K, as_of=cutoff.date())
    served = list_ndcg(recs, build_context(split, run.data, evaluation))
    models = {e.name: {m: e.overall[m] for m in ("ndcg@10", "recall@10", "users")} for e in run.evaluations}
    best = max(STRONG, key=lambda name: models[name]["ndcg@10"])
    return {
        "split": split.describe(),
        "models": models,
        "served_lists": served,
        "best_baseline": best,
        "lift_over_best_baseline": served["ndcg@10"] / models[best]["ndcg@10"] - 1,
        "blend_lift_over_best_baseline": models["blend"]["ndcg@10"] / models[best]["ndcg@10"] - 1,
        "chosen": run.to_json()["baselines"] | {"served": fit.choice.to_json()},
        "seconds": {"evaluate": round(evaluate_seconds, 1), "recommend": round(time.perf_counter() - started, 1)},
        "load_average": os.getloadavg()[0],
    }


def markdown(result: dict) -> str:
    served = result["served_lists"]
    lines = ["| model | ndcg@10 | recall@10 |", "|---|---:|---:|"]
    lines.append(f"| **served lists (`recsys recommend`)** | **{served['ndcg@10']:.4f}** | {served['recall@10']:.4f} |")
    for name, values in sorted(result["models"].items(), key=lambda kv: -kv[1]["ndcg@10"]):
        lines.append(f"| {name} | {values['ndcg@10']:.4f} | {values['recall@10']:.4f} |")
    lines.append(
        f"\nServed lists over the best baseline ({result['best_baseline']}): "
        f"{result['lift_over_best_baseline']:+.1%} (target {LIFT:+.0%}); the blend alone "
        f"{result['blend_lift_over_best_baseline']:+.1%}; {served['users']:,} test customers."
    )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", choices=("online_retail", "generated"), default="online_retail")
    parser.add_argument("--preset", default="small", help="generator preset (generated data set)")
    parser.add_argument("--seed", type=int, default=7, help="generator seed (generated data set)")
    parser.add_argument("--test-days", type=int, default=28)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    frames = online_retail_frames() if args.dataset == "online_retail" else generated_frames(args.preset, args.seed)
    result = measure(frames, args.test_days) | {"dataset": args.dataset, "args": vars(args)}
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    name = args.dataset if args.dataset == "online_retail" else f"generated-{args.preset}-{args.seed}"
    (RESULTS_DIR / f"quality-{name}.json").write_text(json.dumps(result, indent=2, default=str) + "\n")
    print(markdown(result))


if __name__ == "__main__":
    main()
