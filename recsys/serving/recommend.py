"""Recommendations for a send date: model scores, context factors, business rules, reasons.

:func:`recommend_for_users` is the one path from a model and standard frames to
recommendation rows; the nightly publish and the offline ``recsys recommend`` both call
it, so a list is the same wherever it is made.  It runs in two steps that Airflow can
split: :func:`plan_recommendations` computes everything shared by all customers (candidate
items, context factors, exclusions, popularity, each customer's recency-weighted items),
:func:`score_plan` scores one range of customers (``start``, ``stop``) with the blocked
top-k kernel, which adds the model's item-neighbour part over those items itself
(:class:`recsys.ranking.topk.HistoryBoost`).

Inputs (standard frames, as :mod:`recsys.training.dataset`):

``users``
    ``user_id`` and optionally ``country``, ``segment`` (or ``rfm_segment``): who to score.
``items``
    ``item_id`` and optionally ``title, category, in_stock, stock_level, is_active,
    is_product, created_at, days_of_cover`` (the catalogue; only its recommendable items are
    candidates; a low cover demotes, :mod:`recsys.serving.stock`).
``history``
    ``user_id, item_id, timestamp`` and optionally ``event_type`` (default ``purchase``):
    everything known before the send date (views and carts of every age: the model's item
    neighbours read the whole history, the recent factor its last ``recent_days``).

Output rows: ``user_id, rank, item_id, score, raw_score`` (the model's score: factors,
popularity prior and item neighbours), one column per factor (:data:`FACTOR_COLUMNS`, in
score units, so ``score = raw_score + sum(factors)`` up to float rounding),
``reason_code, reason_ref, source`` (model, exploration, fallback, cold_start).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from dataclasses import dataclass

import numba as nb
import numpy as np
import pandas as pd
import scipy.sparse as sp

from recsys.platform.settings import ContextConfig, StockConfig
from recsys.ranking import topk
from recsys.serving import coldstart, context, reasons, rules, stock
from recsys.training.blend import history_weights

log = logging.getLogger(__name__)

FACTORS = ("season", "event", "country", "recent", "promotion", "stock")
FACTOR_COLUMNS = tuple(f"{name}_factor" for name in FACTORS)
OUTPUT_COLUMNS = (
    "user_id",
    "rank",
    "item_id",
    "score",
    "raw_score",
    *FACTOR_COLUMNS,
    "reason_code",
    "reason_ref",
    "source",
)
#: Most recent distinct items per customer kept to explain the model's choices.
HISTORY_ITEMS = 20
#: Nearest neighbours kept per item (similar items, recent-activity boost).
NEIGHBOURS = 50
SOURCES = {rules.FROM_MODEL: "model", rules.FROM_EXPLORATION: "exploration", rules.FROM_FALLBACK: "fallback"}
COLD_START = "cold_start"


@dataclass(frozen=True)
class ScoringInputs:
    """The frames a scoring run reads (module docstring): who, what, and what happened before.

    ``demand`` (``product_id, week_start, n_purchases``) defaults to the weekly purchases of
    ``history``; without ``calendar`` there is no event factor.
    """

    users: pd.DataFrame
    items: pd.DataFrame | None
    history: pd.DataFrame
    demand: pd.DataFrame | None = None
    calendar: pd.DataFrame | None = None


@dataclass(frozen=True)
class Catalogue:
    """Items that can be scored (model items and new items scored from features) and
    which of them may be recommended."""

    item_ids: np.ndarray  # (n_all,) str
    vectors: np.ndarray  # (n_all, d + 2) factor vectors (topk.factor_vectors)
    unit: np.ndarray  # (n_all, d) normalised embeddings (similarity)
    candidates: np.ndarray  # (n_cand,) rows of recommendable items
    category: np.ndarray  # (n_cand,) category code, -1 for none
    new: np.ndarray  # (n_cand,) bool: a new product (exploration)
    attributes: pd.DataFrame  # catalogue attributes aligned with item_ids

    @property
    def candidate_ids(self) -> np.ndarray:
        return self.item_ids[self.candidates]


@dataclass(frozen=True)
class ScoringSetup:
    """What a scoring run is asked for: the send date, the list length, the context weights
    and the business rules."""

    as_of: dt.date
    k: int
    context: ContextConfig
    rules: rules.BusinessRules
    stock: StockConfig = StockConfig()

    def __post_init__(self) -> None:
        if self.k <= 0:
            raise ValueError(f"k must be positive, got {self.k}")

    @property
    def weights(self) -> dict[str, float]:
        c = self.context
        return {
            "season": c.season_weight,
            "event": c.event_weight,
            "country": c.country_weight,
            "recent": c.recent_weight,
            "promotion": 1.0,
            "stock": self.stock.demote_weight,
        }


@dataclass(frozen=True)
class Customers:
    """The customers of a run, in the order of the users frame."""

    user_ids: np.ndarray  # (n_users,) str
    model_rows: np.ndarray  # (n_users,) row in the model's user vectors, -1 for cold start
    groups: np.ndarray  # (n_users,) country group
    group_names: tuple[str, ...]
    history: np.ndarray  # (n_users, HISTORY_ITEMS) catalogue rows, -1 padding
    history_bought: np.ndarray  # (n_users, HISTORY_ITEMS) bool


@dataclass(frozen=True)
class Popularity:
    """Popularity per (segment, country) level, the cold-start and fallback ranking."""

    keys: pd.DataFrame  # segment, country of each level
    user_key: np.ndarray  # (n_users,) row of keys
    scores: np.ndarray  # (n_keys, n_cand) log popularity
    fallback: np.ndarray  # candidate columns by shop popularity
    scale: float  # spread of the popularity scores


@dataclass(frozen=True)
class Factors:
    """Context and promotion factors over the candidates (log scale, before weights)."""

    season: np.ndarray  # (n_cand,)
    events: context.EventFactors  # (n_groups, n_cand)
    country: np.ndarray  # (n_groups, n_cand)
    promotion: np.ndarray  # (n_cand,)
    recent: context.RecentBoost  # (n_users, n_cand)
    stock: np.ndarray  # (n_cand,)


@dataclass(frozen=True)
class Plan:
    """Everything one send date's scoring shares across customers."""

    setup: ScoringSetup
    catalogue: Catalogue
    customers: Customers
    user_vectors: np.ndarray  # the model's user factor vectors
    scale: float  # model score scale
    popularity: Popularity
    factors: Factors
    exclude: sp.csr_matrix  # (n_users, n_cand)
    neighbours: topk.TopK  # (n_all, NEIGHBOURS) candidate columns and cosine
    item_history: topk.HistoryBoost  # (n_users, n_model_items) recency x (n_model_items, n_cand) neighbours


def recommend_for_users(
    model,
    inputs: ScoringInputs,
    setup: ScoringSetup,
    *,
    feature_parameters: tuple[np.ndarray, np.ndarray] | None = None,
    start: int = 0,
    stop: int | None = None,
    block_size: int = 0,
    num_threads: int = 0,
) -> pd.DataFrame:
    """Top-``k`` lists of ``inputs.users[start:stop]`` for the send date ``setup.as_of``.

    Parameters
    ----------
    model : recsys.training.artifacts.LoadedModel
        Embeddings, biases, prior and id mappings of the champion.
    inputs : ScoringInputs
        Users, catalogue and history (module docstring); ``demand`` defaults to the weekly
        purchases of the history, no ``calendar`` means no event factor.
    setup : ScoringSetup
        Send date, list length, context weights and business rules.
    feature_parameters : (embeddings, biases), optional
        LightFM's per-feature item parameters, to score products newer than the model
        (:func:`recsys.serving.coldstart.lightfm_item_parameters`); without them such products
        are not candidates.
    """
    plan = plan_recommendations(model, inputs, setup, feature_parameters=feature_parameters, num_threads=num_threads)
    return score_plan(plan, start, stop, block_size=block_size, num_threads=num_threads)


def plan_recommendations(
    model,
    inputs: ScoringInputs,
    setup: ScoringSetup,
    *,
    feature_parameters: tuple[np.ndarray, np.ndarray] | None = None,
    num_threads: int = 0,
) -> Plan:
    """The shared part of a scoring run (see :func:`recommend_for_users` for parameters)."""
    as_of, config = setup.as_of, setup.context
    users, history = _standard_users(inputs.users), _standard_history(inputs.history, as_of)
    catalogue = build_catalogue(model, inputs.items, setup.rules, as_of, feature_parameters)
    user_ids = users["user_id"].to_numpy(dtype=str)
    purchases = history[history["event_type"] == "purchase"]
    group_names = (context.DEFAULT_COUNTRY, *sorted(set(users["country"].dropna().astype(str))))
    groups = pd.Index(group_names).get_indexer(
        users["country"].astype(object).where(users["country"].notna(), context.DEFAULT_COUNTRY)
    )
    cand_ids = catalogue.candidate_ids
    demand = context.weekly_demand(purchases) if inputs.demand is None else inputs.demand
    season_model = context.seasonality(demand, cand_ids, as_of, config, _launched(catalogue))
    popularity = _popularity(users, purchases, cand_ids, as_of)
    u_vectors = topk.user_factor_vectors(model.user_embeddings, model.user_biases)
    neighbours = _neighbours(catalogue, num_threads)
    user_items = _user_items(history, user_ids, catalogue.item_ids)
    history_rows, history_bought = _history_arrays(user_items, len(user_ids))
    plan = Plan(
        setup=setup,
        catalogue=catalogue,
        customers=Customers(
            user_ids=user_ids,
            model_rows=model.user_index(user_ids),
            groups=groups,
            group_names=group_names,
            history=history_rows,
            history_bought=history_bought,
        ),
        user_vectors=u_vectors,
        scale=context.score_scale(u_vectors, catalogue.vectors[catalogue.candidates]),
        popularity=popularity,
        factors=Factors(
            season=context.season_factor(season_model, as_of, config),
            events=_event_factors(inputs.calendar, catalogue, list(group_names), season_model, as_of, config),
            country=context.country_factor(
                purchases, users.set_index("user_id")["country"], cand_ids, list(group_names), config
            ),
            promotion=rules.promotion_boost(cand_ids, setup.rules, as_of),
            stock=_stock_factor(catalogue, setup.stock, config),
            recent=context.recent_boost(
                history,
                user_ids,
                catalogue.item_ids,
                neighbours.indices,
                neighbours.scores,
                _self_target(catalogue),
                len(cand_ids),
                as_of,
                config,
            ),
        ),
        exclude=rules.exclusions(
            user_items["u"].to_numpy(),
            _self_target(catalogue)[user_items["i"].to_numpy()],
            user_items["p"].to_numpy(bool),
            (len(user_ids), len(cand_ids)),
            _category_names(catalogue),
            setup.rules,
        ),
        neighbours=neighbours,
        item_history=_item_history(model, user_items, len(user_ids), catalogue, as_of),
    )
    log.info(
        "plan for %s: %d users (%d cold), %d candidate items (%d new), score scale %.3f",
        as_of,
        len(user_ids),
        int((plan.customers.model_rows < 0).sum()),
        len(cand_ids),
        int(catalogue.new.sum()),
        plan.scale,
    )
    return plan


def _popularity(users: pd.DataFrame, purchases: pd.DataFrame, cand_ids: np.ndarray, as_of: dt.date) -> Popularity:
    keys, user_key = _popularity_keys(users)
    scores = coldstart.segment_popularity(purchases, users, cand_ids, keys, as_of)
    return Popularity(
        keys=keys,
        user_key=user_key,
        scores=scores,
        fallback=np.argsort(-scores[_all_key(keys)], kind="stable"),
        scale=_spread(scores),
    )


def _standard_users(users: pd.DataFrame) -> pd.DataFrame:
    if "user_id" not in users:
        raise ValueError("the users frame needs a user_id column")
    out = users.rename(columns={"rfm_segment": "segment"}) if "segment" not in users else users
    out = out.assign(user_id=out["user_id"].astype(str))
    for column in ("country", "segment"):
        if column not in out:
            out[column] = None
    if out["user_id"].duplicated().any():
        raise ValueError("the users frame lists some user_id twice")
    return out.reset_index(drop=True)


def _standard_history(history: pd.DataFrame, as_of: dt.date) -> pd.DataFrame:
    missing = {"user_id", "item_id", "timestamp"} - set(history.columns)
    if missing:
        raise ValueError(f"the history frame needs user_id, item_id, timestamp; missing {sorted(missing)}")
    ts = pd.to_datetime(history["timestamp"], utc=True).dt.tz_localize(None)
    out = pd.DataFrame(
        {
            "user_id": history["user_id"].astype(str),
            "item_id": history["item_id"].astype(str),
            "timestamp": ts,
            "event_type": history["event_type"].astype(str) if "event_type" in history else "purchase",
        }
    )
    return out[(out["timestamp"] < pd.Timestamp(as_of)).to_numpy()].reset_index(drop=True)


def build_catalogue(
    model,
    items: pd.DataFrame | None,
    business_rules: rules.BusinessRules,
    as_of: dt.date,
    feature_parameters: tuple[np.ndarray, np.ndarray] | None = None,
) -> Catalogue:
    """Scoreable items and the recommendable ones among them.

    Model items absent from a given catalogue frame are no longer sold: not candidates.
    Catalogue items the model lacks are scored from their features when
    ``feature_parameters`` are given, else left out.
    """
    item_embeddings = np.asarray(model.item_embeddings, np.float32)
    biases = np.asarray(model.item_biases, np.float32) + np.asarray(model.item_prior, np.float32)
    ids = np.asarray(model.item_ids, dtype=str)
    attributes = pd.DataFrame({"item_id": ids}) if items is None else items.assign(item_id=items["item_id"].astype(str))
    attributes = attributes.drop_duplicates("item_id")
    unseen = attributes[~attributes["item_id"].isin(ids)]
    if len(unseen) and feature_parameters is not None:
        emb, bias, known = coldstart.item_vectors_from_features(
            unseen, tuple(model.item_feature_names), *feature_parameters
        )
        log.info(
            "%d new products scored from their features (%d with no known feature)", len(unseen), int((~known).sum())
        )
        ids, item_embeddings = np.concatenate([ids, unseen["item_id"].to_numpy(str)]), np.vstack([item_embeddings, emb])
        biases = np.concatenate([biases, bias])
    elif len(unseen):
        log.warning("%d catalogue items are unknown to the model and cannot be scored", len(unseen))
    attributes = attributes.set_index("item_id").reindex(ids).reset_index()
    present = np.ones(len(ids), bool) if items is None else pd.Index(ids).isin(items["item_id"].astype(str))
    eligible = present & rules.recommendable(attributes, business_rules)
    candidates = np.flatnonzero(eligible)
    codes = rules.category_codes(attributes["category"] if "category" in attributes else pd.Series([None] * len(ids)))
    vectors = topk.item_factor_vectors(item_embeddings, biases)
    norms = np.linalg.norm(item_embeddings, axis=1, keepdims=True)
    unit = np.divide(item_embeddings, norms, out=np.zeros_like(item_embeddings), where=norms > 0)
    return Catalogue(
        ids,
        vectors,
        unit,
        candidates,
        codes[candidates],
        rules.new_items(attributes, business_rules, as_of)[candidates],
        attributes,
    )


def _category_names(catalogue: Catalogue) -> np.ndarray:
    attrs = catalogue.attributes
    names = attrs["category"] if "category" in attrs else pd.Series([""] * len(attrs))
    return names.fillna("").astype(str).to_numpy()[catalogue.candidates]


def _stock_factor(catalogue: Catalogue, config: StockConfig, context_config: ContextConfig) -> np.ndarray:
    """The candidates' stock-cover factor; 0 for a catalogue without ``days_of_cover``."""
    if "days_of_cover" not in catalogue.attributes:
        return np.zeros(len(catalogue.candidates), np.float32)
    cover = catalogue.attributes["days_of_cover"].to_numpy()[catalogue.candidates]
    return stock.cover_factor(cover, config.demote_cover_days, context_config.max_log_factor)


def _launched(catalogue: Catalogue) -> pd.Series:
    return pd.Series(rules.launch_dates(catalogue.attributes).to_numpy(), index=catalogue.attributes["item_id"])


def _event_factors(calendar, catalogue: Catalogue, countries: list[str], season_model, as_of, config):
    cand_attrs = catalogue.attributes.iloc[catalogue.candidates].reset_index(drop=True)
    if calendar is None or len(calendar) == 0:
        return context.EventFactors(
            (), np.zeros((len(countries), 0), np.float32), np.zeros((len(cand_attrs), 0), np.float32)
        )
    return context.event_factors(
        context.normalise_calendar(calendar), cand_attrs, countries, season_model, as_of, config
    )


def _popularity_keys(users: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
    """Distinct (segment, country) of the users plus the shop-wide level, and each user's row."""
    member = coldstart.segment_keys(users)
    keys = pd.concat([pd.DataFrame({"segment": [coldstart.ALL], "country": [coldstart.ALL]}), member])
    keys = keys.drop_duplicates().sort_values(["segment", "country"]).reset_index(drop=True)
    position = pd.MultiIndex.from_frame(keys).get_indexer(pd.MultiIndex.from_frame(member))
    return keys, position


def _all_key(keys: pd.DataFrame) -> int:
    return int(np.flatnonzero((keys["segment"] == coldstart.ALL) & (keys["country"] == coldstart.ALL))[0])


def _spread(scores: np.ndarray) -> float:
    spread = float(scores.std(axis=1).mean()) if scores.size else 0.0
    return spread if spread > 0 else 1.0


def _neighbours(catalogue: Catalogue, num_threads: int) -> topk.TopK:
    """Nearest candidates of every scoreable item by cosine, never the item itself."""
    cand = catalogue.candidates
    self_pairs = sp.csr_matrix(
        (np.ones(len(cand), np.float32), (cand, np.arange(len(cand)))), shape=(len(catalogue.item_ids), len(cand))
    )
    return topk.top_k(catalogue.unit, catalogue.unit[cand], NEIGHBOURS, exclude=self_pairs, num_threads=num_threads)


def _self_target(catalogue: Catalogue) -> np.ndarray:
    target = np.full(len(catalogue.item_ids), -1, dtype=np.int64)
    target[catalogue.candidates] = np.arange(len(catalogue.candidates))
    return target


def _user_items(history: pd.DataFrame, user_ids: np.ndarray, item_ids: np.ndarray) -> pd.DataFrame:
    """``u, i, last, p``: each user's distinct catalogue items (sorted by user and item), when
    last seen, whether bought.  One sort of integer keys, no groupby."""
    u = pd.Index(user_ids).get_indexer(history["user_id"])
    i = pd.Index(item_ids).get_indexer(history["item_id"])
    keep = (u >= 0) & (i >= 0)
    key = u[keep].astype(np.int64) * len(item_ids) + i[keep]
    ts = history["timestamp"].to_numpy("datetime64[ns]")[keep].view(np.int64)
    bought = (history["event_type"] == "purchase").to_numpy(bool)[keep]
    order = np.argsort(key, kind="stable")
    key, ts, bought = key[order], ts[order], bought[order]
    starts = np.flatnonzero(np.r_[True, key[1:] != key[:-1]]) if len(key) else np.zeros(0, np.int64)
    return pd.DataFrame(
        {
            "u": key[starts] // max(len(item_ids), 1),
            "i": key[starts] % max(len(item_ids), 1),
            "last": (np.maximum.reduceat(ts, starts) if len(key) else ts).view("datetime64[ns]"),
            "p": np.logical_or.reduceat(bought, starts) if len(key) else bought,
        }
    )


def _history_arrays(user_items: pd.DataFrame, n_users: int):
    """Each user's most recent distinct items (catalogue rows) and whether they bought them."""
    rows = np.full((n_users, HISTORY_ITEMS), -1, dtype=np.int64)
    bought = np.zeros((n_users, HISTORY_ITEMS), dtype=bool)
    u, i = user_items["u"].to_numpy(), user_items["i"].to_numpy()
    last = user_items["last"].to_numpy("datetime64[ns]").view(np.int64)
    order = np.lexsort((i, -last, u))  # by user, most recent first, then item
    u, i, p = u[order], i[order], user_items["p"].to_numpy(bool)[order]
    first = np.flatnonzero(np.r_[True, u[1:] != u[:-1]]) if len(u) else np.zeros(0, np.int64)
    slot = np.arange(len(u)) - np.repeat(first, np.diff(np.r_[first, len(u)]))
    keep = slot < HISTORY_ITEMS
    rows[u[keep], slot[keep]] = i[keep]
    bought[u[keep], slot[keep]] = p[keep]
    return rows, bought


def _item_history(model, user_items: pd.DataFrame, n_users: int, catalogue: Catalogue, as_of: dt.date):
    """The model's item-neighbour part as the kernel reads it: each user's model items weighted
    by recency at the send date (``recsys.training.blend.history_weights``), and the
    neighbours of each model item among the candidates, the blend's coefficient folded in."""
    n_model = len(model.item_ids)  # the catalogue's first rows are the model's items, in order
    known = user_items[user_items["i"] < n_model]
    weights = history_weights(known["last"], pd.Timestamp(as_of), model.half_life_days)
    history = sp.csr_matrix((weights, (known["u"], known["i"])), shape=(n_users, n_model), dtype=np.float32)
    column = np.full(len(catalogue.item_ids), -1, dtype=np.int64)
    column[catalogue.candidates] = np.arange(len(catalogue.candidates))
    pairs = (model.neighbours if model.neighbours is not None else sp.csr_matrix((n_model, n_model))).tocoo()
    keep = column[pairs.col] >= 0
    neighbours = sp.csr_matrix(
        (pairs.data[keep] * np.float32(model.knn_coefficient), (pairs.row[keep], column[pairs.col[keep]])),
        shape=(n_model, len(catalogue.candidates)),
        dtype=np.float32,
    )
    return topk.HistoryBoost(history, neighbours)


@dataclass(frozen=True)
class _Scorer:
    """User vectors, item vectors and offsets of one kind of customer (model or cold start)."""

    users: np.ndarray  # plan user positions
    user_vectors: np.ndarray  # (len(users), d')
    item_vectors: np.ndarray  # (n_cand, d')
    offsets: np.ndarray | None  # (n_groups, n_cand) in score units
    scale: float
    weights: dict[str, float]
    history: topk.HistoryBoost | None  # the model's item-neighbour part of these users


def _offsets(plan: Plan, scale: float, weights: dict[str, float]) -> np.ndarray | None:
    """Context and promotion offsets per country group, or None when all are zero (raw order)."""
    if not any(weights[f] for f in ("season", "event", "country", "stock")) and not plan.factors.promotion.any():
        return None
    item_level = (
        weights["season"] * plan.factors.season + plan.factors.promotion + weights["stock"] * plan.factors.stock
    )
    return (
        scale
        * (
            item_level[None, :]
            + weights["event"] * plan.factors.events.values
            + weights["country"] * plan.factors.country
        )
    ).astype(np.float32)


def _scorers(plan: Plan, positions: np.ndarray) -> list[_Scorer]:
    model_rows = plan.customers.model_rows[positions]
    known, cold = positions[model_rows >= 0], positions[model_rows < 0]
    cand_vectors = plan.catalogue.vectors[plan.catalogue.candidates]
    scorers = [
        _Scorer(
            known,
            plan.user_vectors[plan.customers.model_rows[known]],
            cand_vectors,
            _offsets(plan, plan.scale, plan.setup.weights),
            plan.scale,
            plan.setup.weights,
            topk.HistoryBoost(plan.item_history.history[known], plan.item_history.neighbours),
        )
    ]
    if len(cold):
        # a cold customer's "vector" picks the popularity row of their segment and country
        one_hot = np.zeros((len(cold), len(plan.popularity.keys)), np.float32)
        one_hot[np.arange(len(cold)), plan.popularity.user_key[cold]] = 1
        weights = plan.setup.weights | {"country": 0.0}  # country is already in the popularity
        scorers.append(
            _Scorer(
                cold,
                one_hot,
                np.ascontiguousarray(plan.popularity.scores.T),
                _offsets(plan, plan.popularity.scale, weights),
                plan.popularity.scale,
                weights,
                None,
            )
        )
    return scorers


def score_plan(
    plan: Plan, start: int = 0, stop: int | None = None, *, block_size: int = 0, num_threads: int = 0
) -> pd.DataFrame:
    """Recommendation rows of plan users ``start:stop`` (see module docstring for columns)."""
    stop = len(plan.customers.user_ids) if stop is None else stop
    if not 0 <= start <= stop <= len(plan.customers.user_ids):
        raise ValueError(f"user range {start}:{stop} is outside 0:{len(plan.customers.user_ids)}")
    frames = [
        _score_kind(plan, s, block_size, num_threads) for s in _scorers(plan, np.arange(start, stop)) if len(s.users)
    ]
    if not frames:
        return pd.DataFrame({c: [] for c in OUTPUT_COLUMNS})
    if len(frames) == 1:  # one kind of customer: its rows are already in plan order
        return frames[0][0][list(OUTPUT_COLUMNS)]
    rows = pd.concat([f for f, _ in frames], ignore_index=True)
    order = np.lexsort((rows["rank"].to_numpy(), np.concatenate([p for _, p in frames])))
    return rows.take(order).reset_index(drop=True)[list(OUTPUT_COLUMNS)]


def _score_kind(plan: Plan, scorer: _Scorer, block_size: int, num_threads: int) -> tuple[pd.DataFrame, np.ndarray]:
    """Kernel candidates, exploration, assembly under the rules, then factors and reasons;
    the rows and each row's plan position (``scorer.users`` ascending, ``k`` rows each)."""
    users, k, cat = scorer.users, plan.setup.k, plan.catalogue
    exclude = plan.exclude[users]
    boost = (
        plan.factors.recent.values[users] * np.float32(scorer.weights["recent"] * scorer.scale)
        if scorer.weights["recent"]
        else None
    )
    offsets = None if scorer.offsets is None else topk.GroupOffsets(plan.customers.groups[users], scorer.offsets)
    main = topk.top_k(
        scorer.user_vectors,
        scorer.item_vectors,
        plan.setup.rules.candidates(k),
        exclude=exclude,
        boost=boost,
        group_offsets=offsets,
        history=scorer.history,
        block_size=block_size,
        num_threads=num_threads,
    )
    exploration = _explore(plan, scorer, exclude, boost, offsets, block_size, num_threads)
    lists = rules.assemble(
        main,
        exploration,
        fallback=plan.popularity.fallback,
        exclude=exclude,
        category=cat.category,
        k=k,
        rules=plan.setup.rules,
    )
    return _rows(plan, scorer, lists), np.repeat(scorer.users, lists.indices.shape[1])


def _explore(plan, scorer, exclude, boost, offsets, block_size, num_threads):
    """Best new products of each user (columns of the candidate list), for exploration slots."""
    slots = plan.setup.rules.exploration_slots(plan.setup.k)
    new = np.flatnonzero(plan.catalogue.new)
    n = len(scorer.users)
    if slots == 0 or len(new) == 0:
        return topk.TopK(np.zeros((n, 0), np.int32), np.zeros((n, 0), np.float32))
    sub_offsets = None if offsets is None else topk.GroupOffsets(offsets.groups, offsets.offsets[:, new])
    found = topk.top_k(
        scorer.user_vectors,
        scorer.item_vectors[new],
        2 * slots,
        exclude=exclude[:, new],
        boost=None if boost is None else boost[:, new],
        group_offsets=sub_offsets,
        history=None
        if scorer.history is None
        else topk.HistoryBoost(scorer.history.history, scorer.history.neighbours[:, new]),
        block_size=block_size,
        num_threads=num_threads,
    )
    return topk.TopK(np.where(found.indices >= 0, new[np.maximum(found.indices, 0)], -1).astype(np.int32), found.scores)


def _rows(plan: Plan, scorer: _Scorer, lists: rules.AssembledLists) -> pd.DataFrame:
    """One row per list entry with its factors (score units) and reason."""
    n, k = lists.indices.shape
    local = np.repeat(np.arange(n), k)
    user = scorer.users[local]
    col = lists.indices.ravel().astype(np.int64)
    group = plan.customers.groups[user]
    raw = _pair_dots(scorer.user_vectors, scorer.item_vectors, local, col)
    w, s = scorer.weights, scorer.scale
    factors = {
        "season": w["season"] * s * plan.factors.season[col],
        "event": w["event"]
        * s
        * (plan.factors.events.values[group, col] if plan.factors.events.names else np.zeros(len(col))),
        "country": w["country"] * s * plan.factors.country[group, col],
        "recent": w["recent"] * s * _pairs(plan.factors.recent.values, user, col),
        "promotion": s * plan.factors.promotion[col],
        "stock": w["stock"] * s * plan.factors.stock[col],
    }
    if scorer.history is not None:
        raw = raw + _history_pairs(scorer.history, local, col)
    kernel_score = lists.scores.ravel()
    score = np.where(np.isnan(kernel_score), raw + sum(factors.values()), kernel_score)
    cold = plan.customers.model_rows[user] < 0
    source = np.where(cold, COLD_START, pd.Series(lists.source.ravel()).map(SOURCES).to_numpy())
    codes, refs = _reasons(plan, user, col, group, factors, lists.source.ravel(), cold, s)
    frame = pd.DataFrame(
        {
            "user_id": plan.customers.user_ids[user],
            "rank": np.tile(np.arange(1, k + 1), n),
            "item_id": plan.catalogue.candidate_ids[col],
            "score": score,
            "raw_score": raw,
            **{f"{name}_factor": values for name, values in factors.items()},
            "reason_code": codes,
            "reason_ref": refs,
            "source": source,
        }
    )
    return frame.astype(dict.fromkeys(("score", "raw_score", *FACTOR_COLUMNS), np.float64))


def _history_pairs(history: topk.HistoryBoost, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """``(history.history @ history.neighbours)[rows, cols]`` without the product: for each
    pair, the user's items' weights times the pair's item in their (sorted) neighbour rows."""
    if history.neighbours.nnz == 0 or len(rows) == 0:
        return np.zeros(len(rows))
    return _neighbour_pairs(
        *_csr_arrays(history.history),
        *_csr_arrays(history.neighbours),
        np.asarray(rows, np.int64),
        np.asarray(cols, np.int64),
    )


def _csr_arrays(matrix: sp.spmatrix) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``indptr, indices, data`` of ``matrix`` as CSR with sorted indices, in the compiled lookups' types."""
    csr = sp.csr_matrix(matrix)
    csr.sort_indices()
    return csr.indptr.astype(np.int64), csr.indices.astype(np.int64), csr.data.astype(np.float64)


@nb.njit(nogil=True, cache=True)
def _neighbour_pairs(user_ptr, user_idx, user_val, nbr_ptr, nbr_idx, nbr_val, rows, cols):
    out = np.zeros(len(rows))
    for p in range(len(rows)):
        total = 0.0
        for q in range(user_ptr[rows[p]], user_ptr[rows[p] + 1]):
            total += user_val[q] * _lookup(nbr_ptr, nbr_idx, nbr_val, user_idx[q], cols[p])
        out[p] = total
    return out


@nb.njit(nogil=True, cache=True)
def _lookup(ptr, idx, val, row, col):
    """``matrix[row, col]`` of a CSR matrix with sorted indices (0 when not stored)."""
    lo, hi = ptr[row], ptr[row + 1]
    at = lo + np.searchsorted(idx[lo:hi], col)
    return val[at] if at < hi and idx[at] == col else 0.0


def _pairs(matrix: sp.csr_matrix, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """``matrix[rows, cols]`` pair by pair: a binary search in each (sorted) row."""
    if matrix.nnz == 0 or len(rows) == 0:
        return np.zeros(len(rows))
    return _csr_pairs(*_csr_arrays(matrix), np.asarray(rows, np.int64), np.asarray(cols, np.int64))


@nb.njit(nogil=True, cache=True)
def _csr_pairs(ptr, idx, val, rows, cols):
    out = np.zeros(len(rows))
    for p in range(len(rows)):
        out[p] = _lookup(ptr, idx, val, rows[p], cols[p])
    return out


@nb.njit(nogil=True, cache=True)
def _pair_dots(user_vectors, item_vectors, rows, cols):
    """``user_vectors[rows[p]] @ item_vectors[cols[p]]`` for every pair, without gathering rows."""
    out = np.empty(len(rows))
    for p in range(len(rows)):
        total = 0.0
        u, v = user_vectors[rows[p]], item_vectors[cols[p]]
        for d in range(u.shape[0]):
            total += u[d] * v[d]
        out[p] = total
    return out


def _ids_or_none(item_ids: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """The id of each catalogue row, None where the row is negative (no such item)."""
    out = np.full(len(rows), None, dtype=object)
    out[rows >= 0] = item_ids[rows[rows >= 0]]
    return out


def _reasons(plan: Plan, user, col, group, factors, source, cold, scale):
    cat = plan.catalogue
    cand_rows = cat.candidates[col]
    nearest = reasons.nearest_history(cat.unit, cand_rows, plan.customers.history[user])
    found = nearest >= 0
    take = np.maximum(nearest, 0)
    nearest_row = plan.customers.history[user, take]
    nearest_item = _ids_or_none(cat.item_ids, np.where(found, nearest_row, -1))
    recent_item = _ids_or_none(cat.item_ids, _pairs(plan.factors.recent.source, user, col).astype(np.int64) - 1)
    keys = plan.popularity.keys.iloc[plan.popularity.user_key[user]]
    segment = np.where(
        keys["segment"] != coldstart.ALL,
        keys["segment"],
        np.where(keys["country"] != coldstart.ALL, keys["country"], coldstart.ALL),
    )
    return reasons.reasons(
        season=factors["season"],
        event=factors["event"],
        promotion=factors["promotion"],
        recent=factors["recent"],
        scale=scale,
        exploration=source == rules.FROM_EXPLORATION,
        popular=cold | (source == rules.FROM_FALLBACK),
        event_name=plan.factors.events.strongest(group, col),
        recent_item=recent_item,
        nearest_item=nearest_item,
        nearest_bought=plan.customers.history_bought[user, take] & found,
        segment=segment.astype(object),
    )


def similar_items_frame(plan: Plan, k: int) -> pd.DataFrame:
    """``product_id, rank, similar_product_id, score``: the ``k`` nearest recommendable items
    (cosine of the model's item embeddings) of every recommendable item."""
    cat = plan.catalogue
    indices = plan.neighbours.indices[cat.candidates, :k]
    scores = plan.neighbours.scores[cat.candidates, :k]
    row, rank = np.nonzero(indices >= 0)
    return pd.DataFrame(
        {
            "product_id": cat.candidate_ids[row],
            "rank": rank + 1,
            "similar_product_id": cat.candidate_ids[indices[row, rank]],
            "score": scores[row, rank].astype(np.float64),
        }
    )


def popular_items_frame(plan: Plan, k: int) -> pd.DataFrame:
    """``segment, country, rank, product_id, score``: the ``k`` most popular recommendable
    items of every segment and country of the plan (``all`` levels included), season and
    calendar applied; a ranking for analysts, so no category cap."""
    keys = plan.popularity.keys
    groups = pd.Index(plan.customers.group_names).get_indexer(
        keys["country"].replace(coldstart.ALL, context.DEFAULT_COUNTRY)
    )
    weights = plan.setup.weights | {"country": 0.0}
    offsets = _offsets(plan, plan.popularity.scale, weights)
    top = topk.top_k(
        np.eye(len(keys), dtype=np.float32),
        np.ascontiguousarray(plan.popularity.scores.T),
        plan.setup.rules.candidates(k),
        group_offsets=None if offsets is None else topk.GroupOffsets(np.maximum(groups, 0), offsets),
    )
    empty = np.zeros((len(keys), 0), np.int32)
    ranking = dataclasses.replace(plan.setup.rules, exploration_share=0.0, category_cap=k)  # a ranking, not a send list
    lists = rules.assemble(
        top,
        topk.TopK(empty, empty.astype(np.float32)),
        fallback=plan.popularity.fallback,
        exclude=sp.csr_matrix((len(keys), len(plan.catalogue.candidates))),
        category=plan.catalogue.category,
        k=k,
        rules=ranking,
    )
    row = np.repeat(np.arange(len(keys)), k)
    col = lists.indices.ravel()
    fallback_score = plan.popularity.scores[row, col]
    return pd.DataFrame(
        {
            "segment": keys["segment"].to_numpy()[row],
            "country": keys["country"].to_numpy()[row],
            "rank": np.tile(np.arange(1, k + 1), len(keys)),
            "product_id": plan.catalogue.candidate_ids[col],
            "score": np.where(np.isnan(lists.scores.ravel()), fallback_score, lists.scores.ravel()).astype(np.float64),
        }
    )
