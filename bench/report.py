"""Figures of a bench run: the nightly total, the ratios to the hardware, the markdown table.

The table of ``docs/benchmarks.md`` sits between two markers under "Nightly pipeline at
scale" and is regenerated from the newest result file of each size in
``bench/results``; everything else in the file (other sections, notes) is kept.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

START, END = "<!-- bench:nightly:start -->", "<!-- bench:nightly:end -->"
SECTION = "## Nightly pipeline at scale"
SIZE_ORDER = ("small", "medium", "large")
#: Targets (figure, comparison, bound): the night, the kernel and the whole scoring step of
#: issue 16 (the step's bound depends on the size), the write and load ratios of issue 6.
TARGETS = {
    "nightly_seconds": ("<", 15 * 60),
    "peak_memory_mb": ("<", 8 * 1024),
    "scoring_top50_over_bare": ("<=", 1.3),
    "pipeline_scoring_over_bare": ("<=", {"small": 3.0, "medium": 3.0, "large": 2.0}),
    "served_ndcg_over_best_baseline": (">=", 1.0),
    "publishing_write_over_raw_copy": (">=", 0.8),
    "load_over_raw_copy": (">=", 0.8),
}
#: The tuned baselines the served model must reach (issue 13).
STRONG_BASELINES = ("ease", "rp3beta", "recent_popularity")


def _rate(rows: float, seconds: float) -> float | None:
    return rows / seconds if seconds and seconds > 0 else None


def stage_rows(results: dict) -> list[dict]:
    """One row per reported stage; scoring, publishing and the output gate split out of
    their common process (they share its peak memory)."""
    rows = []
    for name, figures in results["stages"].items():
        memory = {"peak_rss_mb": figures["peak_rss_mb"], "postgres_peak_mb": figures["postgres_peak_mb"]}
        if name != "scoring_publishing":
            rows.append(
                {
                    "stage": name,
                    "rows": figures["rows"],
                    "seconds": figures["seconds"],
                    "process_seconds": figures["process_seconds"],
                }
                | memory
            )
            continue
        parts = figures["parts"]
        for stage, rows_of, key in (
            ("scoring", parts["customers"], "scoring_seconds"),
            ("publishing", figures["rows"], "publishing_seconds"),
            ("output_gate", figures["rows"], "output_gate_seconds"),
        ):
            rows.append({"stage": stage, "rows": rows_of, "seconds": parts[key], "process_seconds": None} | memory)
    for row in rows:
        row["rows_per_second"] = _rate(row["rows"], row["seconds"])
    return rows


def quality(results: dict) -> dict[str, dict[str, float]]:
    """NDCG@10 and recall@10 of every model the night's training evaluated on its test window."""
    models = results["stages"]["training"]["parts"]["models"]
    return {name: {m: values.get(m) for m in ("ndcg@10", "recall@10")} for name, values in models.items()}


def summarise(results: dict, nightly: tuple[str, ...], size: str) -> dict:
    """The nightly total, peak memory, the ratios to the references, the quality and the targets."""
    stages, refs = results["stages"], results["references"]
    night = [stages[name] for name in nightly]
    seconds = sum(s["process_seconds"] for s in night)
    peak = max(s["peak_rss_mb"] + s["postgres_peak_mb"] for s in night)
    load, publishing = stages["backfill_load"], stages["scoring_publishing"]
    scoring_ref = refs["scoring_reference"]["parts"]
    training = stages["training"]["parts"]
    models = quality(results)
    best = max(STRONG_BASELINES, key=lambda name: models[name]["ndcg@10"])
    ratios = {
        "scoring_top50_over_bare": scoring_ref["top_k_over_bare"],
        "pipeline_scoring_over_bare": publishing["parts"]["scoring_seconds"] / scoring_ref["bare_seconds"],
        "served_ndcg_over_best_baseline": models["blend"]["ndcg@10"] / models[best]["ndcg@10"],
        "load_over_raw_copy": _rate(load["rows"], load["seconds"]) / refs["load_reference"]["parts"]["rows_per_second"],
        # the rows' way into the run table (encode + COPY: what the reference does) ...
        "publishing_write_over_raw_copy": _rate(publishing["rows"], publishing["parts"]["copy"])
        / refs["publish_reference"]["parts"]["rows_per_second"],
        # ... and all of publishing but the output gate (also: begin, index, analyse, swap, prune)
        "publishing_over_raw_copy": _rate(publishing["rows"], publishing["parts"]["publishing_seconds"])
        / refs["publish_reference"]["parts"]["rows_per_second"],
        "training_seconds_per_epoch": training["seconds_per_epoch"],
        "training_seconds_per_epoch_per_million_interactions": training["seconds_per_epoch_per_million_interactions"],
    }
    figures = ratios | {"nightly_seconds": seconds, "peak_memory_mb": peak}
    targets = {}
    for name, (op, bound) in TARGETS.items():
        limit = bound[size] if isinstance(bound, dict) else bound
        value = figures[name]
        met = value < limit if op == "<" else value <= limit if op == "<=" else value >= limit
        targets[name] = {"value": value, "target": f"{op} {limit}", "met": met}
    return {
        "nightly": {"seconds": seconds, "peak_memory_mb": peak},
        "ratios": ratios,
        "targets": targets,
        "quality": {"models": models, "best_baseline": best},
    }


def _num(value, digits: int = 0) -> str:
    if value is None:
        return ""
    return f"{value:,.{digits}f}"


def size_section(result: dict) -> str:
    """The markdown of one size: machine, per-stage table, ratios with their targets."""
    m, spec = result["machine"], result["spec"]
    libs = ", ".join(f"{name} {version}" for name, version in m["libraries"].items())
    lines = [
        f"### {result['size']} ({spec['events']:,} events, {spec['customers']:,} customers, "
        f"{spec['products']:,} products) - {result['date']}",
        "",
        f"Machine: {m['cores']} cores ({m['cpu']}), {m['memory_gb']} GB RAM; PostgreSQL {m['postgresql']} "
        f"(shared_buffers {m['shared_buffers']}); Python {m['python']}; BLAS {m['blas']}; {libs}.",
        f"Settings: {', '.join(f'RECSYS_{k}={v}' for k, v in result['settings'].items())}.",
        "",
        "| stage | rows | seconds | process seconds | rows/s | peak RSS MB | PostgreSQL PSS MB |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for row in stage_rows(result):
        lines.append(
            f"| {row['stage']} | {row['rows']:,} | {_num(row['seconds'], 1)} | "
            f"{_num(row['process_seconds'], 1)} | {_num(row['rows_per_second'])} | "
            f"{_num(row['peak_rss_mb'])} | {_num(row['postgres_peak_mb'])} |"
        )
    night = result["nightly"]
    lines.append(
        f"| **nightly total** (load to exports) | | | **{night['seconds']:,.0f}** "
        f"({night['seconds'] / 60:.1f} min) | | **{night['peak_memory_mb']:,.0f}** (process + server) | |"
    )
    lines += ["", "| ratio | value | target | met |", "|---|---:|---:|---|"]
    for name, target in result["targets"].items():
        lines.append(
            f"| {name} | {_num(target['value'], 2)} | {target['target']} | {'yes' if target['met'] else '**no**'} |"
        )
    ratios = result["ratios"]
    lines += [
        f"| publishing_over_raw_copy (the write plus begin, index, analyse, swap; informational) | "
        f"{_num(ratios['publishing_over_raw_copy'], 2)} | | |",
        f"| training seconds per epoch / per epoch and million interactions | "
        f"{_num(ratios['training_seconds_per_epoch'], 2)} / "
        f"{_num(ratios['training_seconds_per_epoch_per_million_interactions'], 2)} | | |",
        "",
    ]
    if "quality" in result:
        best = result["quality"]["best_baseline"]
        lines += [
            f"Quality on the night's test window (NDCG@10, every model on the same customers; served: `blend`, "
            f"best tuned baseline: `{best}`):",
            "",
            "| model | ndcg@10 | recall@10 |",
            "|---|---:|---:|",
        ]
        models = result["quality"]["models"]
        for name, values in sorted(models.items(), key=lambda kv: -(kv[1]["ndcg@10"] or 0)):
            label = f"**{name}** (served)" if name == "blend" else name
            lines.append(f"| {label} | {_num(values['ndcg@10'], 4)} | {_num(values['recall@10'], 4)} |")
        lines.append("")
    return "\n".join(lines)


def latest_results(results_dir: Path) -> list[dict]:
    """The newest result file of each size, in size order."""
    newest = {}
    for path in sorted(results_dir.glob("*.json")):
        match = re.match(r"^\d{4}-\d{2}-\d{2}-(\w+)\.json$", path.name)
        if match:
            newest[match.group(1)] = path
    return [json.loads(newest[s].read_text()) for s in SIZE_ORDER if s in newest]


def update_docs(docs: Path, results_dir: Path) -> None:
    """Regenerate the generated block of ``docs`` (created with its section if missing)."""
    block = "\n".join([START, *(size_section(r) for r in latest_results(results_dir)), END])
    text = docs.read_text() if docs.exists() else "# Benchmarks\n"
    if START in text and END in text:
        head, rest = text.split(START, 1)
        text = head + block + rest.split(END, 1)[1]
    else:
        text = text.rstrip("\n") + f"\n\n{SECTION}\n\n{block}\n"
    docs.parent.mkdir(parents=True, exist_ok=True)
    docs.write_text(text)


def console_table(result: dict) -> str:
    """A plain-text summary for the terminal."""
    lines = [f"{'stage':<20}{'rows':>12}{'seconds':>10}{'rows/s':>14}{'peak MB':>10}{'pg MB':>10}"]
    for row in stage_rows(result):
        lines.append(
            f"{row['stage']:<20}{row['rows']:>12,}{row['seconds']:>10.1f}"
            f"{_num(row['rows_per_second']):>14}{row['peak_rss_mb']:>10.0f}{row['postgres_peak_mb']:>10.0f}"
        )
    for name, target in result["targets"].items():
        lines.append(
            f"{name}: {_num(target['value'], 2)} (target {target['target']}: {'met' if target['met'] else 'MISSED'})"
        )
    return "\n".join(lines)
