"""Pure parts of the gates: learnt bands, result wording, SQL rendering."""

from __future__ import annotations

import datetime as dt

import pytest

from recsys.platform.settings import QualityConfig, Settings
from recsys_expectations.bands import DayValue, share_band, volume_band
from recsys_expectations.results import (
    Outcome,
    SuiteResult,
    expectation_label,
    failure_message,
    observed_text,
    threshold_text,
)
from recsys_expectations.sqltext import render, table_identifier
from recsys_expectations.window import DEFAULT_LOOKBACK_DAYS, lookback_days, recent_from

CONFIG = QualityConfig(
    min_history_days=7, volume_low_ratio=0.2, volume_high_ratio=5.0, share_mad_k=3.0, share_min_half_width=0.01
)
DAY = dt.date(2011, 11, 30)  # a Wednesday


def days(values, last=DAY - dt.timedelta(days=1)):
    return [DayValue(last - dt.timedelta(days=i), v) for i, v in enumerate(values)]


def test_volume_band_scales_the_median():
    band = volume_band(days([100, 90, 110, 1000, 95, 105, 100, 0.5]), DAY, CONFIG)
    assert (band.low, band.high, band.severity) == (20, 500, "error")
    assert "median 100/day" in band.note


def test_a_tenth_of_the_usual_volume_is_outside_the_band():
    band = volume_band(days([1000] * 28), DAY, CONFIG)
    assert not band.low <= 100 <= band.high
    assert not band.low <= 5000 + 1 <= band.high


def test_short_history_downgrades_to_a_warning():
    band = volume_band(days([100] * 3), DAY, CONFIG)
    assert band.severity == "warning" and "only 3 day(s)" in band.note
    assert volume_band([], DAY, CONFIG).severity == "warning"


def test_a_weekday_never_seen_in_the_window_only_warns():
    weekdays_only = [d for d in days([100] * 28) if d.day.weekday() != 5]
    saturday = dt.date(2011, 12, 3)
    assert volume_band(weekdays_only, saturday, CONFIG).severity == "warning"
    assert volume_band(weekdays_only, DAY, CONFIG).severity == "error"


def test_share_band_is_robust_to_one_outlier_and_has_a_floor():
    band = share_band(days([0.05, 0.051, 0.049, 0.05, 0.052, 0.048, 0.05, 0.9]), CONFIG)
    assert band.low < 0.05 < band.high < 0.2
    flat = share_band(days([0.0] * 10), CONFIG)
    assert (flat.low, flat.high) == (0.0, 0.01)


def test_share_band_stays_within_zero_and_one():
    band = share_band(days([0.99, 1.0, 0.5, 1.0, 0.7, 1.0, 0.98]), CONFIG)
    assert band.low >= 0.0 and band.high == 1.0


def test_observed_text_of_a_map_expectation_gives_share_and_examples():
    text = observed_text(
        {
            "element_count": 1000,
            "unexpected_count": 300,
            "unexpected_percent": 30.0,
            "partial_unexpected_list": [None, None, None, None],
        }
    )
    assert text == "30.00% unexpected (300 of 1,000 rows), e.g. [None, None, None]"


def test_observed_text_of_rule_and_aggregate_expectations():
    rows = [{"customer_id": "c1", "n_rows": 4}]
    assert observed_text({"observed_value": 1, "details": {"unexpected_rows": rows}}) == (
        "1 unexpected row(s), e.g. [{customer_id: c1, n_rows: 4}]"
    )
    assert observed_text({"observed_value": 0, "details": {"unexpected_rows": []}}) == "0 unexpected row(s)"
    assert observed_text({"observed_value": dt.date(2011, 11, 25)}) == "2011-11-25"
    assert observed_text({"observed_value": 0.123456789}) == "0.123457"
    assert observed_text({}, {"raised_exception": True, "exception_message": "no such column"}) == (
        "could not evaluate: no such column"
    )


def test_label_and_threshold_name_the_data_and_the_bound():
    config = {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "customer_id", "mostly": 0.95}}
    assert expectation_label(config) == "expect_column_values_to_not_be_null(customer_id)"
    assert threshold_text(config, "anonymous ~1%") == "mostly=0.95 (anonymous ~1%)"
    rule = {"type": "unexpected_rows_expectation", "kwargs": {}, "description": "every user has 10 rows"}
    assert expectation_label(rule) == "unexpected_rows_expectation(every user has 10 rows)"


def test_failure_message_lists_only_errors_with_table_and_observation():
    outcomes = (
        Outcome(
            "batch", "expect_column_values_to_be_between(price)", "", "error", False, "3.00% unexpected", "min_value=0"
        ),
        Outcome("batch", "expect_table_row_count_to_be_between()", "", "warning", False, "0", "min_value=1"),
        Outcome(
            "batch", "expect_column_values_to_be_unique(product_id)", "", "error", True, "0.00% unexpected", "none"
        ),
    )
    result = SuiteResult("raw_products", "raw.products", DAY, "run1", outcomes)
    message = failure_message(result)
    assert (
        "raw.products: expect_column_values_to_be_between(price) observed 3.00% unexpected; expected min_value=0"
        in message
    )
    assert "row_count" not in message and "unique" not in message
    assert len(result.errors) == 1 and len(result.warnings) == 1 and not result.success


@pytest.mark.parametrize("bad", ["events", "raw.events; drop table x", 'raw."events"', "Raw.Events"])
def test_table_names_outside_the_whitelist_pattern_are_refused(bad):
    with pytest.raises(ValueError, match="schema.table"):
        table_identifier(bad)


def test_render_quotes_tables_types_values_and_keeps_the_batch_placeholder():
    text = render("raw_batch_by_ids.sql", {"table": "raw.events"}, batch_ids=[1, 2])
    assert '"raw"."events"' in text and "'{1,2}'" in text
    rule = render("users_without_k_rows.sql", k=10)
    assert "{batch}" in rule and "<> 10" in rule


def test_the_recent_window_follows_the_dbt_lookback(tmp_path):
    settings = Settings(home=tmp_path)
    assert lookback_days(settings) == DEFAULT_LOOKBACK_DAYS
    (tmp_path / "dbt").mkdir()
    (tmp_path / "dbt" / "dbt_project.yml").write_text("vars:\n  incremental_lookback_days: 7\n")
    assert lookback_days(settings) == 7
    # a night rebuilds the lookback days before the previous night's date
    assert recent_from(DAY, 7) == DAY - dt.timedelta(days=8)
    (tmp_path / "dbt" / "dbt_project.yml").write_text("vars:\n  incremental_lookback_days: -1\n")
    with pytest.raises(ValueError, match="incremental_lookback_days"):
        lookback_days(settings)
