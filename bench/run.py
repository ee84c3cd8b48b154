"""The nightly pipeline at scale: ``python -m recsys_bench.run --size small|medium|large [--keep]``.

Generates a shop of the given size, then runs the real stages against a database of its
own on the warehouse server (``bench_<size>``, dropped and created fresh) with data and
artifacts under ``<home>/.data/bench/<size>``, so the demo's warehouse is never touched.
Each stage runs in a child process (:mod:`recsys_bench.stage`): wall time, rows per second and
peak memory are per stage, PostgreSQL's memory is sampled beside it.  Hardware
references (bare matrix product, raw binary COPY) run in the same invocation and the
ratios to them are the figures that hold on a shared machine.  Results go to
``bench/results/<date>-<size>.json`` and the table of ``docs/benchmarks.md``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import multiprocessing
import os
import shutil
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil
import psycopg
from psycopg import sql

from recsys.generator.spec import shop_spec
from recsys.platform import embedded, warehouse
from recsys.platform.settings import get_settings

from . import report
from .machine import machine_info
from .stages import NIGHTLY, STAGES, read_bench_sql

log = logging.getLogger("bench")
REPO = Path(__file__).resolve().parents[1]
RESULTS_DIR = REPO / "bench" / "results"
DOCS = REPO / "docs" / "benchmarks.md"


@dataclass(frozen=True)
class BenchSize:
    """A benchmark size: the generator preset, how often references repeat, settings.

    ``settings`` are ``RECSYS_`` variables (without the prefix) chosen for the data size,
    never on any test metric: the epoch bound and patience cap the early-stopping probe;
    LightFM fits on every core (Hogwild: not bit-reproducible, which a benchmark does not
    need); EASE models the 5,000 most popular products.  At the large size LightFM trains
    on every row (no sample: the served model must be at least as good as the best
    baseline), but a night fits it from scratch once, on the validation split, and
    warm-starts it on the week the backtest adds and on the week the served model adds
    (``WARM_REFITS``); the LightFM-without-features baseline is skipped (a second fit from
    scratch), WARP draws at most 10 negatives per positive instead of 30, EASE's grid is
    three values and RP3beta's two, the blend search 16 trials, validation choices are
    made on 5,000 customers (test figures on 20,000), and the test and validation windows are
    one week (at a million customers a week already holds tens of thousands of evaluated
    customers, and every evaluated customer is scored against the whole catalogue by
    each model).
    """

    preset: str
    repeats: int
    settings: dict[str, str] = field(default_factory=dict)


_ALL_CORES = {"TRAINING__DETERMINISTIC": "false", "TRAINING__EVAL_EVERY": "5", "TRAINING__PATIENCE": "1"}
#: EASE's dense inverse over 10,000 items takes 20-50 s on 2 cores and a night makes eight
#: (five on the validation grid, the blend's neighbours on three windows): 5,000 items is 8x
#: cheaper and the most popular 5,000 of 10,000-50,000 products hold nearly every purchase.
_EASE = {"TRAINING__EASE_MAX_ITEMS": "5000"}
SIZES = {
    "small": BenchSize("tiny", 1, _ALL_CORES | {"TRAINING__EPOCHS": "5", "TRAINING__SEARCH_TRIALS": "10"}),
    "medium": BenchSize("medium", 3, _ALL_CORES | _EASE | {"TRAINING__EPOCHS": "10", "TRAINING__SEARCH_TRIALS": "24"}),
    "large": BenchSize(
        "large",
        1,
        _ALL_CORES
        | _EASE
        | {
            "TRAINING__EPOCHS": "5",
            "TRAINING__MAX_SAMPLED": "10",
            "TRAINING__WARM_REFITS": "true",
            "TRAINING__COLLABORATIVE_BASELINE": "false",
            "TRAINING__EASE_REGULARISATION": "1000,3000,10000",
            "TRAINING__RP3_ALPHA": "1.0",
            "TRAINING__RP3_BETA": "0.3,0.5",
            "TRAINING__SEARCH_TRIALS": "16",
            "TRAINING__SEARCH_SECONDS": "150",
            "EVALUATION__TEST_DAYS": "7",
            "EVALUATION__VALIDATION_DAYS": "7",
            "EVALUATION__VALIDATION_MAX_USERS": "5000",
        },
    ),
}
#: Reference runs after the stage whose rows they copy or whose model they score.
REFERENCES = {
    "backfill_load": "load_reference",
    "training": "scoring_reference",
    "scoring_publishing": "publish_reference",
}
#: Imported once by the fork server, before any stage process is forked from it.
PRELOAD = [
    "recsys_bench.stage",
    "recsys_expectations.runner",
    "dbt.cli.main",
    "recsys.training.train",
    "recsys.publishing.job",
    "recsys.ingest.loading",
    "recsys.publishing.exports",
    "recsys.generator",
]


class PostgresSampler:
    """Peak proportional memory (PSS) of the warehouse server while a stage runs.

    Counts the server's shared processes and the backends of the bench database only
    (other databases on the same server belong to other work); PSS splits shared
    buffers fairly between processes instead of counting them once per backend.
    """

    def __init__(self, dbname: str, interval: float = 2.0):
        self.dbname, self.interval = dbname, interval
        self.peak_mb = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _ours(self, cmdline: list[str]) -> bool:
        text = " ".join(cmdline)
        is_backend = "[local]" in text or "127.0.0.1" in text
        return not is_backend or f" {self.dbname} " in text

    def sample(self) -> float:
        total = 0
        for proc in psutil.process_iter(["name", "cmdline"]):
            try:
                if proc.info["name"] == "postgres" and self._ours(proc.info["cmdline"] or []):
                    total += proc.memory_full_info().pss
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                continue
        return total / 2**20

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak_mb = max(self.peak_mb, self.sample())
            self._stop.wait(self.interval)

    def __enter__(self) -> PostgresSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def admin_url(settings) -> str:
    """The server's maintenance database (``postgres``): ``WAREHOUSE_URL``'s server or the embedded one."""
    if settings.warehouse_url:
        return warehouse.with_database(settings.warehouse_url, "postgres")
    return embedded.start_embedded(settings)


def _database_ddl(admin: str, dbname: str, *names: str) -> None:
    with psycopg.connect(admin, autocommit=True) as conn:
        for name in names:
            conn.execute(sql.SQL(read_bench_sql(name)).format(database=sql.Identifier(dbname)))


def fresh_database(settings, dbname: str) -> str:
    """Drop and create ``dbname`` on the warehouse server, with the platform schemas; its URL."""
    admin = admin_url(settings)
    _database_ddl(admin, dbname, "drop_database.sql", "create_database.sql")
    url = warehouse.with_database(admin, dbname)
    warehouse.ensure_schemas(url)
    return url


def bench_environment(size: str, work_dir: Path, url: str) -> dict[str, str]:
    """The children's environment: the bench database and folders, the size's training settings."""
    env = dict(os.environ)
    env.update(
        {
            "WAREHOUSE_URL": url,
            "RECSYS_WAREHOUSE_URL": url,
            "RECSYS_DATA_ROOT": str(work_dir / "data"),
            "RECSYS_ARTIFACTS_ROOT": str(work_dir / "artifacts"),
        }
    )
    env.update({f"RECSYS_{name}": value for name, value in SIZES[size].settings.items()})
    return env


def stage_processes():
    """A fork-server context whose server has imported the stage code and its libraries."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(PRELOAD)
    return context


def run_stage(processes, name: str, context: dict, env: dict, work_dir: Path, dbname: str) -> dict:
    """Run one stage in a child process; its figures plus wall time and server memory."""
    from .stage import child_main

    context_path, out_path = work_dir / f"{name}.context.json", work_dir / f"{name}.out.json"
    context_path.write_text(json.dumps(context, default=str))
    log_path = work_dir / f"{name}.log"
    started = time.perf_counter()
    with PostgresSampler(dbname) as sampler:
        proc = processes.Process(target=child_main, args=(name, context_path, out_path, log_path, env))
        proc.start()
        proc.join()
    wall = time.perf_counter() - started
    if proc.exitcode != 0:
        tail = "\n".join(log_path.read_text(errors="replace").splitlines()[-30:])
        raise RuntimeError(f"bench stage {name} failed (exit {proc.exitcode}; log {log_path}):\n{tail}")
    figures = json.loads(out_path.read_text())
    figures.update(process_seconds=round(wall, 2), postgres_peak_mb=round(sampler.peak_mb, 1))
    log.info(
        "%s: %s rows in %.1fs (process %.1fs), peak %.0f MB + postgres %.0f MB",
        name,
        figures["rows"],
        figures["seconds"],
        wall,
        figures["peak_rss_mb"],
        sampler.peak_mb,
    )
    return figures


def run_bench(
    size: str, work_dir: Path, results_dir: Path, docs: Path | None, keep: bool = False, until: str | None = None
) -> Path | None:
    """The whole benchmark of ``size``; returns the results file.

    ``until`` stops after that stage and keeps the database and files, writing no results:
    a prepared warehouse to profile one stage against (``--until backfill_dbt``).
    """
    if size not in SIZES:
        raise ValueError(f"unknown size {size!r}: choose one of {', '.join(SIZES)}")
    bench_size, spec = SIZES[size], shop_spec(SIZES[size].preset)
    settings = get_settings()
    dbname = f"bench_{size}"
    shutil.rmtree(work_dir, ignore_errors=True)
    work_dir.mkdir(parents=True)
    url = fresh_database(settings, dbname)
    env = bench_environment(size, work_dir, url)
    state = {"preset": bench_size.preset, "repeats": bench_size.repeats}
    results: dict[str, dict] = {"stages": {}, "references": {}}
    processes = stage_processes()
    started = dt.datetime.now(dt.UTC)
    for name in STAGES:
        context = {"size": size, "url": url, "day": spec.end.isoformat(), "state": state}
        figures = run_stage(processes, name, context, env, work_dir, dbname)
        state.update(figures.pop("state"))
        results["stages"][name] = figures
        if name in REFERENCES:
            reference = run_stage(processes, REFERENCES[name], context | {"state": state}, env, work_dir, dbname)
            results["references"][REFERENCES[name]] = reference
        if name == until:
            log.info("stopped after %s: database %s and %s kept", name, dbname, work_dir)
            return None
    summary = report.summarise(results, NIGHTLY, size) | {
        "size": size,
        "date": started.date().isoformat(),
        "started_at": started.isoformat(),
        "spec": {
            "preset": bench_size.preset,
            "customers": spec.n_customers,
            "products": spec.n_products,
            "events": spec.n_events,
            "business_date": spec.end.isoformat(),
        },
        "settings": bench_size.settings,
        "machine": machine_info(url),
    }
    results_dir.mkdir(parents=True, exist_ok=True)
    out = results_dir / f"{started.date().isoformat()}-{size}.json"
    out.write_text(json.dumps(summary | results, indent=2, default=str) + "\n")
    if docs is not None:
        report.update_docs(docs, results_dir)
    if not keep:
        _database_ddl(admin_url(settings), dbname, "drop_database.sql")
        shutil.rmtree(work_dir, ignore_errors=True)
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", choices=list(SIZES), default="small")
    parser.add_argument("--keep", action="store_true", help="keep the bench database and files for inspection")
    parser.add_argument("--results-dir", type=Path, default=RESULTS_DIR)
    parser.add_argument("--docs", type=Path, default=DOCS, help="markdown file whose bench table is regenerated")
    parser.add_argument("--no-docs", action="store_true", help="do not touch docs/benchmarks.md")
    parser.add_argument("--until", choices=STAGES, help="stop after this stage, keep the database, write no results")
    parser.add_argument("--work-dir", type=Path, help="data and artifacts of the run (default .data/bench/<size>)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    work_dir = args.work_dir or get_settings().data_dir / "bench" / args.size
    out = run_bench(args.size, work_dir, args.results_dir, None if args.no_docs else args.docs, args.keep, args.until)
    if out is None:
        return
    print(report.console_table(json.loads(out.read_text())))
    print(f"results: {out}")


if __name__ == "__main__":
    main()
