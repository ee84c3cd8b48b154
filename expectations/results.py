"""What a validation found, in the words a data engineer reads at 3 a.m.

Pure functions from GX result dictionaries to :class:`Outcome` rows (the shape of
``dq.validation_results``) and to the failure message of a stopped gate.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

#: GX kwargs that carry a bound rather than name the data.
THRESHOLD_KWARGS = (
    "min_value",
    "max_value",
    "strict_min",
    "strict_max",
    "mostly",
    "value_set",
    "type_list",
    "type_",
    "column_set",
    "value_pairs_set",
    "value",
)
#: GX kwargs that name the data an expectation looks at.
DOMAIN_KWARGS = ("column", "column_list", "column_A", "column_B")
EXAMPLES = 3


class DataQualityError(RuntimeError):
    """A gate failed: at least one ``error`` expectation did not hold."""


@dataclass(frozen=True)
class Outcome:
    """One expectation's result in one validation (a row of ``dq.validation_results``)."""

    batch_name: str
    expectation: str
    description: str
    severity: str
    success: bool
    observed_value: str
    threshold: str
    details: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class SuiteResult:
    """A suite run on one table for one logical date."""

    suite_name: str
    table: str
    logical_date: dt.date
    run_id: str
    outcomes: tuple[Outcome, ...]
    seconds: float = 0.0
    docs_url: str | None = None

    @property
    def errors(self) -> tuple[Outcome, ...]:
        """Failed expectations that stop the pipeline."""
        return tuple(o for o in self.outcomes if not o.success and o.severity == "error")

    @property
    def warnings(self) -> tuple[Outcome, ...]:
        """Failed expectations that are only reported."""
        return tuple(o for o in self.outcomes if not o.success and o.severity == "warning")

    @property
    def success(self) -> bool:
        return not self.errors


def _short(value: Any) -> str:
    if isinstance(value, float):
        return "nan" if math.isnan(value) else f"{value:.6g}"
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    if isinstance(value, (list, tuple, set)):
        items = [_short(v) for v in list(value)[:10]]
        return "[" + ", ".join(items) + (", ..." if len(value) > 10 else "") + "]"
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{k}: {_short(v)}" for k, v in value.items()) + "}"
    return str(value)


def expectation_label(config: Mapping[str, Any]) -> str:
    """``expect_column_values_to_not_be_null(customer_id)``: the type and the data it reads."""
    kwargs = config.get("kwargs", {})
    domain = [_short(kwargs[k]) for k in DOMAIN_KWARGS if kwargs.get(k) is not None]
    if not domain and config.get("description"):
        domain = [config["description"]]
    return f"{config['type']}({', '.join(domain)})"


def threshold_text(config: Mapping[str, Any], note: str = "") -> str:
    """The bound the observation was held to, plus how it was chosen."""
    kwargs = config.get("kwargs", {})
    parts = [f"{k}={_short(kwargs[k])}" for k in THRESHOLD_KWARGS if kwargs.get(k) is not None]
    if config.get("type") == "unexpected_rows_expectation":
        parts = ["0 rows"]
    text = ", ".join(parts) or "none"
    return f"{text} ({note})" if note else text


def observed_text(result: Mapping[str, Any], exception: Mapping[str, Any] | None = None) -> str:
    """The observation: a value, a share of unexpected rows with examples, or the error."""
    if exception and exception.get("raised_exception"):
        return f"could not evaluate: {exception.get('exception_message')}"
    if "unexpected_percent" in result and result.get("element_count") is not None:
        text = (
            f"{result.get('unexpected_percent') or 0:.2f}% unexpected "
            f"({result.get('unexpected_count') or 0:,} of {result['element_count']:,} rows)"
        )
        examples = (result.get("partial_unexpected_list") or [])[:EXAMPLES]
        return f"{text}, e.g. {_short(examples)}" if examples else text
    if result.get("partial_missing_list"):
        return f"missing {_short(result['partial_missing_list'])}"
    if "observed_value" in result:
        details = result.get("details") or {}
        text = _short(result["observed_value"])
        if "unexpected_rows" in details:
            rows = _records(details["unexpected_rows"])
            return f"{text} unexpected row(s)" + (f", e.g. {_short(rows[:EXAMPLES])}" if rows else "")
        mismatched = details.get("mismatched")
        return f"{text}; mismatched {_short(mismatched)}" if mismatched else text
    return "n/a"


def _records(rows: Any) -> list:
    """GX returns unexpected rows as a list of dicts (SQL) or a frame (pandas)."""
    return rows.to_dict("records") if hasattr(rows, "to_dict") else list(rows)


def failure_message(result: SuiteResult) -> str:
    """The exception text of a failed gate: table, expectation, observed value, bound."""
    lines = [
        f"data quality gate '{result.suite_name}' failed on {result.table} for "
        f"{result.logical_date.isoformat()} (run {result.run_id}): "
        f"{len(result.errors)} error expectation(s) failed"
    ]
    lines += [
        f"  - {result.table}: {o.expectation} observed {o.observed_value}; expected {o.threshold}"
        for o in result.errors
    ]
    if result.docs_url:
        lines.append(f"Data Docs: {result.docs_url}")
    lines.append(
        "Details: select * from dq.validation_results where run_id = "
        f"'{result.run_id}' and table_name = '{result.table}' and not success"
    )
    return "\n".join(lines)


def _exception(exception: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """GX reports one exception flat, several keyed by metric: keep the first raised."""
    if "raised_exception" in exception:
        return exception if exception.get("raised_exception") else None
    raised = [e for e in exception.values() if isinstance(e, Mapping) and e.get("raised_exception")]
    return raised[0] if raised else None


def outcome(
    batch_name: str,
    severity: str,
    note: str,
    config: Mapping[str, Any],
    result: Mapping[str, Any],
    exception: Mapping[str, Any],
    success: bool,
) -> Outcome:
    """One GX expectation result as a row; an expectation that raised counts as failed."""
    raised = _exception(exception)
    details = {"kwargs": config.get("kwargs", {}), "result": dict(result)}
    if raised:
        details["exception"] = raised.get("exception_message")
    return Outcome(
        batch_name=batch_name,
        expectation=expectation_label(config),
        description=config.get("description") or "",
        severity=severity,
        success=bool(success) and raised is None,
        observed_value=observed_text(result, raised),
        threshold=threshold_text(config, note),
        details=details,
    )
