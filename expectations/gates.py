"""The quality gates as callables that the pipeline's edges hand to the code they guard.

Model, scoring and publishing code never imports this package: the CLI, the Airflow tasks
and the benchmarks build a gate here and pass it in (``validate=``), so the dependency
points from the edges inward.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from recsys.platform.settings import Settings

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
