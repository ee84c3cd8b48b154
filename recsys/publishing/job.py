"""The nightly publishing job: champion model + warehouse inputs -> scored, checked, swapped run.

Three steps so Airflow can fan out the scoring with dynamic task mapping, or one call
(:func:`publish_for_date`) for the CLI and the demo:

``prepare_run(url, settings, context_date) -> {"run_id", "ranges"}``
    begins a run (``recs.runs`` row, empty tables) and cuts the customers into ranges;
``score_range(url, settings, run_id, start, stop) -> rows``
    one mapped task: plans (every task reads the same inputs and gets the same plan),
    scores customers ``start:stop`` and COPYs them (a retry skips a written block);
``finalize_run(url, settings, run_id, validate) -> RunInfo``
    writes similar and popular items, checks the run and swaps it in.

The model version of a run is the champion's registry run id when it began; later steps
use that model even if a new champion was promoted meanwhile.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from pathlib import Path

from recsys.platform.settings import Settings
from recsys.publishing import runs
from recsys.serving import inputs, recommend, rules
from recsys.serving.coldstart import lightfm_item_parameters
from recsys.training.artifacts import load_model
from recsys.training.registry import current_champion

log = logging.getLogger(__name__)

#: Customers per Airflow-mapped scoring task (and per COPY block of a single-process run).
DEFAULT_RANGE_SIZE = 200_000


def _champion(url: str) -> tuple[str, Path]:
    champion = current_champion(url)
    if champion is None or not champion.get("artifact_path"):
        raise LookupError("no champion model in ml.model_runs: train and promote one (recsys train) before publishing")
    return champion["run_id"], Path(champion["artifact_path"])


def _model_of(info: runs.RunInfo) -> str:
    if info.model_version is None:
        raise LookupError(f"run {info.run_id} names no model version: it cannot be scored")
    return info.model_version


def build_plan(url: str, settings: Settings, context_date: dt.date, model_version: str) -> recommend.Plan:
    """Read the inputs of ``context_date`` and plan the scoring with model ``model_version``."""
    path, checksum = inputs.model_artifact(url, model_version)
    model = load_model(path, expected_checksum=checksum)
    scoring = inputs.read_inputs(url, context_date, active_days=settings.recs.active_days)
    unseen = scoring.items is not None and bool((~scoring.items["item_id"].astype(str).isin(model.item_ids)).any())
    setup = recommend.ScoringSetup(
        as_of=context_date,
        k=settings.recs.k,
        context=settings.context,
        rules=rules.shop_rules(settings),
        stock=settings.stock,
    )
    return recommend.plan_recommendations(
        model,
        scoring,
        setup,
        feature_parameters=lightfm_item_parameters(model) if unseen else None,
        num_threads=settings.recs.num_threads,
    )


def ranges(n_users: int, size: int) -> list[tuple[int, int]]:
    """``[(start, stop), ...]`` covering ``n_users`` in steps of ``size``."""
    if size <= 0:
        raise ValueError(f"range size must be positive, got {size}")
    return [(start, min(start + size, n_users)) for start in range(0, n_users, size)] or [(0, 0)]


def send_date_for(logical_date: dt.date, settings: Settings) -> dt.date:
    """The send (context) date of a run for ``logical_date``: the next day by default."""
    return logical_date + dt.timedelta(days=settings.recs.send_offset_days)


def prepare_run(
    url: str,
    settings: Settings,
    logical_date: dt.date,
    range_size: int = DEFAULT_RANGE_SIZE,
    send_date: dt.date | None = None,
) -> dict:
    """Begin a run for ``logical_date`` (lists for :func:`send_date_for` unless ``send_date``
    is given) with the current champion; the customer ranges to score."""
    context_date = send_date or send_date_for(logical_date, settings)
    model_version, _ = _champion(url)
    n_customers = inputs.count_customers(url, context_date, active_days=settings.recs.active_days)
    run_id = runs.begin_run(url, context_date, model_version, settings.recs.k, business_date=logical_date)
    return {"run_id": run_id, "ranges": ranges(n_customers, range_size)}


def range_rows(plan: recommend.Plan, settings: Settings, info: runs.RunInfo, start: int, stop: int):
    """The published rows of customers ``start:stop`` of a run."""
    began = time.perf_counter()
    rows = recommend.score_plan(
        plan, start, stop, block_size=settings.recs.block_size, num_threads=settings.recs.num_threads
    )
    log.info("run %s: customers %d-%d scored in %.1fs", info.run_id, start, stop, time.perf_counter() - began)
    return runs.recommendation_rows(rows, info.model_version, info.context_date, info.started_at)


def score_range(
    url: str, settings: Settings, run_id: str, start: int, stop: int, plan: recommend.Plan | None = None
) -> int:
    """Score customers ``start:stop`` of a run and COPY their rows (idempotent per range)."""
    info = runs.get_run(url, run_id)
    plan = plan or build_plan(url, settings, info.context_date, _model_of(info))
    return runs.write_block(
        url, run_id, "user_recommendations", range_rows(plan, settings, info, start, stop), f"{start}-{stop}"
    )


def finalize_run(
    url: str,
    settings: Settings,
    run_id: str,
    validate: runs.Validator | None = None,
    plan: recommend.Plan | None = None,
    timings: dict | None = None,
) -> runs.RunInfo:
    """Similar and popular items, the output check, the swap and the pruning."""
    info = runs.get_run(url, run_id)
    plan = plan or build_plan(url, settings, info.context_date, _model_of(info))
    runs.write_block(url, run_id, "similar_items", recommend.similar_items_frame(plan, settings.recs.similar_k))
    runs.write_block(url, run_id, "popular_items", recommend.popular_items_frame(plan, settings.recs.popular_k))
    return runs.finish_run(
        url, run_id, validate=validate, keep_runs=settings.recs.keep_runs, timings=timings, yielding=yielding(settings)
    )


def yielding(settings: Settings) -> runs.Yielding:
    """How this platform's swaps give way to readers (``RECSYS_RECS__SWAP_*``)."""
    return runs.Yielding(settings.recs.swap_lock_timeout, settings.recs.swap_patience)


def publish_for_date(
    url: str,
    settings: Settings,
    logical_date: dt.date,
    validate: runs.Validator | None = None,
    range_size: int = DEFAULT_RANGE_SIZE,
    send_date: dt.date | None = None,
) -> runs.RunInfo:
    """The whole job in one process: one plan, and every range scored straight into one
    COPY (one transaction, so the table is written without WAL on a ``wal_level=minimal``
    server); a failure marks the run failed."""
    context_date = send_date or send_date_for(logical_date, settings)
    model_version, _ = _champion(url)
    started = time.perf_counter()
    plan = build_plan(url, settings, context_date, model_version)
    run_id = runs.begin_run(url, context_date, model_version, settings.recs.k, business_date=logical_date)
    try:
        info = runs.get_run(url, run_id)
        blocks = (
            (f"{start}-{stop}", range_rows(plan, settings, info, start, stop))
            for start, stop in ranges(len(plan.customers.user_ids), range_size)
        )
        runs.write_blocks(url, run_id, "user_recommendations", blocks)
        return finalize_run(
            url,
            settings,
            run_id,
            validate,
            plan=plan,
            timings={"write_seconds": round(time.perf_counter() - started, 3)},
        )
    except Exception as exc:
        if runs.get_run(url, run_id).status == runs.BUILDING:
            runs.fail_run(url, run_id, f"{type(exc).__name__}: {exc}")
        raise
