"""Training and the honest comparison of the hybrid with every baseline.

For one split (temporal or leave-last-out) :func:`train_and_evaluate`:

1. carves a validation split out of the training part with the same protocol;
2. fits LightFM on the validation split's training rows epoch by epoch, checking NDCG@10
   on the validation window every ``eval_every`` epochs and stopping after ``patience``
   checks without a gain;
3. for the hybrid, chooses the weight of the recent-popularity prior on that same window;
4. refits with the chosen epochs on the whole training part;
5. fits every baseline on the same training data and evaluates all models, the champion
   in production included, with the same code on the same users.

The test window is read in step 5 only: nothing is tuned on it.  :func:`run_training` is
the nightly entry point (warehouse in, artifact + ``ml.model_runs`` row out, champion gate).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from recsys.platform.settings import EvaluationConfig, TrainingConfig
from recsys.platform.sqlfiles import SqlFiles
from recsys.training import artifacts, registry, report
from recsys.training.evaluate import (
    EvalContext,
    ModelEvaluation,
    build_context,
    evaluate,
    evaluate_models,
    rating_metrics,
)
from recsys.training.frames import Frames
from recsys.training.marts import read_warehouse
from recsys.training.matrix import TrainingData, build_training_data
from recsys.training.models import (
    ALS,
    Fixed,
    ItemCooccurrence,
    LightFMRecommender,
    Popularity,
    Recommender,
    SegmentPopularity,
    Trending,
    recent_popularity,
)
from recsys.training.split import (
    Split,
    full_history,
    temporal_split,
    validation_split,
    windows,
)
from recsys.training.weighting import Weighting, load_weighting

log = logging.getLogger(__name__)
_sql = SqlFiles(__name__)

VALIDATION_METRIC = "ndcg@10"
HYBRID, COLLABORATIVE, CHAMPION, POPULARITY = "lightfm_hybrid", "lightfm_cf", "champion", "popularity"


@dataclass
class LightFMFit:
    """A LightFM model refitted on the training part with settings chosen on validation."""

    model: LightFMRecommender
    history: list[dict]
    epochs: int
    blend_weight: float
    prior_scale: float
    blend_scores: dict[float, float]
    seconds: float


def popularity_prior(data: TrainingData, trending_days: int) -> np.ndarray:
    """Standardised ``log1p`` of each item's recent popularity (zero mean, unit spread)."""
    recent = np.log1p(recent_popularity(data, trending_days))
    spread = recent.std()
    return ((recent - recent.mean()) / spread if spread > 0 else np.zeros_like(recent)).astype(np.float32)


def validation_context(
    split: Split, frames: Frames, evaluation: EvaluationConfig, weighting: Weighting
) -> tuple[TrainingData, EvalContext]:
    """Training data and evaluation context of the validation split carved from ``split``."""
    validation = validation_split(split, evaluation.validation_days)
    data = build_training_data(dataclasses.replace(frames, interactions=validation.train), validation.cutoff, weighting)
    return data, build_context(validation, data, evaluation.model_copy(update={"ks": (10,)}))


def _early_stopping(
    model: LightFMRecommender, data: TrainingData, context: EvalContext, config: TrainingConfig
) -> tuple[LightFMRecommender, list[dict]]:
    """The model at its best validation NDCG@10, and the curve that chose it."""
    best, best_score, stale, history = model, -np.inf, 0, []
    while model.epochs_trained < config.epochs and stale < config.patience:
        model.fit_epochs(data, min(config.eval_every, config.epochs - model.epochs_trained))
        score = evaluate(model, context).overall[VALIDATION_METRIC]
        history.append({"epoch": model.epochs_trained, f"validation_{VALIDATION_METRIC}": score})
        log.info(
            "%s epoch %d/%d: validation %s %.4f",
            model.name,
            model.epochs_trained,
            config.epochs,
            VALIDATION_METRIC,
            score,
        )
        if score > best_score:
            best, best_score, stale = model.snapshot(), score, 0
        else:
            stale += 1
    return best, history


def prior_scale(model: LightFMRecommender, user_rows: np.ndarray) -> float:
    """Typical spread of one user's scores over the items (median over up to 1000 users).

    Not the spread over all users, which user biases inflate without changing any ranking;
    measured on the model that will carry the prior, so a blend weight means the same
    thing whatever the magnitude of its embeddings.
    """
    return float(np.median(model.score(user_rows[:1000]).std(axis=1)))


def _choose_blend(
    model: LightFMRecommender, data: TrainingData, context: EvalContext, config: TrainingConfig, trending_days: int
) -> tuple[float, dict[float, float]]:
    """Weight of the popularity prior with the best validation NDCG@10 (ties: the smaller)."""
    prior = prior_scale(model, context.user_rows) * popularity_prior(data, trending_days)
    scores = {
        weight: evaluate(model.with_prior(weight * prior), context).overall[VALIDATION_METRIC]
        for weight in sorted(config.popularity_blend)
    }
    best = max(scores, key=lambda weight: (scores[weight], -weight))
    log.info("popularity blend on validation %s: chose %.2f", scores, best)
    return best, scores


def fit_lightfm(
    split: Split,
    frames: Frames,
    config: TrainingConfig,
    evaluation: EvaluationConfig,
    weighting: Weighting,
    *,
    use_features: bool,
    blend: bool,
    data: TrainingData | None = None,
    validation: tuple[TrainingData, EvalContext] | None = None,
) -> LightFMFit:
    """LightFM with epochs (and, if ``blend``, the popularity prior) chosen on validation.

    With a single early-stopping check (``epochs <= eval_every``) and no blend to choose,
    there is no choice to make and no validation fit.

    ``data`` (the training part) and ``validation`` (:func:`validation_context`) may be
    passed in when the caller has built them already.
    """
    started = time.perf_counter()
    blend = blend and bool(config.popularity_blend)
    epochs, weight = config.epochs, 0.0
    history: list[dict] = []
    blend_scores: dict[float, float] = {}
    if blend or config.epochs > config.eval_every:  # else validation has nothing to choose
        validation_data, context = validation or validation_context(split, frames, evaluation, weighting)
        best, history = _early_stopping(
            LightFMRecommender(config, use_features=use_features), validation_data, context, config
        )
        epochs = best.epochs_trained
        if blend:
            weight, blend_scores = _choose_blend(best, validation_data, context, config, evaluation.trending_days)
    if data is None:
        data = build_training_data(dataclasses.replace(frames, interactions=split.train), split.cutoff, weighting)
    model = _refit(config, use_features, data, epochs)
    scale = prior_scale(model, np.arange(data.shape[0])) if weight else 0.0
    if weight:
        model = model.with_prior(weight * scale * popularity_prior(data, evaluation.trending_days))
    return LightFMFit(model, history, epochs, weight, scale, blend_scores, time.perf_counter() - started)


def _refit(config: TrainingConfig, use_features: bool, data: TrainingData, epochs: int) -> LightFMRecommender:
    """A fresh model trained ``epochs`` passes on ``data`` (same seed as the probe)."""
    return LightFMRecommender(config, use_features=use_features).fit_epochs(data, epochs)


@dataclass
class EvaluationRun:
    """Everything one comparison produced: the fitted hybrid, its data, every model's metrics."""

    split: Split
    data: TrainingData
    hybrid: LightFMFit
    collaborative: LightFMFit
    evaluations: list[ModelEvaluation]
    ratings: dict | None
    seconds: dict[str, float]

    def overall(self, name: str) -> dict[str, float] | None:
        """Overall metrics of the model called ``name`` (``None`` if it was not evaluated)."""
        return next((e.overall for e in self.evaluations if e.name == name), None)

    def required(self, name: str) -> dict[str, float]:
        """Overall metrics of a model every run evaluates."""
        found = self.overall(name)
        if found is None:
            raise LookupError(f"the run evaluated no model {name!r}")
        return found

    def to_json(self) -> dict:
        return {
            "split": self.split.describe(),
            "models": {e.name: e.to_json() for e in self.evaluations},
            "ratings": self.ratings,
            "hybrid": {
                "epochs": self.hybrid.epochs,
                "blend_weight": self.hybrid.blend_weight,
                "blend_validation": {str(k): v for k, v in self.hybrid.blend_scores.items()},
                "history": self.hybrid.history,
            },
            "collaborative": {"epochs": self.collaborative.epochs, "history": self.collaborative.history},
            "seconds": {k: round(v, 3) for k, v in self.seconds.items()},
        }


def subsample(split: Split, fraction: float, seed: int) -> Split:
    """``split`` with a random ``fraction`` of its training rows (the test stays whole)."""
    if not 0 < fraction <= 1:
        raise ValueError(f"sample_fraction must be in (0, 1], got {fraction}")
    if fraction == 1:
        return split
    return dataclasses.replace(split, train=split.train.sample(frac=fraction, random_state=seed).sort_index())


def baselines(config: TrainingConfig, evaluation: EvaluationConfig) -> list[Recommender]:
    """The simple and external models every hybrid is measured against."""
    return [Popularity(), SegmentPopularity(), Trending(evaluation.trending_days), ItemCooccurrence(), ALS(config)]


def train_and_evaluate(
    frames: Frames,
    split: Split,
    config: TrainingConfig,
    evaluation: EvaluationConfig,
    weighting: Weighting,
    champion=None,
) -> EvaluationRun:
    """Fit the hybrid, the collaborative LightFM and the baselines on ``split``; evaluate all.

    ``champion`` is the saved model in production (:func:`recsys.training.artifacts.load_model`), scored
    on the same users and truth so the gate compares like with like.
    """
    if config.epochs < 1:
        raise ValueError(f"epochs must be at least 1, got {config.epochs}")
    split = subsample(split, config.sample_fraction, config.seed)
    seconds: dict[str, float] = {}
    started = time.perf_counter()
    data = build_training_data(dataclasses.replace(frames, interactions=split.train), split.cutoff, weighting)
    seconds["build_data"] = time.perf_counter() - started
    log.info(
        "training data: %d users x %d items, %d pairs, %d user / %d item features",
        *data.shape,
        data.interactions.nnz,
        len(data.user_feature_names),
        len(data.item_feature_names),
    )
    validation = validation_context(split, frames, evaluation, weighting)
    hybrid = fit_lightfm(
        split, frames, config, evaluation, weighting, use_features=True, blend=True, data=data, validation=validation
    )
    collaborative = fit_lightfm(
        split, frames, config, evaluation, weighting, use_features=False, blend=False, data=data, validation=validation
    )
    seconds.update({HYBRID: hybrid.seconds, COLLABORATIVE: collaborative.seconds})
    models: list[Recommender] = [hybrid.model, collaborative.model]
    if hybrid.blend_weight:
        models.append(hybrid.model.with_prior(np.zeros(data.shape[1]), name=f"{HYBRID}_unblended"))
    for baseline in baselines(config, evaluation):
        started = time.perf_counter()
        models.append(baseline.fit(data))
        seconds[baseline.name] = time.perf_counter() - started
    if champion is not None:
        models.append(Fixed(CHAMPION, champion).fit(data))
    context = build_context(split, data, evaluation)
    evaluations = evaluate_models(models, context)
    return EvaluationRun(split, data, hybrid, collaborative, evaluations, rating_metrics(split, config.seed), seconds)


def run_parameters(config: TrainingConfig, evaluation: EvaluationConfig, weighting: Weighting) -> dict:
    """Everything that defines a run besides the data: hashed into the run id, kept in the row."""
    return {
        "training": config.model_dump(mode="json"),
        "evaluation": evaluation.model_dump(mode="json"),
        "weighting": weighting.to_json(),
    }


def save_run(directory: Path, run: EvaluationRun, params: dict, run_id: str) -> str:
    """The hybrid of ``run`` as an artifact in ``directory``; returns its checksum."""
    hybrid = run.hybrid
    config = params | {
        "run_id": run_id,
        "epochs": hybrid.epochs,
        "split": run.split.describe(),
        "blend": {
            "weight": hybrid.blend_weight,
            "scale": hybrid.prior_scale,
            "trending_days": params["evaluation"]["trending_days"],
        },
    }
    return artifacts.save_model(directory, hybrid.model, config, run.to_json())


@dataclass(frozen=True)
class TrainingRunResult:
    """What the nightly task reports: small enough for an XCom."""

    run_id: str
    status: str
    promoted: bool
    reason: str
    artifact_dir: str
    checksum: str
    report_path: str
    metrics: dict
    seconds: float


def run_training(
    url: str,
    logical_date: dt.date,
    config: TrainingConfig,
    evaluation: EvaluationConfig,
    artifacts_dir: Path,
    *,
    weighting: Weighting | None = None,
    git_revision: str | None = None,
) -> TrainingRunResult:
    """The nightly training run: marts in; artifact, report and ``ml.model_runs`` row out.

    Trains on everything before the test window (the last ``evaluation.test_days`` up to
    the logical date), compares with every baseline and the current champion on that window,
    and promotes the new model only if :func:`recsys.training.registry.champion_gate` agrees.  A run
    that raises is recorded as ``failed`` with the error, then re-raised.
    """
    started = time.perf_counter()
    weighting = weighting or load_weighting()
    params = run_parameters(config, evaluation, weighting)
    run_id = registry.make_run_id(logical_date, params)
    cutoff, end = windows(logical_date, evaluation.test_days)
    try:
        frames = read_warehouse(url, logical_date)
        split = temporal_split(frames.interactions, cutoff, end)
        champion_row = registry.current_champion(url)
        champion = _load_champion(champion_row)
        run = train_and_evaluate(frames, split, config, evaluation, weighting, champion)
        decision = registry.champion_gate(
            run.required(HYBRID), run.overall(CHAMPION), run.required(POPULARITY), evaluation
        )
        directory = Path(artifacts_dir) / "models" / run_id
        checksum = save_run(directory, run, params, run_id)
        earlier = registry.run_history(url)
        this_run = pd.DataFrame([{"run_id": run_id, "logical_date": logical_date, "metrics": run.to_json()}])
        history = pd.concat([earlier[earlier["run_id"] != run_id], this_run], ignore_index=True)
        report_path = report.write_report(
            directory / artifacts.REPORT,
            run,
            title=f"Training run {run_id}",
            decision_text=decision.reason,
            history=history,
        )
    except Exception as exc:
        registry.record_run(
            url,
            registry.RunRecord(
                run_id=run_id,
                logical_date=logical_date,
                params=params,
                status=registry.FAILED,
                metrics={},
                cutoff=cutoff.date(),
                test_end=(end - pd.Timedelta(days=1)).date(),
                git_revision=git_revision,
                gate_reason=f"{type(exc).__name__}: {exc}",
                training_seconds=time.perf_counter() - started,
            ),
        )
        raise
    status = registry.CHAMPION if decision.promote else registry.REJECTED
    seconds = time.perf_counter() - started
    registry.record_run(
        url,
        registry.RunRecord(
            run_id=run_id,
            logical_date=logical_date,
            params=params,
            status=status,
            metrics=run.to_json(),
            train_start=run.split.train["timestamp"].min().date(),
            cutoff=cutoff.date(),
            test_end=(end - pd.Timedelta(days=1)).date(),
            artifact_path=str(directory),
            artifact_checksum=checksum,
            report_path=str(report_path),
            git_revision=git_revision,
            gate_reason=decision.reason,
            training_seconds=seconds,
        ),
    )
    log.info("run %s: %s (%s)", run_id, status, decision.reason)
    return TrainingRunResult(
        run_id,
        status,
        decision.promote,
        decision.reason,
        str(directory),
        checksum,
        str(report_path),
        {e.name: e.overall for e in run.evaluations},
        seconds,
    )


def _load_champion(row: dict | None):
    """The champion's artifact, or ``None`` (none yet, or its files are gone or altered)."""
    if row is None or not row.get("artifact_path"):
        return None
    try:
        return artifacts.load_model(Path(row["artifact_path"]), expected_checksum=row.get("artifact_checksum"))
    except (OSError, ValueError) as exc:
        log.warning("champion %s cannot be loaded (%s): the gate compares with popularity only", row["run_id"], exc)
        return None


def fit_full_history(
    frames: Frames, config: TrainingConfig, evaluation: EvaluationConfig, weighting: Weighting
) -> LightFMFit:
    """The hybrid fitted on every interaction of ``frames``: the model ``recsys recommend`` ranks with.

    Epochs and the popularity blend are chosen on the last ``validation_days`` of the data,
    as in evaluation; rank it with :func:`recsys.serving.recommend.recommend_for_users` (through
    :func:`recsys.training.artifacts.in_memory_model`), the path of the nightly publish.
    """
    split = full_history(frames.interactions)
    return fit_lightfm(split, frames, config, evaluation, weighting, use_features=True, blend=True)
