"""The raw contract is declared once (recsys/contracts/raw.py); everything else follows it."""

from __future__ import annotations

import re

import pytest
import yaml
from conftest import REPO

from recsys.contracts import dbt_sources, marts, raw
from recsys.platform import warehouse
from recsys_expectations.checks import contract_columns
from recsys_expectations.suites import suite_module


def test_the_committed_dbt_sources_are_generated_from_the_contract():
    assert dbt_sources.is_current(REPO / "dbt"), "run `recsys dbt sources` and commit the file"
    declared = yaml.safe_load((REPO / "dbt" / dbt_sources.SOURCES_FILE).read_text())["sources"][0]["tables"]
    tables = {t["name"]: [c["name"] for c in t["columns"]] for t in declared}
    for spec in raw.SOURCES.values():
        expected = [c.name for c in spec.columns] + ([spec.attributes_column] if spec.attributes_column else [])
        assert tables[spec.table] == expected + [name for name, _, _ in raw.BATCH_COLUMNS]


def test_a_changed_contract_makes_the_committed_file_stale(monkeypatch):
    changed = raw.SourceSpec("events", "events", (*raw.EVENTS.columns, raw.Column("channel", description="Channel.")))
    monkeypatch.setitem(raw.SOURCES, "events", changed)
    assert not dbt_sources.is_current(REPO / "dbt")
    assert "- name: channel" in dbt_sources.render()


def test_the_marts_check_constraint_accepts_exactly_the_contracts_event_types():
    marts = yaml.safe_load((REPO / "dbt" / "models" / "marts" / "_marts__models.yml").read_text())
    fct_events = next(m for m in marts["models"] if m["name"] == "fct_events")
    expressions = [
        c["expression"] for c in fct_events.get("constraints", []) if "event_type in" in c.get("expression", "")
    ]
    assert len(expressions) == 1
    assert tuple(re.findall(r"'(\w+)'", expressions[0])) == raw.EVENT_TYPES


def test_the_marts_rfm_segments_are_the_contracts():
    marts_yml = yaml.safe_load((REPO / "dbt" / "models" / "marts" / "_marts__models.yml").read_text())
    dim_customers = next(m for m in marts_yml["models"] if m["name"] == "dim_customers")
    expressions = [
        c["expression"]
        for column in dim_customers["columns"]
        for c in column.get("constraints", [])
        if "rfm_segment in" in c.get("expression", "")
    ] + [c["expression"] for c in dim_customers.get("constraints", []) if "rfm_segment in" in c.get("expression", "")]
    assert len(expressions) == 1
    assert tuple(re.findall(r"'(\w+)'", expressions[0])) == marts.RFM_SEGMENTS


@pytest.mark.parametrize("spec", list(raw.SOURCES.values()), ids=list(raw.SOURCES))
def test_the_raw_suites_check_the_contracts_columns(spec):
    suite = suite_module(f"raw_{spec.name}")
    source, table = suite.SOURCE, suite.TABLE
    assert source is spec
    assert table == f"raw.{spec.table}"
    assert list(contract_columns(spec)) == [c.name for c in spec.columns] + (
        [spec.attributes_column] if spec.attributes_column else []
    ) + [name for name, _, _ in raw.BATCH_COLUMNS]


@pytest.mark.integration
def test_the_raw_tables_have_the_contracts_columns_and_types(warehouse_db):
    with warehouse.connect(warehouse_db) as conn:
        for spec in raw.SOURCES.values():
            rows = conn.execute(
                "select a.attname, format_type(a.atttypid, a.atttypmod) from pg_attribute a"
                " where a.attrelid = %s::regclass and a.attnum > 0 and not a.attisdropped order by a.attnum",
                (f"raw.{spec.table}",),
            ).fetchall()
            expected = [(c.name, c.type.sql) for c in spec.columns]
            expected += [(spec.attributes_column, "jsonb")] if spec.attributes_column else []
            expected += [(name, kind) for name, kind, _ in raw.BATCH_COLUMNS]
            normalise = {"timestamptz": "timestamp with time zone", "timestamp": "timestamp without time zone"}
            assert rows == [(name, normalise.get(kind, kind)) for name, kind in expected], spec.name
