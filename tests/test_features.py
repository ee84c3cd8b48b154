"""Interaction weights agree with the dbt definition; features and id mappings are stable."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import yaml
from planted import planted_frames

from recsys.platform import dbt_project
from recsys.training import features, frames
from recsys.training.frames import Frames, normalise_interactions
from recsys.training.matrix import build_training_data
from recsys.training.weighting import Weighting, aggregate_pairs, load_weighting


def test_load_weighting_reads_the_dbt_vars(tmp_path):
    project = tmp_path / "dbt_project.yml"
    project.write_text(
        yaml.safe_dump(
            {"vars": {"event_weights": {"view": 2, "purchase": 7}, "recency_half_life_days": 30, "count_log_base": 10}}
        )
    )
    weighting = load_weighting(project)
    assert weighting.event_weights["view"] == 2.0 and weighting.event_weights["purchase"] == 7.0
    assert weighting.event_weights["cart"] == Weighting().event_weights["cart"]  # not declared: default
    assert weighting.recency_half_life_days == 30.0 and weighting.count_log_base == 10.0
    assert load_weighting(tmp_path / "absent.yml") == Weighting()


def test_load_weighting_rejects_a_non_positive_half_life(tmp_path):
    project = tmp_path / "dbt_project.yml"
    project.write_text(yaml.safe_dump({"vars": {"recency_half_life_days": 0}}))
    with pytest.raises(ValueError, match="recency_half_life_days"):
        load_weighting(project)


def test_the_checkout_dbt_project_drives_training_weights():
    declared = dbt_project.dbt_vars()
    if not declared:
        pytest.skip("dbt/dbt_project.yml is not in this checkout")
    weighting = load_weighting()
    for event, weight in declared["event_weights"].items():
        assert weighting.event_weights[event] == float(weight)
    assert weighting.recency_half_life_days == float(declared["recency_half_life_days"])


def test_mart_rows_are_weighted_as_int_user_item_interactions_weighs_them():
    weighting = Weighting(
        event_weights={"view": 1.0, "cart": 3.0, "purchase": 5.0, "rating": 5.0},
        count_log_base=2.0,
        rating_scale_max=5.0,
        recency_half_life_days=90.0,
    )
    daily = pd.DataFrame(
        {
            "user_id": ["c1", "c1", "c2"],
            "item_id": ["p1", "p1", "p1"],
            "timestamp": pd.to_datetime(["2024-01-01", "2024-01-02", "2024-04-01"]),
            "n_views": [2, 1, 0],
            "n_carts": [0, 1, 0],
            "n_purchases": [1, 0, 0],
            "n_ratings": [0, 0, 1],
            "rating": [None, None, 4.0],
        }
    )
    pairs = aggregate_pairs(frames.mart_rows_to_interactions(daily), pd.Timestamp("2024-04-02"), weighting)
    weights = pairs.set_index("user_id")["weight"]
    # c1: 3 views, 1 cart, 1 purchase, last on 2024-01-02 -> 90 days before the as-of date 2024-04-01
    c1 = (1 * math.log2(4) + 3 * math.log2(2) + 5 * math.log2(2)) * 0.5
    # c2: one 4-star rating on the as-of date itself: 5 * 4/5 * log2(2), no decay
    c2 = 5 * 4 / 5 * math.log2(2)
    assert weights["c1"] == pytest.approx(c1, rel=1e-6)
    assert weights["c2"] == pytest.approx(c2, rel=1e-6)


def test_file_rows_count_as_one_generic_event_each():
    frame = normalise_interactions(
        pd.DataFrame(
            {
                "user_id": ["u", "u", "u"],
                "item_id": ["i", "i", "j"],
                "timestamp": ["2024-01-10", "2024-01-10", "2024-01-10"],
                "weight": [1, 2, 1],
            }
        )
    )
    pairs = aggregate_pairs(frame, pd.Timestamp("2024-01-11"), Weighting())
    assert pairs.set_index("item_id")["weight"].to_dict() == pytest.approx({"i": math.log2(4), "j": 1.0})
    assert pairs.set_index("item_id")["n_rows"].to_dict() == {"i": 2, "j": 1}


def test_negative_weights_and_missing_columns_are_refused():
    with pytest.raises(ValueError, match="negative"):
        normalise_interactions(
            pd.DataFrame({"user_id": [1], "item_id": [2], "timestamp": ["2024-01-01"], "weight": [-1]})
        )
    with pytest.raises(ValueError, match="timestamp"):
        normalise_interactions(pd.DataFrame({"user_id": [1], "item_id": [2]}))


def test_feature_matrix_has_identity_first_rows_normalised_and_kinds_by_column():
    n = 120
    ids = np.array([f"e{i:03d}" for i in range(n)])
    attributes = pd.DataFrame(
        {
            "country": (["DE", "FR", "NL"] * n)[:n],
            "price": np.arange(n, dtype=float),
            "title": ["red garden chair", "blue garden table", "red lamp"] + ["green rug"] * (n - 3),
            "email": [f"{i}@example.org" for i in range(n)],  # one value per row: an identifier, not a feature
        },
        index=ids,
    )
    matrix, names = features.feature_matrix(ids, attributes)
    assert names[:n] == tuple(f"id={i}" for i in ids)
    assert {"country=DE", "country=FR", "price=q1", "price=q4", "title:garden", "title:red"} <= set(names)
    assert not any(name.startswith("email") for name in names)
    assert "title:lamp" not in names  # a word of one entity only generalises nothing
    assert "title:rug" not in names  # a word of most entities tells them apart from nothing
    np.testing.assert_allclose(np.asarray(matrix.sum(axis=1)).ravel(), 1.0, rtol=1e-6)
    # the identity keeps its share; the four other features of row 0 split the rest
    assert matrix[0, 0] == pytest.approx(features.IDENTITY_SHARE)
    assert matrix[0, names.index("country=DE")] == pytest.approx((1 - features.IDENTITY_SHARE) / 4)
    assert {names[j] for j in matrix[0].indices} == {"id=e000", "country=DE", "price=q1", "title:garden", "title:red"}
    assert {names[j] for j in matrix[n - 1].indices} == {f"id={ids[-1]}", "country=NL", "price=q4"}


def test_identity_only_without_attributes():
    matrix, names = features.feature_matrix(np.array(["x", "y"]), None)
    assert names == ("id=x", "id=y")
    assert (matrix.toarray() == np.eye(2)).all()


def test_training_data_mappings_are_sorted_stable_and_include_the_catalogue():
    frames = planted_frames(n_users=80, seed=2)
    catalogue_only = pd.DataFrame(
        {"item_id": ["zz-new"], "category": ["garden"], "brand": ["b"], "price": [3.0], "title": ["garden thing"]}
    )
    frames = Frames(frames.interactions, pd.concat([frames.items, catalogue_only], ignore_index=True), frames.users)
    cutoff = pd.Timestamp("2024-06-01")
    first = build_training_data(frames, cutoff, Weighting())
    shuffled = Frames(
        frames.interactions.sample(frac=1, random_state=0),
        frames.items.sample(frac=1, random_state=0),
        frames.users.sample(frac=1, random_state=0),
    )
    second = build_training_data(shuffled, cutoff, Weighting())
    assert list(first.user_ids) == sorted(first.user_ids)
    assert (first.user_ids == second.user_ids).all() and (first.item_ids == second.item_ids).all()
    assert first.item_feature_names == second.item_feature_names
    assert (first.interactions != second.interactions).nnz == 0
    assert "zz-new" in first.item_ids and first.interactions[:, first.item_index(["zz-new"])[0]].nnz == 0
    assert set(first.user_ids) == set(frames.interactions.loc[frames.interactions["timestamp"] < cutoff, "user_id"])
    assert first.user_index(["nobody"])[0] == -1
    assert any(n.startswith("country=") for n in first.user_feature_names)
    assert any(n.startswith("category=") for n in first.item_feature_names)


def test_online_retail_layout_keeps_only_customer_purchases_of_products():
    lines = pd.DataFrame(
        {
            "InvoiceNo": ["1", "1", "C2", "3", "4", "5"],
            "StockCode": ["85123A", "POST", "85123A", "22423", "22423", "22423"],
            "Description": [
                "WHITE HANGING HEART T-LIGHT HOLDER",
                "POSTAGE",
                "WHITE HANGING HEART T-LIGHT HOLDER",
                "REGENCY CAKESTAND 3 TIER",
                "REGENCY CAKESTAND 3 TIER",
                "REGENCY CAKESTAND 3 TIER",
            ],
            "Quantity": [6, 1, -6, 2, -1, 4],
            "InvoiceDate": [
                "2010-12-01 08:26",
                "2010-12-01 08:26",
                "2010-12-02 09:00",
                "2010-12-03 10:00",
                "2010-12-04 10:00",
                "2010-12-05 10:00",
            ],
            "UnitPrice": [2.55, 18.0, 2.55, 12.75, 12.75, 12.75],
            "CustomerID": [17850.0, 17850.0, 17850.0, 13047.0, 13047.0, None],
            "Country": ["United Kingdom"] * 6,
        }
    )
    data = frames.order_lines_to_frames(lines, fee_product_codes=["POST"])
    kept = list(zip(data.interactions["user_id"], data.interactions["item_id"]))
    assert kept == [("17850", "85123A"), ("13047", "22423")]
    assert data.items.set_index("item_id").loc["85123A", "category"] == "HOLDER"
    assert set(data.users["country"]) == {"United Kingdom"}


def test_an_event_log_file_is_weighted_like_the_mart_rows():
    log = pd.DataFrame(
        {
            "user_id": ["c1"] * 4,
            "item_id": ["p1"] * 4,
            "timestamp": ["2024-01-01 10:00", "2024-01-01 11:00", "2024-01-02 09:00", "2024-01-02 09:05"],
            "event_type": ["view", "view", "purchase", "rating"],
            "rating": [None, None, None, 5],
        }
    )
    events = normalise_interactions(log)
    daily = frames.mart_rows_to_interactions(
        pd.DataFrame(
            {
                "user_id": ["c1", "c1"],
                "item_id": ["p1", "p1"],
                "timestamp": pd.to_datetime(["2024-01-01", "2024-01-02"]),
                "n_views": [2, 0],
                "n_carts": [0, 0],
                "n_purchases": [0, 1],
                "n_ratings": [0, 1],
                "rating": [None, 5.0],
            }
        )
    )
    cutoff = pd.Timestamp("2024-02-01")
    from_events = aggregate_pairs(events, cutoff, Weighting())["weight"]
    from_marts = aggregate_pairs(daily, cutoff, Weighting())["weight"]
    assert from_events.iloc[0] == pytest.approx(from_marts.iloc[0])
    with pytest.raises(ValueError, match="unknown event_type"):
        normalise_interactions(log.assign(event_type="click"))


def test_online_retail_file_converts_to_standard_frames(online_retail_path):
    lines = pd.read_csv(online_retail_path, nrows=20_000, dtype={"InvoiceNo": str, "StockCode": str})
    fees = dbt_project.dbt_vars().get("fee_product_codes", ["POST", "M", "D"])
    data = frames.order_lines_to_frames(lines, fees)
    purchases = lines[
        lines["CustomerID"].notna()
        & (lines["Quantity"] > 0)
        & ~lines["InvoiceNo"].str.startswith("C")
        & ~lines["StockCode"].str.upper().isin([str(f).upper() for f in fees])
    ]
    assert len(data.interactions) == len(purchases)
    assert not data.interactions["item_id"].isin([str(f).upper() for f in fees]).any()
    assert set(data.interactions["item_id"]) == set(data.items["item_id"])
    assert set(data.interactions["user_id"]) == set(data.users["user_id"])
    assert data.items["title"].str.len().gt(0).mean() > 0.99
