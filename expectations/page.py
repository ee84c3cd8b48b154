"""A page of every validation, built from ``dq.validation_results``: Data Docs that work offline.

Great Expectations' own Data Docs load Bootstrap, jQuery and their fonts from CDNs, so
without the internet they render unstyled and their index lists nothing.  This page is
one self-contained HTML file (inline CSS, no script, no external request): a summary
per business date and gate, and each validation (run, table, suite) as a row that
opens on its expectations with severity, outcome, observed value and threshold.  It is
rewritten with the Data Docs after every suite (``Settings.dq_dir / "validations.html"``)
and by ``recsys dq page``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import jinja2

from recsys.platform.settings import Settings
from recsys.platform.warehouse import connect

from .sqltext import read_sql

#: Days of results on the page (older ones stay in dq.validation_results).
PAGE_DAYS = 90
PAGE_NAME = "validations.html"
_TEMPLATES = jinja2.Environment(
    loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
)


@dataclass
class Validation:
    """One suite run on one table: its expectations' outcomes."""

    run_id: str
    logical_date: dt.date
    table_name: str
    suite_name: str
    validated_at: dt.datetime
    rows: list[dict] = field(default_factory=list)

    @property
    def stage(self) -> str:
        return self.table_name.split(".", 1)[0]

    def count(self, outcome: str) -> int:
        return sum(row["outcome"] == outcome for row in self.rows)

    @property
    def outcome(self) -> str:
        return "failed" if self.count("failed") else "warned" if self.count("warned") else "passed"


def outcome_of(success: bool, severity: str) -> str:
    return "passed" if success else "failed" if severity == "error" else "warned"


def validations(rows: list[dict]) -> list[Validation]:
    """Result rows (newest validation first) grouped into validations, order kept."""
    grouped: dict[tuple, Validation] = {}
    for row in rows:
        key = (row["run_id"], row["table_name"], row["suite_name"])
        if key not in grouped:
            grouped[key] = Validation(
                row["run_id"], row["logical_date"], row["table_name"], row["suite_name"], row["validated_at"]
            )
        grouped[key].rows.append(row | {"outcome": outcome_of(row["success"], row["severity"])})
    return list(grouped.values())


def render(items: list[Validation], generated_at: dt.datetime, since: dt.date | None) -> str:
    """The page's HTML."""
    summary: dict[tuple[dt.date, str], dict[str, int]] = {}
    for v in items:
        cell = summary.setdefault((v.logical_date, v.stage), {"passed": 0, "warned": 0, "failed": 0})
        for outcome in cell:
            cell[outcome] += v.count(outcome)
    dates = sorted({d for d, _ in summary}, reverse=True)
    stages = sorted({s for _, s in summary})
    totals = {o: sum(v.count(o) for v in items) for o in ("passed", "warned", "failed")}
    return _TEMPLATES.get_template("validations.html.j2").render(
        validations=items,
        summary=summary,
        dates=dates,
        stages=stages,
        totals=totals,
        generated_at=generated_at,
        since=since,
    )


def write_page(url: str, settings: Settings) -> Path:
    """Read the results of the last :data:`PAGE_DAYS` business dates and write the page; its path."""
    with connect(url) as conn:
        cursor = conn.execute(read_sql("validation_page_results.sql"), {"days": PAGE_DAYS})
        columns = [c.name for c in cursor.description or ()]
        rows = [dict(zip(columns, r)) for r in cursor.fetchall()]
    since = min((r["logical_date"] for r in rows), default=None)
    path = settings.dq_dir / PAGE_NAME
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render(validations(rows), dt.datetime.now(dt.UTC), since))
    return path
