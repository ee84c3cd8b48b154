"""Does the context adjustment earn its place?  NDCG@10 with and without it, per month
(``python -m recsys_bench.context_uplift``).

On the UCI Online Retail data (``../shared``), for held-out weeks spread over the year
(the week starting on the first Monday of each month, ``--months``), a LightFM hybrid is
trained on everything before the week; its customers' top 10 are made by
:func:`recsys.serving.recommend.recommend_for_users` for the week's first day twice, with the
default :class:`recsys.platform.settings.ContextConfig` and with every weight at 0 (the raw model
order), and with each factor alone.  The rules (purchased items excluded, category cap)
are the same in every arm.  Truth: what each customer bought that week that they had not
bought before.  Prints a markdown table for ``docs/benchmarks.md``.

Online Retail has purchases only, so the recent-activity factor (views and carts) has
nothing to act on; ``--recent-purchases`` counts purchases as recent activity instead.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp

from recsys.platform.dbt_project import dbt_vars
from recsys.platform.settings import ContextConfig, TrainingConfig
from recsys.serving import context, recommend, rules
from recsys.training import metrics
from recsys.training.artifacts import in_memory_model
from recsys.training.blend import hybrid_only
from recsys.training.frames import order_lines_to_frames, read_table
from recsys.training.matrix import build_training_data
from recsys.training.models import LightFMRecommender
from recsys.training.weighting import load_weighting

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data" / "online_retail" / "online_retail.csv.gz"
CALENDAR = REPO / "dbt" / "seeds" / "calendar_events.csv"
K = 10
ZERO = {"season_weight": 0.0, "event_weight": 0.0, "recent_weight": 0.0, "country_weight": 0.0}


def held_out_weeks(months: list[str]) -> list[pd.Timestamp]:
    """The first Monday of each ``YYYY-MM``."""
    weeks = []
    for month in months:
        first = pd.Timestamp(f"{month}-01")
        weeks.append(first + pd.Timedelta(days=(7 - first.weekday()) % 7))
    return weeks


def truth_matrix(frames, start: pd.Timestamp, users: np.ndarray, items: np.ndarray) -> sp.csr_matrix:
    """New purchases of the week starting ``start``, users x items."""
    inter = frames.interactions
    week = inter[(inter["timestamp"] >= start) & (inter["timestamp"] < start + pd.Timedelta(days=7))]
    before = inter[inter["timestamp"] < start][["user_id", "item_id"]].drop_duplicates()
    week = week.merge(before, on=["user_id", "item_id"], how="left", indicator=True)
    week = week[week["_merge"] == "left_only"]
    rows, cols = pd.Index(users).get_indexer(week["user_id"]), pd.Index(items).get_indexer(week["item_id"])
    keep = (rows >= 0) & (cols >= 0)
    matrix = sp.csr_matrix((np.ones(keep.sum()), (rows[keep], cols[keep])), shape=(len(users), len(items)))
    matrix.data[:] = 1
    return matrix


def ndcg(recs: pd.DataFrame, truth: sp.csr_matrix, users: np.ndarray, items: np.ndarray) -> float:
    """Mean NDCG@10 over users with at least one new purchase in the week."""
    top = np.full((len(users), K), -1)
    rows = pd.Index(users).get_indexer(recs["user_id"])
    top[rows, recs["rank"].to_numpy() - 1] = pd.Index(items).get_indexer(recs["item_id"])
    relevant = metrics.n_relevant(truth)
    values = metrics.ndcg_at_k(metrics.hits(top, truth), relevant, K)
    return float(np.nanmean(values[relevant > 0]))


def evaluate_week(
    frames, start: pd.Timestamp, arms: dict[str, ContextConfig], config: TrainingConfig, business_rules, calendar
) -> dict:
    data = build_training_data(frames, start, load_weighting())
    model = in_memory_model(hybrid_only(LightFMRecommender(config).fit(data)))
    truth = truth_matrix(frames, start, data.user_ids, data.item_ids)
    evaluated = np.flatnonzero(metrics.n_relevant(truth) > 0)
    users = frames.users[frames.users["user_id"].isin(data.user_ids[evaluated])]
    history = frames.interactions[frames.interactions["timestamp"] < start].assign(event_type="purchase")
    inputs = recommend.ScoringInputs(users, frames.items, history, calendar=calendar)
    result = {"week": start.date(), "users": len(users)}
    for name, arm in arms.items():
        recs = recommend.recommend_for_users(
            model, inputs, recommend.ScoringSetup(start.date(), K, arm, business_rules)
        )
        result[name] = ndcg(recs, truth, data.user_ids, data.item_ids)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--months", nargs="+", default=[f"2011-{m:02d}" for m in range(1, 13)])
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--recent-purchases", action="store_true")
    args = parser.parse_args()
    if not DATA.exists():
        raise SystemExit(f"{DATA} not found: the shared Online Retail file must sit beside the repository")
    fee_codes = dbt_vars(REPO / "dbt" / "dbt_project.yml").get("fee_product_codes") or []
    frames = order_lines_to_frames(read_table(DATA), fee_codes)
    base = ContextConfig(recent_event_types=("view", "cart", "purchase")) if args.recent_purchases else ContextConfig()
    arms = {"raw": base.model_copy(update=ZERO), "context": base}
    for factor in ("season", "event", "country", "recent"):
        arms[f"{factor} only"] = base.model_copy(update=ZERO | {f"{factor}_weight": getattr(base, f"{factor}_weight")})
    config = TrainingConfig(epochs=args.epochs, deterministic=False)
    calendar = context.load_calendar(CALENDAR)
    business_rules = rules.BusinessRules()
    rows = []
    for start in held_out_weeks(args.months):
        began = time.perf_counter()
        rows.append(evaluate_week(frames, start, arms, config, business_rules, calendar))
        print(f"# {start.date()}: {time.perf_counter() - began:.0f}s", flush=True)
    table = pd.DataFrame(rows)
    factors = [f"{f} only" for f in ("season", "event", "country", "recent")]
    print("| held-out week | users | NDCG@10 raw | NDCG@10 context | uplift | " + " | ".join(factors) + " |")
    print("|---|---|---|---|---|---|---|---|---|")
    for row in table.to_dict("records"):
        solo = " | ".join(f"{row[f]:.4f}" for f in factors)
        print(
            f"| {row['week']} | {row['users']} | {row['raw']:.4f} | {row['context']:.4f} | "
            f"{row['context'] / row['raw'] - 1:+.1%} | {solo} |"
        )
    weighted = (table["context"] * table["users"]).sum() / (table["raw"] * table["users"]).sum() - 1
    print(f"| all weeks (user-weighted) | {table['users'].sum()} | | | {weighted:+.1%} | | | | |")


if __name__ == "__main__":
    main()
