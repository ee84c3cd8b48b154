"""One evaluation code for every model: blocked scoring, seen-item masking, metrics, slices.

For each evaluated user the candidates are all catalogue items the user did not have in
training; the truth is the user's held-out items that are in the catalogue.  Metrics at
every k: precision, recall, NDCG, MAP, hit rate, plus AUC, catalogue coverage, Gini of
recommended items, intra-list diversity (by ``category``) and novelty.  Slices: all users,
cold users (at most ``cold_user_max_interactions`` training rows), warm users, each of the
largest segments, and ``new_items`` (truth restricted to items with no training
interaction, users with such an item in their truth).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import scipy.sparse as sp

from recsys.platform.settings import EvaluationConfig
from recsys.ranking.topk import select_top_k
from recsys.training import metrics
from recsys.training.frames import ITEM, RATING, USER
from recsys.training.matrix import TrainingData
from recsys.training.models import Recommender, user_counts, user_segments
from recsys.training.split import Split

log = logging.getLogger(__name__)

#: Cells scored per block: bounds memory whatever the catalogue size.
#: The metrics tables and reports show first (at k = 10).
HEADLINE_METRICS = (
    "ndcg@10",
    "recall@10",
    "precision@10",
    "map@10",
    "hit_rate@10",
    "auc",
    "coverage@10",
    "gini@10",
    "diversity@10",
    "novelty@10",
)
BLOCK_CELLS = 20_000_000

ALL, NEW_ITEMS = "all", "new_items"


@dataclass(frozen=True)
class EvalContext:
    """The users to evaluate, their truth, and what slices and metrics need to know."""

    data: TrainingData
    user_rows: np.ndarray
    truth: sp.csr_matrix
    slices: dict[str, np.ndarray]
    ks: tuple[int, ...]
    popularity: np.ndarray
    category: np.ndarray

    @property
    def new_item_truth(self) -> sp.csr_matrix:
        """Truth restricted to items nobody had in training."""
        return (self.truth @ sp.diags((self.popularity == 0).astype(np.float32))).tocsr()


@dataclass
class ModelEvaluation:
    """Metrics of one model: overall, per slice, and how it spreads over the catalogue."""

    name: str
    overall: dict[str, float]
    slices: dict[str, dict[str, float]]
    recommendation_counts: np.ndarray = field(repr=False)
    seconds: float = 0.0

    def to_json(self) -> dict:
        return {"overall": self.overall, "slices": self.slices, "seconds": round(self.seconds, 3)}


def build_context(split: Split, data: TrainingData, config: EvaluationConfig) -> EvalContext:
    """Map the split's test rows onto ``data``'s index space and define the slices.

    Raises
    ------
    ValueError
        When no test user is known to the training data: there is nothing to measure.
    """
    users, items = data.user_index(split.test[USER]), data.item_index(split.test[ITEM])
    known = (users >= 0) & (items >= 0)
    if not known.any():
        raise ValueError(f"no test interaction of a known user and catalogue item in {split.describe()}")
    user_rows = sample_users(np.unique(users[known]), config.max_users)
    evaluated = np.isin(users, user_rows) & known
    position = np.searchsorted(user_rows, users[evaluated])
    truth = sp.csr_matrix(
        (np.ones(evaluated.sum(), dtype=np.float32), (position, items[evaluated])),
        shape=(len(user_rows), data.shape[1]),
    )
    truth.sum_duplicates()
    truth.data[:] = 1.0  # an item bought twice in the test window is one relevant item
    category = (
        data.item_attributes["category"] if "category" in data.item_attributes else pd.Series([None] * data.shape[1])
    )
    return EvalContext(
        data=data,
        user_rows=user_rows,
        truth=truth,
        slices=_slices(data, user_rows, config),
        ks=tuple(config.ks),
        popularity=user_counts(data.interactions),
        category=pd.factorize(category.to_numpy(dtype=object))[0],
    )


def sample_users(user_rows: np.ndarray, max_users: int, seed: int = 0) -> np.ndarray:
    """At most ``max_users`` of the sorted ``user_rows``, drawn with a fixed seed (0: all)."""
    if not max_users or len(user_rows) <= max_users:
        return user_rows
    return np.sort(np.random.default_rng(seed).choice(user_rows, size=max_users, replace=False))


def _slices(data: TrainingData, user_rows: np.ndarray, config: EvaluationConfig) -> dict[str, np.ndarray]:
    """Boolean masks over the evaluated users, by history length and segment."""
    rows_per_user = np.bincount(data.pairs["user_idx"], weights=data.pairs["n_rows"], minlength=data.shape[0])
    cold = rows_per_user[user_rows] <= config.cold_user_max_interactions
    slices = {ALL: np.ones(len(user_rows), dtype=bool), "cold_users": cold, "warm_users": ~cold}
    column, labels = user_segments(data)
    if column is not None:
        evaluated = pd.Series(labels[user_rows])
        for label in evaluated.value_counts().index[: config.max_segments]:
            slices[f"{column}={label}"] = (evaluated == label).to_numpy()
    return slices


def top_k_blocks(model: Recommender, data: TrainingData, user_rows: np.ndarray, k: int):
    """Yield ``(positions, top, scores)`` blocks: best ``k`` unseen items per user.

    ``scores`` has seen items at ``-inf``; ``top`` is ``(block, k)`` item columns, best first
    (ties: lower column first), ``-1`` where a user has fewer than ``k`` candidates.  The
    selection is :func:`recsys.ranking.topk.select_top_k`, the nightly scorer's kernel.
    """
    seen = data.interactions.tocsr()
    block = max(1, BLOCK_CELLS // max(data.shape[1], 1))
    k = min(k, data.shape[1])
    for start in range(0, len(user_rows), block):
        rows = user_rows[start : start + block]
        scores = model.score(rows).astype(np.float32, copy=True)
        mask = seen[rows]
        scores[np.repeat(np.arange(len(rows)), np.diff(mask.indptr)), mask.indices] = -np.inf
        yield np.arange(start, start + len(rows)), select_top_k(scores, k).indices.astype(np.int64), scores


def evaluate(model: Recommender, context: EvalContext) -> ModelEvaluation:
    """Every metric of ``model`` on ``context``, overall and per slice."""
    started = time.perf_counter()
    k_max = max(context.ks)
    tops, aucs = [], []
    for positions, top, scores in top_k_blocks(model, context.data, context.user_rows, k_max):
        tops.append(top)
        aucs.append(metrics.auc(scores, context.truth[positions]))
    top = np.vstack(tops)
    per_user = _per_user_metrics(top, context.truth, context)
    per_user["auc"] = np.concatenate(aucs)
    slices = {name: _summarise(per_user, top, mask, context) for name, mask in context.slices.items()}
    new_truth = context.new_item_truth
    with_new = metrics.n_relevant(new_truth) > 0
    if with_new.any():
        new_per_user = _per_user_metrics(top[with_new], new_truth[with_new], context)
        slices[NEW_ITEMS] = _summarise(new_per_user, top[with_new], np.ones(with_new.sum(), dtype=bool), context)
    counts = metrics.recommendation_counts(top[:, : 10 if 10 in context.ks else k_max], context.data.shape[1])
    seconds = time.perf_counter() - started
    log.info(
        "evaluated %s on %d users in %.1fs: ndcg@10=%.4f",
        model.name,
        len(top),
        seconds,
        slices[ALL].get("ndcg@10", float("nan")),
    )
    return ModelEvaluation(model.name, slices.pop(ALL), slices, counts, seconds)


def _per_user_metrics(top: np.ndarray, truth: sp.csr_matrix, context: EvalContext) -> dict[str, np.ndarray]:
    hit = metrics.hits(top, truth)
    relevant = metrics.n_relevant(truth)
    n_users = context.data.shape[0]
    out = {}
    for k in context.ks:
        out[f"precision@{k}"] = metrics.precision_at_k(hit, k)
        out[f"recall@{k}"] = metrics.recall_at_k(hit, relevant, k)
        out[f"ndcg@{k}"] = metrics.ndcg_at_k(hit, relevant, k)
        out[f"map@{k}"] = metrics.average_precision_at_k(hit, relevant, k)
        out[f"hit_rate@{k}"] = metrics.hit_rate_at_k(hit, k)
        out[f"diversity@{k}"] = metrics.intra_list_diversity(top[:, :k], context.category)
        out[f"novelty@{k}"] = metrics.novelty(top[:, :k], context.popularity, n_users)
    return out


def _summarise(per_user: dict[str, np.ndarray], top: np.ndarray, mask: np.ndarray, context: EvalContext) -> dict:
    """Means of per-user metrics over ``mask`` plus the list-level catalogue metrics."""
    summary: dict[str, float] = {"users": int(mask.sum())}
    if not mask.any():
        return summary
    for name, values in per_user.items():
        chosen = values[mask]
        summary[name] = float(np.nanmean(chosen)) if np.isfinite(chosen).any() else float("nan")
    n_items = context.data.shape[1]
    for k in context.ks:
        summary[f"coverage@{k}"] = metrics.catalogue_coverage(top[mask, :k], n_items)
        summary[f"gini@{k}"] = metrics.gini(metrics.recommendation_counts(top[mask, :k], n_items))
    return summary


def evaluate_models(models: list[Recommender], context: EvalContext) -> list[ModelEvaluation]:
    """Evaluations of every model on the same users, candidates and truth, in the order given."""
    return [evaluate(model, context) for model in models]


def metrics_table(evaluations: list[ModelEvaluation], columns: tuple[str, ...] | None = None) -> pd.DataFrame:
    """One row per model, one column per overall metric (the CLI's table)."""
    table = pd.DataFrame({e.name: e.overall for e in evaluations}).T
    return table[list(columns)] if columns else table


def rating_metrics(split: Split, seed: int) -> dict | None:
    """RMSE and MAE of scikit-surprise SVD on the held-out star ratings, if there are any.

    The global-mean predictor's errors are reported beside it: an RMSE means little
    without the number a constant achieves.
    """
    if RATING not in split.train or RATING not in split.test:
        return None
    train = split.train.dropna(subset=[RATING])
    test = split.test.dropna(subset=[RATING])
    if len(train) < 10 or test.empty:
        return None
    from surprise import SVD, Dataset, Reader, accuracy

    reader = Reader(rating_scale=(float(train[RATING].min()), float(train[RATING].max())))
    trainset = Dataset.load_from_df(train[[USER, ITEM, RATING]], reader).build_full_trainset()
    svd = SVD(random_state=seed).fit(trainset)
    predictions = svd.test(list(test[[USER, ITEM, RATING]].itertuples(index=False, name=None)))
    errors = test[RATING].to_numpy() - train[RATING].mean()
    return {
        "svd_rmse": float(accuracy.rmse(predictions, verbose=False)),
        "svd_mae": float(accuracy.mae(predictions, verbose=False)),
        "global_mean_rmse": float(np.sqrt(np.mean(errors**2))),
        "global_mean_mae": float(np.mean(np.abs(errors))),
        "train_ratings": int(len(train)),
        "test_ratings": int(len(test)),
    }
