"""Business rules: eligibility, exclusions, promotions and list assembly."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from recsys.platform.settings import RulesConfig
from recsys.ranking.topk import TopK
from recsys.serving import rules


def test_rules_file_overrides_config_and_adds_dbt_fee_codes(tmp_path):
    path = tmp_path / "shop.yml"
    path.write_text(
        "category_cap: 2\nrebuy_categories: [Tea]\nfee_product_codes: [post]\n"
        "promotions:\n  - {product_id: '85123A', boost: 1.5, start: 2011-11-01, end: 2011-11-30}\n"
    )
    loaded = rules.load_rules(RulesConfig(rules_file=path, category_cap=5), dbt_fee_codes=["DOT"])
    assert loaded.category_cap == 2
    assert loaded.rebuy_categories == {"tea"}
    assert loaded.fee_product_codes == {"POST", "DOT"}
    assert loaded.promotions == (rules.Promotion("85123A", 1.5, dt.date(2011, 11, 1), dt.date(2011, 11, 30)),)


def test_bad_rules_files_are_refused_with_the_reason(tmp_path):
    path = tmp_path / "shop.yml"
    path.write_text("category_kap: 2\n")
    with pytest.raises(ValueError, match="unknown rule keys"):
        rules.load_rules(RulesConfig(rules_file=path))
    path.write_text("promotions:\n  - {product_id: A, boost: 1, start: 2011-12-01, end: 2011-11-01}\n")
    with pytest.raises(ValueError, match="ends"):
        rules.load_rules(RulesConfig(rules_file=path))
    with pytest.raises(FileNotFoundError, match="RECSYS_RULES__RULES_FILE"):
        rules.load_rules(RulesConfig(rules_file=tmp_path / "absent.yml"))
    with pytest.raises(ValueError, match="category_cap"):
        rules.BusinessRules(category_cap=0)


def test_recommendable_drops_out_of_stock_inactive_and_fee_codes():
    items = pd.DataFrame(
        {
            "item_id": ["A", "B", "C", "post", "E"],
            "in_stock": [True, False, True, True, None],
            "is_active": [True, True, False, True, True],
        }
    )
    mask = rules.recommendable(items, rules.BusinessRules(fee_product_codes=frozenset({"POST"})))
    assert mask.tolist() == [True, False, False, False, True]
    by_level = pd.DataFrame({"item_id": ["A", "B"], "stock_level": [0, 3]})
    assert rules.recommendable(by_level, rules.BusinessRules()).tolist() == [False, True]


def test_new_items_and_promotions_follow_their_dates():
    items = pd.DataFrame(
        {"item_id": ["old", "new", "future"], "created_at": ["2011-01-01", "2011-11-20", "2011-12-05"]}
    )
    as_of = dt.date(2011, 12, 1)
    assert rules.new_items(items, rules.BusinessRules(new_item_days=30), as_of).tolist() == [False, True, False]
    seen = pd.DataFrame(
        {"item_id": ["a", "b"], "created_at": [None, "2010-01-01"], "first_seen_at": ["2011-11-25", "2011-11-25"]}
    )
    assert rules.new_items(seen, rules.BusinessRules(), as_of).tolist() == [True, False], "created_at wins"
    promo = rules.BusinessRules(promotions=(rules.Promotion("new", 2.0, dt.date(2011, 11, 1), dt.date(2011, 11, 30)),))
    assert rules.promotion_boost(items["item_id"].to_numpy(), promo, dt.date(2011, 11, 30)).tolist() == [0, 2, 0]
    assert rules.promotion_boost(items["item_id"].to_numpy(), promo, as_of).tolist() == [0, 0, 0]


def test_purchases_are_excluded_except_rebuy_categories_and_views_on_request():
    # pairs: u0 bought A and B (B is tea), u1 bought B, u0 viewed C; u1's item -1 is no candidate
    users, items = np.array([0, 0, 1, 0, 1]), np.array([0, 1, 1, 2, -1])
    bought = np.array([True, True, True, False, True])
    categories = np.array(["mugs", "tea", "mugs"])
    tea = frozenset({"tea"})

    def excluded(**values) -> list:
        rule = rules.BusinessRules(rebuy_categories=tea, **values)
        return rules.exclusions(users, items, bought, (2, 3), categories, rule).toarray().tolist()

    assert excluded(exclude_viewed=False) == [[1, 0, 0], [0, 0, 0]]
    assert excluded(exclude_viewed=True) == [[1, 0, 1], [0, 0, 0]]
    assert excluded(exclude_purchased=False) == [[0, 0, 0], [0, 0, 0]]


def _assemble(main, explore, category, k, exclude=None, fallback=None, **rule_values):
    main = np.asarray(main, np.int32)
    explore = np.asarray(explore, np.int32).reshape(len(main), -1)
    n_items = len(category)
    return rules.assemble(
        TopK(main, -np.arange(main.shape[1], dtype=np.float32)[None, :].repeat(len(main), 0)),
        TopK(explore, -0.5 - np.arange(explore.shape[1], dtype=np.float32)[None, :].repeat(len(main), 0)),
        fallback=np.arange(n_items) if fallback is None else np.asarray(fallback),
        exclude=exclude if exclude is not None else sp.csr_matrix((len(main), n_items)),
        category=np.asarray(category),
        k=k,
        rules=rules.BusinessRules(**rule_values),
    )


def test_category_cap_holds_and_lists_are_full_and_distinct():
    category = np.array([0, 0, 0, 0, 1, 1, 2, 2, 3])
    result = _assemble([[0, 1, 2, 3, 4, 0, 5, 6]], [[]], category, k=5, category_cap=2, exploration_share=0)
    assert result.indices.tolist() == [[0, 1, 4, 5, 6]]
    assert (result.source == rules.FROM_MODEL).all()


def test_short_lists_are_filled_from_the_fallback_skipping_excluded_items():
    category = np.array([0, 0, 0, 1, 2, 3])
    exclude = sp.csr_matrix(([1.0], ([0], [3])), shape=(1, 6))
    result = _assemble(
        [[0, 1, 2, -1]],
        [[]],
        category,
        k=4,
        exclude=exclude,
        fallback=[3, 0, 4, 5],
        category_cap=2,
        exploration_share=0,
    )
    assert result.indices.tolist() == [[0, 1, 4, 5]]
    assert result.source.tolist() == [[0, 0, 2, 2]]
    with pytest.raises(ValueError, match="category_cap"):
        _assemble([[0, 1, 2]], [[]], np.zeros(3, int), k=3, category_cap=1, exploration_share=0)


def test_exploration_slots_go_to_new_items_and_back_to_the_model_when_none():
    category = -np.ones(20, int)
    result = _assemble([list(range(10))], [[15, 16]], category, k=10, exploration_share=0.2)
    assert sorted(result.indices[0].tolist()) == [0, 1, 2, 3, 4, 5, 6, 7, 15, 16]
    assert (result.source[0] == rules.FROM_EXPLORATION).sum() == 2
    assert np.all(np.diff(result.scores[0]) <= 0), "model and exploration items are ordered by score"
    fallback_only = _assemble([list(range(10))], [[-1, -1]], category, k=10, exploration_share=0.2)
    assert fallback_only.indices.tolist() == [list(range(10))]
    assert rules.BusinessRules(exploration_share=0.1).exploration_slots(5) == 1
    assert rules.BusinessRules(exploration_share=0.1).exploration_slots(4) == 0


def test_placeholder_categories_are_not_capped():
    codes = rules.category_codes(pd.Series(["mugs", "unknown", None, "Mugs", "UNKNOWN", "tea"]))
    assert codes[1] == codes[2] == codes[4] == -1
    assert codes[0] >= 0 and codes[5] >= 0 and codes[0] != codes[5] and codes[3] not in (-1, codes[5])
