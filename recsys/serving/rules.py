"""Business rules: which items may be recommended to whom, and how a list is assembled.

The rules of a shop are :class:`recsys.platform.settings.RulesConfig` overlaid with the shop's YAML
file (``rules_file``), for example::

    category_cap: 3              # at most 3 items of one category in a list
    exploration_share: 0.1       # 1 slot in 10 reserved for new products
    new_item_days: 30            # "new" = created (or first seen) in the last 30 days
    rebuy_categories: [tea, soap]   # consumables: bought items may be recommended again
    fee_product_codes: [POST, DOT]  # added to the dbt var fee_product_codes
    promotions:
      - {product_id: "85123A", boost: 1.0, start: 2011-11-01, end: 2011-11-30}

A promotion's ``boost`` is in the same unit as the context weights (times the model's
score scale) and applies from ``start`` to ``end`` inclusive.  Everything here is pure.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numba as nb
import numpy as np
import pandas as pd
import scipy.sparse as sp
import yaml

from recsys.platform.dbt_project import dbt_vars
from recsys.platform.settings import RulesConfig, Settings
from recsys.ranking.topk import TopK

#: Where an item of an assembled list came from.
FROM_MODEL, FROM_EXPLORATION, FROM_FALLBACK = 0, 1, 2
#: Category labels that mean "no category" (the marts write 'unknown'): never capped.
UNCATEGORISED = frozenset({"", "unknown", "none", "n/a", "nan"})


@dataclass(frozen=True)
class Promotion:
    """A promoted product, its boost and its date window (inclusive)."""

    product_id: str
    boost: float
    start: dt.date
    end: dt.date

    def active(self, on: dt.date) -> bool:
        return self.start <= on <= self.end


@dataclass(frozen=True)
class BusinessRules:
    """The effective rules of one shop (config defaults overlaid with its YAML file)."""

    exclude_purchased: bool = True
    exclude_viewed: bool = True
    rebuy_categories: frozenset[str] = frozenset()
    fee_product_codes: frozenset[str] = frozenset()
    category_cap: int = 3
    exploration_share: float = 0.1
    new_item_days: int = 30
    candidates_per_slot: int = 4
    promotions: tuple[Promotion, ...] = ()

    def __post_init__(self) -> None:
        if self.category_cap < 1:
            raise ValueError(f"category_cap must be at least 1, got {self.category_cap}")
        if not 0 <= self.exploration_share < 1:
            raise ValueError(f"exploration_share must be in [0, 1), got {self.exploration_share}")
        if self.candidates_per_slot < 1:
            raise ValueError(f"candidates_per_slot must be at least 1, got {self.candidates_per_slot}")

    def exploration_slots(self, k: int) -> int:
        """Slots of a ``k`` list reserved for new products (rounded half up, never all)."""
        return min(int(np.floor(k * self.exploration_share + 0.5)), k - 1)

    def candidates(self, k: int) -> int:
        """Items the kernel returns per user, so caps and exploration have room."""
        return k * self.candidates_per_slot


def load_rules(config: RulesConfig, dbt_fee_codes: Iterable[str] = ()) -> BusinessRules:
    """The shop's rules: ``config``, then its ``rules_file`` on top.

    ``dbt_fee_codes`` is the dbt var ``fee_product_codes``, so the warehouse's idea of
    "not a product" and the rules' stay one list.
    """
    values = config.model_dump(exclude={"rules_file"})
    promotions: list = []
    if config.rules_file is not None:
        path = Path(config.rules_file)
        if not path.exists():
            raise FileNotFoundError(f"rules file {path} (RECSYS_RULES__RULES_FILE) does not exist")
        overlay = yaml.safe_load(path.read_text()) or {}
        unknown = set(overlay) - set(values) - {"promotions"}
        if unknown:
            raise ValueError(f"{path}: unknown rule keys {sorted(unknown)}; known: {sorted(values) + ['promotions']}")
        promotions = overlay.pop("promotions", None) or []
        values.update(overlay)
    fee_codes = {str(c).upper() for c in [*values.pop("fee_product_codes"), *dbt_fee_codes]}
    return BusinessRules(
        **{k: v for k, v in values.items() if k != "rebuy_categories"},
        rebuy_categories=frozenset(str(c).lower() for c in values["rebuy_categories"]),
        fee_product_codes=frozenset(fee_codes),
        promotions=tuple(_promotion(p) for p in promotions),
    )


def shop_rules(settings: Settings) -> BusinessRules:
    """The shop's rules from the settings, with the dbt var ``fee_product_codes`` as extra fee codes."""
    fee_codes = dbt_vars(settings.dbt_project_dir / "dbt_project.yml").get("fee_product_codes") or []
    return load_rules(settings.rules, fee_codes)


def _promotion(entry: dict) -> Promotion:
    missing = {"product_id", "boost", "start", "end"} - set(entry)
    if missing:
        raise ValueError(f"promotion {entry} lacks {sorted(missing)}")
    start, end = pd.Timestamp(entry["start"]).date(), pd.Timestamp(entry["end"]).date()
    if end < start:
        raise ValueError(f"promotion of {entry['product_id']} ends ({end}) before it starts ({start})")
    return Promotion(str(entry["product_id"]), float(entry["boost"]), start, end)


def _flag(items: pd.DataFrame, column: str) -> np.ndarray:
    """A boolean column, true where absent or unknown (an offline item file may lack it)."""
    if column not in items:
        return np.ones(len(items), dtype=bool)
    return items[column].astype("boolean").fillna(True).to_numpy(dtype=bool)


def recommendable(items: pd.DataFrame, rules: BusinessRules) -> np.ndarray:
    """Mask of items that may appear in any list: in stock, active, a product, not a fee code.

    ``items`` has ``item_id`` and optionally ``in_stock`` (else ``stock_level > 0``),
    ``is_active``, ``is_product``.
    """
    in_stock = _flag(items, "in_stock")
    if "in_stock" not in items and "stock_level" in items:
        in_stock = pd.to_numeric(items["stock_level"], errors="coerce").fillna(1).to_numpy() > 0
    fee = items["item_id"].astype(str).str.upper().isin(rules.fee_product_codes).to_numpy()
    return in_stock & _flag(items, "is_active") & _flag(items, "is_product") & ~fee


def launch_dates(items: pd.DataFrame) -> pd.Series:
    """When each item went on sale: ``created_at``, else ``first_seen_at`` (NaT when neither)."""
    dates = pd.Series(pd.NaT, index=items.index, dtype="datetime64[ns]")
    for column in ("first_seen_at", "created_at"):  # created_at wins where both are known
        if column in items:
            known = pd.to_datetime(items[column], utc=True, errors="coerce").dt.tz_localize(None)
            dates = known.where(known.notna(), dates)
    return dates


def new_items(items: pd.DataFrame, rules: BusinessRules, as_of: dt.date) -> np.ndarray:
    """Mask of items launched (:func:`launch_dates`) in the ``new_item_days`` before ``as_of``."""
    if rules.new_item_days <= 0:
        return np.zeros(len(items), dtype=bool)
    launched, cutoff = launch_dates(items), pd.Timestamp(as_of)
    return ((launched >= cutoff - pd.Timedelta(days=rules.new_item_days)) & (launched < cutoff)).to_numpy()


def promotion_boost(item_ids: np.ndarray, rules: BusinessRules, as_of: dt.date) -> np.ndarray:
    """``(n_items,)`` boost of the promotions active on ``as_of`` (the largest per item)."""
    boost = np.zeros(len(item_ids), dtype=np.float32)
    position = pd.Index(item_ids)
    for promotion in rules.promotions:
        if promotion.active(as_of) and promotion.product_id in position:
            at = position.get_loc(promotion.product_id)
            boost[at] = max(boost[at], promotion.boost)
    return boost


def exclusions(
    users: np.ndarray,
    items: np.ndarray,
    bought: np.ndarray,
    shape: tuple[int, int],
    categories: np.ndarray,
    rules: BusinessRules,
) -> sp.csr_matrix:
    """``shape`` (users x items) pairs never to recommend, from the pairs a customer had.

    ``users[p], items[p]`` is a pair (item -1: not a candidate), ``bought[p]`` whether it was
    bought.  Bought pairs are excluded (``exclude_purchased``), with ``exclude_viewed`` viewed
    and carted ones too, except items of the re-buy categories.
    """
    if not rules.exclude_purchased:
        return sp.csr_matrix(shape, dtype=np.float32)
    had = (items >= 0) & (bought | rules.exclude_viewed)
    users, items = users[had], items[had]
    rebuy_item = pd.Series(categories).astype(str).str.lower().isin(rules.rebuy_categories).to_numpy()
    rebuy = rebuy_item[items]  # one test per catalogue item, not per pair
    matrix = sp.csr_matrix((np.ones((~rebuy).sum(), np.float32), (users[~rebuy], items[~rebuy])), shape=shape)
    matrix.sum_duplicates()
    matrix.data[:] = 1
    matrix.sort_indices()
    return matrix


def category_codes(categories: pd.Series) -> np.ndarray:
    """Integer code of each item's category for the cap; -1 (uncapped) when it has none."""
    labels = categories.astype(object).where(categories.notna(), "").astype(str).str.strip()
    codes = pd.factorize(labels.where(~labels.str.lower().isin(UNCATEGORISED), None), use_na_sentinel=True)[0]
    return codes.astype(np.int32)


@dataclass(frozen=True)
class AssembledLists:
    """Final lists: item rows, the score that placed them and where each came from."""

    indices: np.ndarray  # (n_users, k) int32
    scores: np.ndarray  # (n_users, k) float32 (NaN for fallback items: no kernel score)
    source: np.ndarray  # (n_users, k) int8: FROM_MODEL, FROM_EXPLORATION, FROM_FALLBACK


def assemble(
    model: TopK,
    exploration: TopK,
    *,
    fallback: np.ndarray,
    exclude: sp.csr_matrix,
    category: np.ndarray,
    k: int,
    rules: BusinessRules,
) -> AssembledLists:
    """Lists of ``k`` distinct items that respect the category cap.

    Model candidates fill the slots not reserved for exploration, new items fill those,
    leftover exploration slots go back to the model candidates, and a list still short
    (caps, exclusions) is completed from ``fallback`` (eligible items by popularity)
    skipping excluded pairs.  Model and exploration items are then ordered by score.

    Parameters
    ----------
    model : TopK, shape (n_users, c)
        Kernel candidates (-1 padding).
    exploration : TopK, shape (n_users, e)
        Best new items of each user (``e`` may be 0).
    fallback : ndarray of int
        Item rows in fallback order.
    exclude : csr_matrix, shape (n_users, n_items)
        Pairs that fallback items must skip (sorted indices).
    category : ndarray of int, shape (n_items,)
        Category code of each item, -1 for none (uncapped).

    Raises
    ------
    ValueError
        When some list cannot reach ``k`` items: the catalogue is too small for the cap.
    """
    main_idx, explore_idx = model.indices, exploration.indices
    n_users = main_idx.shape[0]
    out_idx = np.full((n_users, k), -1, np.int32)
    out_score = np.full((n_users, k), np.nan, np.float32)
    out_source = np.full((n_users, k), FROM_FALLBACK, np.int8)
    exclude = sp.csr_matrix(exclude)
    exclude.sort_indices()
    n_categories = int(category.max()) + 1 if len(category) else 0
    _assemble(
        np.ascontiguousarray(main_idx, np.int32),
        np.ascontiguousarray(model.scores, np.float32),
        np.ascontiguousarray(explore_idx, np.int32),
        np.ascontiguousarray(exploration.scores, np.float32),
        np.asarray(fallback, np.int32),
        exclude.indptr.astype(np.int64),
        exclude.indices.astype(np.int32),
        np.asarray(category, np.int32),
        max(n_categories, 1),
        k,
        rules.category_cap,
        rules.exploration_slots(k) if explore_idx.shape[1] else 0,
        out_idx,
        out_score,
        out_source,
    )
    short = (out_idx < 0).any(axis=1)
    if short.any():
        raise ValueError(
            f"{int(short.sum())} lists could not reach k={k} distinct items under category_cap="
            f"{rules.category_cap}: raise the cap or lower k"
        )
    return AssembledLists(out_idx, out_score, out_source)


@nb.njit(cache=True)
def _take(item, score, source, row, filled, counts, category, cap, out_idx, out_score, out_source):
    """Append ``item`` to list ``row`` unless it is padding, a duplicate or over the cap."""
    if item < 0:
        return filled
    for t in range(filled):
        if out_idx[row, t] == item:
            return filled
    c = category[item]
    if c >= 0:
        if counts[c] >= cap:
            return filled
        counts[c] += 1
    out_idx[row, filled] = item
    out_score[row, filled] = score
    out_source[row, filled] = source
    return filled + 1


@nb.njit(cache=True)
def _assemble(
    main_idx,
    main_score,
    explore_idx,
    explore_score,
    fallback,
    excl_ptr,
    excl_idx,
    category,
    n_categories,
    k,
    cap,
    n_explore,
    out_idx,
    out_score,
    out_source,
):
    counts = np.zeros(n_categories, np.int32)
    for row in range(main_idx.shape[0]):
        filled = 0
        m = 0
        while filled < k - n_explore and m < main_idx.shape[1]:
            filled = _take(
                main_idx[row, m],
                main_score[row, m],
                0,
                row,
                filled,
                counts,
                category,
                cap,
                out_idx,
                out_score,
                out_source,
            )
            m += 1
        e = 0
        explored = 0
        while filled < k and explored < n_explore and e < explore_idx.shape[1]:
            before = filled
            filled = _take(
                explore_idx[row, e],
                explore_score[row, e],
                1,
                row,
                filled,
                counts,
                category,
                cap,
                out_idx,
                out_score,
                out_source,
            )
            explored += filled - before
            e += 1
        while filled < k and m < main_idx.shape[1]:
            filled = _take(
                main_idx[row, m],
                main_score[row, m],
                0,
                row,
                filled,
                counts,
                category,
                cap,
                out_idx,
                out_score,
                out_source,
            )
            m += 1
        excluded = excl_idx[excl_ptr[row] : excl_ptr[row + 1]]
        f = 0
        while filled < k and f < fallback.shape[0]:
            item = fallback[f]
            at = np.searchsorted(excluded, item)
            if not (at < excluded.shape[0] and excluded[at] == item):
                filled = _take(item, np.nan, 2, row, filled, counts, category, cap, out_idx, out_score, out_source)
            f += 1
        _order_by_score(out_idx[row], out_score[row], out_source[row], filled)
        for t in range(filled):
            c = category[out_idx[row, t]]
            if c >= 0:
                counts[c] = 0


@nb.njit(cache=True)
def _order_by_score(idx, score, source, filled):
    """Model and exploration items by descending score (stable), fallback items after them."""
    key = np.empty(filled, np.float64)
    for t in range(filled):
        key[t] = np.inf if source[t] == 2 else -score[t]
    order = np.argsort(key, kind="mergesort")
    idx[:filled] = idx[:filled][order]
    score[:filled] = score[:filled][order]
    source[:filled] = source[:filled][order]
