"""Settings from the environment: typed, validated, and no silent typo."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from recsys.platform.settings import RecsConfig, Settings, SettingsError, get_settings


def test_nested_sections_lists_and_the_warehouse_alias_are_read():
    settings = get_settings(
        {
            "RECSYS_TRAINING__EPOCHS": "7",
            "RECSYS_TRAINING__RECENT_WINDOWS": "7, 14,28",
            "RECSYS_RULES__REBUY_CATEGORIES": "Tea,Coffee",
            "RECSYS_SHOP_OPENED": "2010-12-01",
            "RECSYS_TRAINING__DETERMINISTIC": "no",
            "WAREHOUSE_URL": "postgresql://bi@db/warehouse",
        }
    )
    assert settings.training.epochs == 7 and settings.training.recent_windows == (7, 14, 28)
    assert settings.rules.rebuy_categories == ("Tea", "Coffee")
    assert settings.shop_opened == dt.date(2010, 12, 1) and settings.training.deterministic is False
    assert settings.warehouse_url == "postgresql://bi@db/warehouse"


def test_an_empty_value_clears_an_optional_setting():
    assert get_settings({"RECSYS_RULES__RULES_FILE": ""}).rules.rules_file is None
    assert get_settings({"RECSYS_RULES__RULES_FILE": "rules.yml"}).rules.rules_file == Path("rules.yml")


@pytest.mark.parametrize(
    ("env", "message"),
    [
        (
            {"RECSYS_TRAINING__EPOCH": "3"},
            r"unknown setting.*RECSYS_TRAINING__EPOCH \(did you mean RECSYS_TRAINING__EPOCHS",
        ),
        ({"RECSYS_TRAINNG__EPOCHS": "3"}, r"unknown setting.*RECSYS_TRAINNG__EPOCHS"),
        ({"RECSYS_TRAINING__EPOCHS": "many"}, r"RECSYS_TRAINING__EPOCHS: Input should be a valid integer"),
        ({"RECSYS_TRAINING__DETERMINISTIC": "perhaps"}, r"RECSYS_TRAINING__DETERMINISTIC: .*boolean"),
        ({"RECSYS_SHOP_OPENED": "yesterday"}, r"RECSYS_SHOP_OPENED: .*date"),
    ],
)
def test_typos_and_mistyped_values_are_refused_naming_the_variable(env, message):
    with pytest.raises(SettingsError, match=message):
        get_settings(env)


def test_settings_built_in_code_ignore_the_environment(monkeypatch):
    monkeypatch.setenv("RECSYS_RECS__K", "3")
    assert Settings(home=Path("/tmp")).recs.k == RecsConfig().k
    assert get_settings().recs.k == 3
    with pytest.raises(ValueError, match="frozen"):
        Settings().recs.k = 5
