"""``make bench SIZE=small`` end to end, so the benchmark code never rots.

No timing assertions (a shared 2-core machine makes them flaky): every stage must have
run on real rows with a positive time and a peak memory, the references must have been
measured, and the ratios and targets must be computed from them.
"""

from __future__ import annotations

import json
import math

import pytest

from recsys_bench import report
from recsys_bench.run import run_bench
from recsys_bench.stages import NIGHTLY, STAGES


@pytest.fixture(scope="module")
def small_result(tmp_path_factory):
    root = tmp_path_factory.mktemp("bench")
    docs = root / "benchmarks.md"
    docs.write_text("# Benchmarks\n\n## Context adjustment\n\nkept as is\n")
    path = run_bench("small", root / "work", root / "results", docs)
    return json.loads(path.read_text()), docs, root


@pytest.mark.integration
@pytest.mark.timeout(240)
def test_every_stage_ran_on_rows(small_result):
    result, _, _ = small_result
    assert list(result["stages"]) == list(STAGES)
    for name, figures in result["stages"].items():
        assert figures["rows"] > 0, name
        assert figures["seconds"] > 0, name
        assert figures["peak_rss_mb"] > 0, name
    parts = result["stages"]["scoring_publishing"]["parts"]
    assert parts["customers"] > 0 and parts["scoring_seconds"] > 0 and parts["publishing_seconds"] > 0
    assert result["stages"]["training"]["parts"]["lightfm_epochs"] > 0


@pytest.mark.integration
def test_references_and_ratios_are_computed(small_result):
    result, _, _ = small_result
    refs = result["references"]
    history_events = result["stages"]["backfill_load"]["parts"]["rows_by_source"]["events"]
    assert refs["load_reference"]["parts"]["rows"] == history_events  # the very rows the loader wrote
    assert refs["publish_reference"]["parts"]["rows"] == result["stages"]["scoring_publishing"]["rows"]
    assert refs["scoring_reference"]["parts"]["bare_seconds"] > 0
    for name, value in result["ratios"].items():
        assert value is not None and math.isfinite(value) and value > 0, name
    assert set(result["targets"]) == set(report.TARGETS)
    assert result["nightly"]["seconds"] >= sum(result["stages"][s]["seconds"] for s in NIGHTLY)


@pytest.mark.integration
def test_docs_table_regenerated_and_other_sections_kept(small_result):
    result, docs, root = small_result
    text = docs.read_text()
    assert "## Context adjustment\n\nkept as is" in text
    assert report.START in text and "### small" in text and "nightly total" in text
    report.update_docs(docs, root / "results")  # regenerating replaces the block, never appends a second one
    assert docs.read_text().count(report.START) == 1
