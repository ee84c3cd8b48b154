"""The quality gates as callables that the pipeline's edges hand to the code they guard.

Model, scoring and publishing code never imports this package: the CLI, the Airflow tasks
and the benchmarks build a gate here and pass it in (``validate=``), so the dependency
points from the edges inward.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from recsys.ingest import quarantine
from recsys.platform.settings import Settings

from .results import DataQualityError, SuiteResult, failure_message
from .runner import raise_for_errors, run_suite


def recommendations_gate(
    url: str, settings: Settings, logical_date: dt.date, build_docs: bool = True
) -> Callable[[str], None]:
    """The output suite (``recommendations``) as the ``validate`` hook of
    :func:`recsys.publishing.runs.finish_run`: it raises before the swap when an error fails."""

    def validate(table: str) -> None:
        run_id = "recs_publish__" + table.rsplit("__", 1)[-1]  # results filed under the publishing run
        raise_for_errors(
            run_suite(
                url,
                "recommendations",
                logical_date,
                table=table,
                run_id=run_id,
                settings=settings,
                options={"k": settings.recs.k},
                build_docs=build_docs,
            )
        )

    return validate


def raw_gate(
    url: str, settings: Settings, logical_date: dt.date, run_id: str | None = None, *, build_docs: bool = True
) -> list[SuiteResult]:
    """The raw gate of a business date: each pending or quarantined load batch up to it is
    validated on its own and marked passed or quarantined.

    A quarantined batch stays out of the warehouse and fails every later gate, reruns
    included, until its file is replaced (a new content of the same file name) or an
    operator releases it (``recsys dq release BATCH --reason ...``).

    Raises
    ------
    DataQualityError
        Naming every quarantined batch, its file, the failed expectations and what to do.
    """
    results: list[SuiteResult] = []
    passed: list[tuple[quarantine.GatedBatch, SuiteResult]] = []
    held: list[tuple[quarantine.GatedBatch, SuiteResult]] = []
    for batch in quarantine.batches_to_gate(url, logical_date):
        result = run_suite(
            url,
            f"raw_{batch.source}",
            logical_date,
            None,
            run_id,
            settings=settings,
            options={"batch_ids": [batch.batch_id]},
            build_docs=build_docs,
        )
        results.append(result)
        (held if result.errors else passed).append((batch, result))
    quarantine.record_verdicts(url, [b.batch_id for b, _ in passed], [b.batch_id for b, _ in held])
    raise_for_errors([r for _, r in passed])  # logs their warnings
    if held:
        lines = [
            f"batch {b.batch_id} ({b.source} {b.file_name}, {b.logical_date}) quarantined: {failure_message(r)}"
            for b, r in held
        ]
        raise DataQualityError(
            f"{len(held)} load batch(es) quarantined: replace the file (a new content loads as a new batch) or "
            "release it with `recsys dq release BATCH --reason ...`\n" + "\n".join(lines)
        )
    return results
