"""What the hardware allows, measured in the same run as the pipeline.

Absolute times drift on a shared machine; ratios to a bare operation of the same size,
measured minutes apart, drift much less:

* scoring: the top 50 of every customer (:func:`recsys.ranking.topk.top_k`) against a bare
  float32 matrix product ``U @ V.T`` of the same shape (numpy/BLAS, blocked into a reused
  buffer so it fits memory at any size), on the champion's own vectors;
* loading and publishing: rows per second of a raw binary COPY of the very same rows
  (pre-encoded by the server, so no client-side work at all) into an UNLOGGED table.
"""

from __future__ import annotations

import tempfile
import time

import numpy as np
from psycopg import sql

from recsys.platform import warehouse
from recsys.ranking import topk

from .scoring import bare_product
from .stages import StageContext, StageOutput, read_bench_sql

#: Spool chunk of the binary COPY reference.
COPY_CHUNK = 1 << 20
REFERENCE_SCHEMA = "public"


def _interleaved(repeats: int, **fns) -> dict[str, float]:
    """Best time of each function over ``repeats`` rounds, run alternately (same machine state)."""
    best = {name: float("inf") for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            started = time.perf_counter()
            fn()
            best[name] = min(best[name], time.perf_counter() - started)
    return best


def champion_vectors(url: str) -> tuple[np.ndarray, np.ndarray]:
    """``(U, V)`` float32 scoring vectors of the current champion."""
    from recsys.training.artifacts import load_model
    from recsys.training.registry import current_champion

    champion = current_champion(url)
    if champion is None:
        raise LookupError("no champion model: the training stage must run before the scoring reference")
    model = load_model(champion["artifact_path"])
    return topk.factor_vectors(
        model.user_embeddings, model.user_biases, model.item_embeddings, model.scoring_item_biases
    )


#: Rounds of the scoring reference at every size (issue 16: the kernel ratio over three repetitions).
SCORING_REPEATS = 3


def scoring_reference(ctx: StageContext) -> StageOutput:
    """Top 50 of every customer vs the bare matrix product of the same shape (best of 3, interleaved)."""
    u, v = champion_vectors(ctx.url)
    k = 50
    topk.top_k(u[:64], v, k)  # numba compiles (cached) outside the timing
    best = _interleaved(SCORING_REPEATS, bare=lambda: bare_product(u, v), top_k=lambda: topk.top_k(u, v, k))
    flops = 2.0 * u.shape[0] * v.shape[0] * u.shape[1]
    parts = {
        "users": u.shape[0],
        "items": v.shape[0],
        "d": u.shape[1],
        "k": k,
        "bare_seconds": best["bare"],
        "top_k_seconds": best["top_k"],
        "bare_gflops": flops / best["bare"] / 1e9,
        "top_k_over_bare": best["top_k"] / best["bare"],
    }
    return StageOutput(u.shape[0], best["top_k"], parts)


def _copy_once(url: str, source: sql.Composable, target: sql.Composable, spool) -> float:
    """Seconds to COPY the spooled binary rows into a fresh UNLOGGED table like ``source``."""
    with warehouse.transaction(url) as conn:
        conn.execute(sql.SQL(read_bench_sql("reference_drop.sql")).format(target=target))
        conn.execute(sql.SQL(read_bench_sql("reference_create.sql")).format(target=target, source=source))
    spool.seek(0)
    started = time.perf_counter()
    with (
        warehouse.transaction(url) as conn,
        conn.cursor() as cur,
        cur.copy(sql.SQL(read_bench_sql("reference_copy_in.sql")).format(target=target)) as copy,
    ):
        while data := spool.read(COPY_CHUNK):
            copy.write(data)
    seconds = time.perf_counter() - started
    with warehouse.transaction(url) as conn:
        conn.execute(sql.SQL(read_bench_sql("reference_drop.sql")).format(target=target))
    return seconds


def copy_reference(url: str, table: str, repeats: int) -> dict:
    """Raw binary COPY rate of ``table``'s rows into an UNLOGGED copy of it (best of N).

    The rows are first spooled in COPY's binary format to a temporary file (untimed), so
    the timing holds nothing but the client sending bytes and the server storing rows.
    """
    source = sql.Identifier(*table.split("."))
    target = sql.Identifier(REFERENCE_SCHEMA, "bench_copy_reference")
    with tempfile.TemporaryFile() as spool:
        with warehouse.connect(url) as conn, conn.cursor() as cur:
            with cur.copy(sql.SQL(read_bench_sql("reference_copy_out.sql")).format(source=source)) as copy:
                for data in copy:
                    spool.write(data)
            rows = cur.rowcount
        seconds = min(_copy_once(url, source, target, spool) for _ in range(repeats))
    return {"table": table, "rows": rows, "seconds": seconds, "rows_per_second": rows / seconds}


def load_reference(ctx: StageContext) -> StageOutput:
    """The raw COPY rate of ``raw.events`` (what the loader's main stream writes)."""
    figures = copy_reference(ctx.url, "raw.events", ctx.state["repeats"])
    return StageOutput(figures["rows"], figures["seconds"], figures)


def publish_reference(ctx: StageContext) -> StageOutput:
    """The raw COPY rate of the published ``recs.user_recommendations`` rows."""
    figures = copy_reference(ctx.url, "recs.user_recommendations", ctx.state["repeats"])
    return StageOutput(figures["rows"], figures["seconds"], figures)


RUNNERS = {
    "load_reference": load_reference,
    "scoring_reference": scoring_reference,
    "publish_reference": publish_reference,
}
