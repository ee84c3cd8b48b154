"""Batch scoring and publishing throughput (``python -m recsys_bench.scoring``).

Scores ``--users`` customers against ``--items`` products (top ``--k``) with
:func:`recsys.ranking.topk.top_k` and, in the same run and process, times a plain float32
numpy matrix product of the same shape (blocked into a reused buffer, BLAS on every
core), so the ratio is measured on the same machine state.  Then publishes ``--rows-users``
customers' lists of 10 through :func:`recsys.publishing.runs.publish` and COPYs the very same rows
into a plain table, on a scratch database of the warehouse server.

Each timing is the best of ``--repeats`` runs (the least disturbed by other processes).
Prints a markdown table for ``docs/benchmarks.md``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import time

import numpy as np
import pandas as pd
from psycopg import sql

from recsys.pgio.copy_stream import copy_rows
from recsys.platform import embedded, warehouse
from recsys.platform.settings import get_settings
from recsys.publishing import runs
from recsys.ranking import topk

BARE_BLOCK_ROWS = 2048


def best_of(repeats: int, fn, *args, **kwargs) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        fn(*args, **kwargs)
        times.append(time.perf_counter() - started)
    return min(times)


def bare_product(u: np.ndarray, v: np.ndarray) -> None:
    """The reference: ``U @ V.T`` into a reused buffer, nothing else."""
    vt = np.ascontiguousarray(v.T)
    buffer = np.empty((BARE_BLOCK_ROWS, len(v)), np.float32)
    for start in range(0, len(u), BARE_BLOCK_ROWS):
        stop = min(start + BARE_BLOCK_ROWS, len(u))
        np.matmul(u[start:stop], vt, out=buffer[: stop - start])


def scoring_figures(n_users: int, n_items: int, d: int, k: int, repeats: int, block_size: int) -> dict:
    rng = np.random.default_rng(0)
    u = rng.standard_normal((n_users, d), dtype=np.float32)
    v = rng.standard_normal((n_items, d), dtype=np.float32)
    topk.top_k(u[:64], v, k)  # compile (cached) and warm up
    flops = 2.0 * n_users * n_items * d
    bare, kernel = [], []
    for _ in range(repeats):  # interleaved, so both see the same machine load
        bare.append(best_of(1, bare_product, u, v))
        kernel.append(best_of(1, topk.top_k, u, v, k, block_size=block_size))
    bare_s, kernel_s = min(bare), min(kernel)
    return {
        "users": n_users,
        "items": n_items,
        "d": d,
        "k": k,
        "cores": os.cpu_count(),
        "bare_seconds": bare_s,
        "bare_gflops": flops / bare_s / 1e9,
        "kernel_seconds": kernel_s,
        "kernel_gflops": flops / kernel_s / 1e9,
        "customers_per_second": n_users / kernel_s,
        "ratio": kernel_s / bare_s,
    }


def recommendation_rows(n_users: int, k: int = 10) -> pd.DataFrame:
    rng = np.random.default_rng(1)
    rank = np.tile(np.arange(1, k + 1), n_users)
    score = rng.standard_normal(n_users * k)
    return pd.DataFrame(
        {
            "user_id": np.repeat([f"c{i:07d}" for i in range(n_users)], k),
            "rank": rank,
            "item_id": [f"p{i:05d}" for i in rng.integers(0, 20_000, n_users * k)],
            "score": score,
            "raw_score": score,
            "season_factor": 0.1,
            "event_factor": 0.0,
            "country_factor": 0.05,
            "recent_factor": 0.0,
            "promotion_factor": 0.0,
            "stock_factor": 0.0,
            "reason_code": "bought_together",
            "reason_ref": "p00001",
            "source": "model",
        }
    )


def publish_figures(n_users: int, repeats: int) -> dict:
    settings = get_settings()
    admin = (
        embedded.start_embedded(settings)
        if not settings.warehouse_url
        else warehouse.with_database(settings.warehouse_url, "postgres")
    )
    warehouse.ensure_database(admin, "bench_publish")
    url = warehouse.with_database(admin, "bench_publish")
    warehouse.ensure_schemas(url)
    rows = recommendation_rows(n_users)
    empty_similar = pd.DataFrame(columns=list(runs.COLUMNS["similar_items"][1:]))
    empty_popular = pd.DataFrame(columns=list(runs.COLUMNS["popular_items"][1:]))
    day = dt.date(2011, 12, 10)

    def full_publish() -> None:
        runs.publish(
            url, rows, empty_similar, empty_popular, context_date=day, model_version="bench", k=10, keep_runs=1
        )

    table_rows = runs.recommendation_rows(rows, "bench", day, dt.datetime.now(dt.UTC)).assign(run_id="raw")
    columns = runs.COLUMNS["user_recommendations"]
    raw_table = sql.Identifier("public", "raw_copy_bench")

    def raw_copy() -> None:
        with warehouse.transaction(url) as conn:
            conn.execute(sql.SQL("drop table if exists {}").format(raw_table))
            conn.execute(sql.SQL("create table {} (like recs._user_recommendations_template)").format(raw_table))
            copy_rows(conn, raw_table, columns, table_rows)

    raw_s, publish_s = [], []
    for _ in range(repeats):
        raw_s.append(best_of(1, raw_copy))
        publish_s.append(best_of(1, full_publish))
    n = len(rows)
    return {
        "rows": n,
        "raw_copy_seconds": min(raw_s),
        "raw_rows_per_second": n / min(raw_s),
        "publish_seconds": min(publish_s),
        "publish_rows_per_second": n / min(publish_s),
        "publish_over_raw": min(publish_s) / min(raw_s),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--items", type=int, default=20_000)
    parser.add_argument("--d", type=int, default=50, help="vector width (48 components + 2 bias columns)")
    parser.add_argument("--k", type=int, default=50)
    parser.add_argument("--block-size", type=int, default=0)
    parser.add_argument("--rows-users", type=int, default=100_000, help="customers (x 10 rows) to publish")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--skip-publish", action="store_true")
    args = parser.parse_args()
    load_before = os.getloadavg()[0]
    s = scoring_figures(args.users, args.items, args.d, args.k, args.repeats, args.block_size)
    print(f"| scoring {s['users']:,} x {s['items']:,} (d={s['d']}, top {s['k']}, {s['cores']} cores) | value |")
    print("|---|---|")
    print(f"| bare numpy float32 product | {s['bare_seconds']:.2f} s, {s['bare_gflops']:.1f} GFLOP/s |")
    print(f"| top_k kernel | {s['kernel_seconds']:.2f} s, {s['kernel_gflops']:.1f} GFLOP/s |")
    print(f"| kernel / bare product | {s['ratio']:.2f}x |")
    print(f"| customers per second | {s['customers_per_second']:,.0f} |")
    print(f"| 1-minute load average before / after | {load_before:.1f} / {os.getloadavg()[0]:.1f} |")
    if args.skip_publish:
        return
    p = publish_figures(args.rows_users, args.repeats)
    print(f"| raw COPY of {p['rows']:,} rows | {p['raw_copy_seconds']:.2f} s, {p['raw_rows_per_second']:,.0f} rows/s |")
    print(
        f"| publish (COPY, index, count, swap) | {p['publish_seconds']:.2f} s, "
        f"{p['publish_rows_per_second']:,.0f} rows/s |"
    )
    print(f"| publish / raw COPY | {p['publish_over_raw']:.2f}x |")


if __name__ == "__main__":
    main()
