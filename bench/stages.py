"""The nightly pipeline's stages as the benchmark runs them: the platform's own entry points.

A night is measured in steady state, as it happens in production: the shop's history up
to the day before (one landing file per source, generated with ``daily_days=1``) is
loaded and built first (the *backfill*, reported but not part of the nightly total);
the night then loads the business date's files, builds the warehouse incrementally,
gates, trains on all history, scores and publishes every customer and exports.  Each
stage takes a :class:`StageContext` and returns a :class:`StageOutput` (rows it
handled, seconds of its own work, a breakdown, and state later stages need).  They run
one per child process (:mod:`recsys_bench.stage`) so peak memory is per stage.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from psycopg import sql

from recsys.platform import warehouse
from recsys.platform.settings import Settings

from . import probe

#: Stages in run order; the first three set up the history and are not part of the night.
STAGES = (
    "generate",
    "backfill_load",
    "backfill_dbt",
    "load",
    "raw_gate",
    "dbt_build",
    "mart_gate",
    "model_input_gate",
    "training",
    "scoring_publishing",
    "exports",
)
NIGHTLY = STAGES[3:]


@dataclass(frozen=True)
class StageContext:
    """What every stage gets: settings of the bench run, its warehouse and business date."""

    settings: Settings
    url: str
    size: str
    day: dt.date
    state: dict

    @property
    def history_day(self) -> dt.date:
        """The date of the history files: the day before the night."""
        return self.day - dt.timedelta(days=1)


@dataclass(frozen=True)
class StageOutput:
    """One stage's figures; ``parts`` are sub-steps (seconds) or sizes, ``state`` feeds later stages."""

    rows: int
    seconds: float
    parts: dict = field(default_factory=dict)
    state: dict = field(default_factory=dict)


def read_bench_sql(name: str) -> str:
    """A SQL file of ``bench/sql`` (identifiers are composed with psycopg.sql)."""
    return (Path(__file__).parent / "sql" / name).read_text()


def count_rows(url: str, table: str) -> int:
    """Rows of ``schema.table``."""
    query = sql.SQL(read_bench_sql("count_rows.sql")).format(table=sql.Identifier(*table.split(".")))
    with warehouse.connect(url) as conn:
        return int(warehouse.one_row(conn.execute(query))[0])


def _timed(fn: Callable, *args, **kwargs):
    started = time.perf_counter()
    result = fn(*args, **kwargs)
    return result, time.perf_counter() - started


def generate(ctx: StageContext) -> StageOutput:
    """The size's generated shop: a history file per source, then the night's daily files."""
    from recsys.generator.shop import generate_shop, shop_spec

    report, seconds = _timed(
        generate_shop, shop_spec(ctx.state["preset"]), ctx.settings.landing_dir, daily_days=1, with_truth=False
    )
    size_mb = sum(p.stat().st_size for p in report.files) / 1e6
    return StageOutput(
        report.n_events,
        seconds,
        {"customers": report.n_customers, "products": report.n_products, "landing_mb": round(size_mb, 1)},
    )


def _load(ctx: StageContext, day: dt.date) -> StageOutput:
    from recsys.ingest.landing import load_landing

    results, seconds = _timed(load_landing, ctx.url, ctx.settings.landing_dir, day)
    refused = [f"{r.file_name}: {r.error}" for r in results if r.failed]
    if refused:
        raise RuntimeError(f"bench landing files refused: {refused}")
    loaded = [r for r in results if not r.skipped]  # the history files are skipped at night
    by_source = {r.source: r.rows_loaded for r in loaded}
    rejected = sum(r.rows_rejected for r in loaded)
    return StageOutput(
        sum(by_source.values()),
        seconds,
        {"rows_by_source": by_source, "rejected": rejected},
        {"loaded_rows": sum(by_source.values())},
    )


def backfill_load(ctx: StageContext) -> StageOutput:
    """The history files into ``raw`` (the bulk load the loader's COPY rate is judged on), then,
    untimed, the raw gate on them: staging reads only the batches it admitted."""
    from recsys_expectations.gates import raw_gate as gate_batches

    output = _load(ctx, ctx.history_day)
    gate_batches(ctx.url, ctx.settings, ctx.history_day, f"bench__{ctx.history_day}", build_docs=False)
    return output


def load(ctx: StageContext) -> StageOutput:
    """The night's new landing files into ``raw`` (COPY, one transaction per file)."""
    return _load(ctx, ctx.day)


def _gate(ctx: StageContext, stage: str, rows: int, options: dict | None = None) -> StageOutput:
    from recsys_expectations.runner import gate

    results, seconds = _timed(
        gate, ctx.url, stage, ctx.day, f"bench__{ctx.day}", settings=ctx.settings, options=options, build_docs=False
    )
    parts = {r.suite_name: r.seconds for r in results}
    return StageOutput(rows, seconds, parts)


def raw_gate(ctx: StageContext) -> StageOutput:
    """The raw gate on the batches this night loaded, one at a time (rows: those batches' rows)."""
    from recsys_expectations.gates import raw_gate as gate_batches

    results, seconds = _timed(gate_batches, ctx.url, ctx.settings, ctx.day, f"bench__{ctx.day}", build_docs=False)
    return StageOutput(ctx.state["loaded_rows"], seconds, {r.suite_name: r.seconds for r in results})


def _dbt_build(ctx: StageContext, day: dt.date) -> StageOutput:
    from recsys.platform.dbt_runner import run_dbt

    # a target folder of its own: the checkout's dbt/target belongs to whoever else runs dbt
    result, seconds = _timed(
        run_dbt, ctx.settings, ctx.url, ("build",), as_of_date=day, target_path=ctx.settings.data_dir / "dbt_target"
    )
    slowest = sorted(result.nodes, key=lambda n: n.execution_time, reverse=True)[:8]
    return StageOutput(
        count_rows(ctx.url, "marts.fct_events"),
        seconds,
        {n.name: round(n.execution_time, 2) for n in slowest} | {"nodes": len(result.nodes)},
    )


def backfill_dbt(ctx: StageContext) -> StageOutput:
    """The first ``dbt build``: every incremental model built from the whole history."""
    return _dbt_build(ctx, ctx.history_day)


def dbt_build(ctx: StageContext) -> StageOutput:
    """The night's ``dbt build`` (models and their tests), incremental models adding the day."""
    return _dbt_build(ctx, ctx.day)


def mart_gate(ctx: StageContext) -> StageOutput:
    """The mart suites."""
    return _gate(ctx, "marts", count_rows(ctx.url, "marts.fct_events"))


def model_input_gate(ctx: StageContext) -> StageOutput:
    """The training-input suite."""
    return _gate(ctx, "model_inputs", count_rows(ctx.url, "intermediate.int_user_item_interactions"))


def _note_epochs(times: probe.CallTimes, model, data, epochs: int) -> None:
    times.notes.setdefault("epochs", 0)
    times.notes["epochs"] += epochs
    times.notes["epoch_interactions"] = times.notes.get("epoch_interactions", 0) + epochs * data.interactions.nnz


def _training_steps(url: str, run_id: str) -> dict:
    """Seconds and peak memory after each training step, as the run recorded them."""
    from recsys.training import registry

    runs = registry.run_history(url)
    metrics = runs.loc[runs["run_id"] == run_id, "metrics"]
    found = metrics.iloc[0] if len(metrics) else None
    found = json.loads(found) if isinstance(found, str) else found or {}
    return {
        "step_seconds": found.get("seconds", {})
        | {k: v for k, v in (found.get("production") or {}).items() if k == "production_refit"},
        "step_peak_rss_mb": found.get("peak_rss_mb", {}),
    }


def training(ctx: StageContext) -> StageOutput:
    """The nightly training run (hybrid, baselines, evaluation, registry), LightFM epochs timed."""
    from recsys.training.models import LightFMRecommender
    from recsys.training.train import run_training

    targets = {"lightfm_epochs": (LightFMRecommender, "fit_epochs")}
    with probe.probes(targets, {"lightfm_epochs": _note_epochs}) as times:
        result, seconds = _timed(
            run_training, ctx.url, ctx.day, ctx.settings.training, ctx.settings.evaluation, ctx.settings.artifacts_dir
        )
    epochs = times.notes.get("epochs", 0)
    epoch_seconds = times.get("lightfm_epochs")
    parts = {
        "lightfm_epochs": epochs,
        "lightfm_seconds": round(epoch_seconds, 2),
        "seconds_per_epoch": epoch_seconds / epochs if epochs else None,
        "seconds_per_epoch_per_million_interactions": epoch_seconds / times.notes["epoch_interactions"] * 1e6
        if epochs
        else None,
        "interactions_per_epoch": times.notes.get("epoch_interactions", 0) // max(epochs, 1),
        "promoted": result.promoted,
        "models": result.metrics,
    } | _training_steps(ctx.url, result.run_id)
    return StageOutput(
        count_rows(ctx.url, "intermediate.int_user_item_interactions"),
        seconds,
        parts,
        {"run_id": result.run_id, "artifact_dir": result.artifact_dir},
    )


def scoring_publishing(ctx: StageContext) -> StageOutput:
    """``publish_for_date`` with the output gate; planning+scoring, COPY+swap and the gate timed apart.

    The night scores each customer range inside the COPY that writes it, so the write of
    the recommendations (``copy``: encode + COPY + commit) is the time in ``write_blocks``
    less the time producing the rows (``rows``: scoring + publish layout) and less the
    similar and popular items (``small_tables``, written through ``write_block``).
    """
    from recsys.publishing import job, runs
    from recsys.serving import context, inputs, recommend, rules
    from recsys_expectations.gates import recommendations_gate

    validate = recommendations_gate(ctx.url, ctx.settings, ctx.day, build_docs=False)
    targets = {
        "plan": (job, "build_plan"),
        "score": (recommend, "score_plan"),
        "rows": (job, "range_rows"),
        "write_blocks": (runs, "write_blocks"),
        "small_tables": (runs, "write_block"),
        "finish": (runs, "finish_run"),
        # the plan's and the rows' own steps, to show where the scoring step's time goes
        "plan.load_model": (job, "load_model"),
        "plan.read_inputs": (inputs, "read_inputs"),
        "plan.standard_history": (recommend, "_standard_history"),
        "plan.catalogue": (recommend, "build_catalogue"),
        "plan.item_neighbours": (recommend, "_neighbours"),
        "plan.user_items": (recommend, "_user_items"),
        "plan.history_arrays": (recommend, "_history_arrays"),
        "plan.model_history": (recommend, "_item_history"),
        "plan.popularity": (recommend, "_popularity"),
        "plan.seasonality": (context, "seasonality"),
        "plan.country": (context, "country_factor"),
        "plan.recent": (context, "recent_boost"),
        "plan.exclusions": (rules, "exclusions"),
        "score.explore": (recommend, "_explore"),
        "score.assemble": (rules, "assemble"),
        "score.rows": (recommend, "_rows"),
        "score.reasons": (recommend, "_reasons"),
    }
    with probe.probes(targets) as times:
        timed_validate = probe.timed(validate, "output_gate", times)
        info, seconds = _timed(job.publish_for_date, ctx.url, ctx.settings, ctx.day, timed_validate)
    scoring_seconds = times.get("plan") + times.get("score")
    gate_seconds = times.get("output_gate")
    parts = {name: round(value, 2) for name, value in times.seconds.items()} | {
        "copy": round(times.get("write_blocks") - times.get("rows") - times.get("small_tables"), 2),
        "customers": info.n_customers,
        "scoring_seconds": scoring_seconds,
        "publishing_seconds": seconds - scoring_seconds - gate_seconds,
        "output_gate_seconds": gate_seconds,
        "timings": info.timings,
    }
    return StageOutput(info.n_rows, seconds, parts, {"publish_run_id": info.run_id})


def exports(ctx: StageContext) -> StageOutput:
    """The CRM campaign files of the published run (top 5, holdout, catalogue, manifest)."""
    from recsys.publishing.exports import export_campaign

    manifest_path, seconds = _timed(
        export_campaign,
        ctx.url,
        ctx.settings.recs,
        "bench",
        ctx.settings.artifacts_dir / "exports",
        email_hash_key="bench-email-hash-key",  # addresses are hashed as in production, at the same cost
    )
    manifest = json.loads(Path(manifest_path).read_text())
    rows = sum(f["rows"] for f in manifest["files"].values())
    return StageOutput(
        rows,
        seconds,
        {
            "files": {name: f["rows"] for name, f in manifest["files"].items()},
            "audience": manifest["counts"]["audience"],
        },
    )


RUNNERS: dict[str, Callable[[StageContext], StageOutput]] = {
    "generate": generate,
    "backfill_load": backfill_load,
    "backfill_dbt": backfill_dbt,
    "load": load,
    "raw_gate": raw_gate,
    "dbt_build": dbt_build,
    "mart_gate": mart_gate,
    "model_input_gate": model_input_gate,
    "training": training,
    "scoring_publishing": scoring_publishing,
    "exports": exports,
}
