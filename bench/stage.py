"""One benchmark stage in a process of its own.

:mod:`recsys_bench.run` starts :func:`child_main` from a fork server that has already imported
the heavy libraries (Great Expectations alone takes about 9 s to import here, dbt a
few), so a stage's process time is its work, not interpreter start-up; by hand,
``python -m recsys_bench.stage NAME CONTEXT OUT`` does the same.  ``CONTEXT`` is the JSON the
runner writes (size, warehouse URL, business date, state of earlier stages); the
settings come from the environment (the bench's own data and artifacts roots).  ``OUT``
receives the stage's figures and this process's peak resident memory, so each stage's
memory is its own.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging
import os
import resource
import sys
from pathlib import Path

from recsys.platform.settings import get_settings

from . import references, stages

RUNNERS = stages.RUNNERS | references.RUNNERS


def peak_rss_mb() -> float:
    """Peak resident memory of this process and any it waited for (Linux reports kB)."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(own, children) / 1024


def run(name: str, context_path: Path, out_path: Path) -> dict:
    """Run stage ``name`` and write its figures to ``out_path``."""
    if name not in RUNNERS:
        raise SystemExit(f"unknown stage {name!r}; known: {', '.join(RUNNERS)}")
    context = json.loads(context_path.read_text())
    ctx = stages.StageContext(
        get_settings(), context["url"], context["size"], dt.date.fromisoformat(context["day"]), context["state"]
    )
    output = RUNNERS[name](ctx)
    figures = dataclasses.asdict(output) | {"peak_rss_mb": round(peak_rss_mb(), 1)}
    out_path.write_text(json.dumps(figures, indent=2, default=str))
    return figures


def child_main(name: str, context_path: Path, out_path: Path, log_path: Path, env: dict[str, str]) -> None:
    """Entry point of a forked stage process: its environment, its log file, the stage."""
    os.environ.clear()
    os.environ.update(env)
    with log_path.open("w") as log_file:
        os.dup2(log_file.fileno(), 1)
        os.dup2(log_file.fileno(), 2)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s", force=True)
    run(name, context_path, out_path)


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 3:
        raise SystemExit("usage: python -m recsys_bench.stage NAME CONTEXT_JSON OUT_JSON")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    run(argv[0], Path(argv[1]), Path(argv[2]))


if __name__ == "__main__":
    main()
