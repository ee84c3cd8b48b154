"""Training and the honest comparison of the served model with every baseline.

For one split (temporal or leave-last-out) :func:`train_and_evaluate`:

1. carves a validation split out of the training part with the same protocol;
2. tunes each strong baseline (EASE, RP3beta, recent popularity) on it
   (:func:`recsys.training.baselines.tune_baselines`);
3. fits the LightFM hybrid on the validation split's training rows epoch by epoch, checking
   NDCG@10 on the validation window every ``eval_every`` epochs and stopping after
   ``patience`` checks without a gain; then searches the blend settings with Optuna on the
   same window (:func:`recsys.training.blend.search_blend`), the item neighbours from EASE
   or RP3beta with their baselines' chosen settings;
4. refits what validation chose (:class:`ServedChoice`) on the whole training part;
5. fits every baseline on the same training data and evaluates all models, the champion
   in production included, with the same code on the same users.

The test window is read in step 5 only: nothing is tuned on it.  :func:`run_training` is
the nightly entry point (warehouse in, artifact + ``ml.model_runs`` row out, champion gate),
and serves the configuration the gate judged refitted on every interaction up to the
business date (:func:`fit_served` on :func:`recsys.training.split.full_history`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging
import resource
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp

from recsys.platform.settings import EvaluationConfig, TrainingConfig
from recsys.platform.sqlfiles import SqlFiles
from recsys.training import artifacts, registry, report
from recsys.training.baselines import TunedBaseline, tune_baselines, tune_neighbours
from recsys.training.blend import (
    NEIGHBOUR_FAMILIES,
    Blend,
    BlendSearch,
    BlendSettings,
    item_neighbours,
    search_blend,
)
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
)
from recsys.training.split import (
    Split,
    full_history,
    temporal_split,
    validation_split,
    windows,
)
from recsys.training.warm import warm_fit
from recsys.training.weighting import Weighting, load_weighting

log = logging.getLogger(__name__)
_sql = SqlFiles(__name__)

VALIDATION_METRIC = "ndcg@10"
SERVED, HYBRID, COLLABORATIVE, CHAMPION, POPULARITY = "blend", "lightfm_hybrid", "lightfm_cf", "champion", "popularity"


@dataclass
class LightFMFit:
    """A LightFM model refitted on the training part with the epochs chosen on validation."""

    model: LightFMRecommender
    history: list[dict]
    epochs: int
    seconds: float


@dataclass(frozen=True)
class ServedChoice:
    """Everything validation chose for the served model: all a refit on other data needs."""

    epochs: int
    settings: BlendSettings
    neighbour_settings: dict[str, dict]  # each item-item family's setting, chosen by its baseline

    def to_json(self) -> dict:
        return {"epochs": self.epochs, "neighbour_settings": self.neighbour_settings} | self.settings.to_json()


@dataclass
class ServedFit:
    """The served configuration chosen on validation and fitted on the training part."""

    model: Blend
    choice: ServedChoice
    history: list[dict]
    search: BlendSearch
    seconds: float


def validation_context(
    split: Split, frames: Frames, evaluation: EvaluationConfig, weighting: Weighting
) -> tuple[TrainingData, EvalContext]:
    """Training data and evaluation context of the validation split carved from ``split``."""
    validation = validation_split(split, evaluation.validation_days)
    data = build_training_data(dataclasses.replace(frames, interactions=validation.train), validation.cutoff, weighting)
    users = evaluation.validation_max_users or evaluation.max_users
    return data, build_context(validation, data, evaluation.model_copy(update={"ks": (10,), "max_users": users}))


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


def _validation_score(context: EvalContext):
    """``model -> validation NDCG@10`` on ``context``."""
    return lambda model: evaluate(model, context).overall[VALIDATION_METRIC]


def fit_lightfm(
    config: TrainingConfig,
    data: TrainingData,
    validation: tuple[TrainingData, EvalContext],
    *,
    use_features: bool,
) -> tuple[LightFMRecommender, LightFMFit]:
    """LightFM with its epochs chosen on validation, refitted on ``data``.

    Returns the model at its best validation epoch (fitted on the validation split's
    training rows, what the blend search builds on) and the refit (a warm start of it on
    the validation window with ``warm_refits``).  With a single early-stopping check
    (``epochs <= eval_every``) there is nothing to choose: the validation model is then
    trained ``epochs`` passes and the refit uses as many.
    """
    started = time.perf_counter()
    validation_data, context = validation
    best, history = _early_stopping(
        LightFMRecommender(config, use_features=use_features), validation_data, context, config
    )
    refit = (
        warm_fit(best, data, validation_data.cutoff, config.warm_epochs)
        if config.warm_refits
        else refit_lightfm(config, use_features, data, best.epochs_trained)
    )
    return best, LightFMFit(refit, history, best.epochs_trained, time.perf_counter() - started)


def refit_lightfm(config: TrainingConfig, use_features: bool, data: TrainingData, epochs: int) -> LightFMRecommender:
    """A fresh model trained ``epochs`` passes on ``data`` (same seed as the probe)."""
    return LightFMRecommender(config, use_features=use_features).fit_epochs(data, epochs)


def choose_served(
    config: TrainingConfig,
    data: TrainingData,
    validation: tuple[TrainingData, EvalContext],
    neighbour_settings: dict[str, dict],
    validation_models: dict[str, Recommender] | None = None,
    data_models: dict[str, Recommender] | None = None,
) -> ServedFit:
    """The served blend: epochs and blend settings chosen on validation, refitted on ``data``.

    ``neighbour_settings`` are the item-item baselines' choices on the same window; the
    search picks the family whose neighbours blend best.  ``validation_models`` and
    ``data_models``: those baselines already fitted on the validation split and on ``data``
    (their weights are reused, not computed again).
    """
    started = time.perf_counter()
    validation_data, context = validation
    validation_models, data_models = validation_models or {}, data_models or {}
    probe, hybrid = fit_lightfm(config, data, validation, use_features=True)
    neighbours = {
        family: item_neighbours(validation_data, family, setting, config, validation_models.get(family))
        for family, setting in neighbour_settings.items()
    }
    search = search_blend(probe, neighbours, config, _validation_score(context))
    del neighbours, probe
    choice = ServedChoice(hybrid.epochs, search.settings, neighbour_settings)
    model = served_blend(config, data, choice, hybrid.model, data_models.get(search.settings.neighbours))
    return ServedFit(model, choice, hybrid.history, search, time.perf_counter() - started)


def served_blend(
    config: TrainingConfig,
    data: TrainingData,
    choice: ServedChoice,
    lightfm: LightFMRecommender | None = None,
    fitted: Recommender | None = None,
) -> Blend:
    """The served blend of ``choice`` fitted on ``data`` (``lightfm``: its hybrid, when already
    fitted; ``fitted``: its neighbour family's baseline fitted on ``data``)."""
    lightfm = lightfm or refit_lightfm(config, True, data, choice.epochs)
    family = choice.settings.neighbours
    neighbours = item_neighbours(data, family, choice.neighbour_settings[family], config, fitted)
    return Blend(lightfm, neighbours, choice.settings, name=SERVED)


@dataclass
class EvaluationRun:
    """Everything one comparison produced: the served fit, its data, every model's metrics."""

    split: Split
    data: TrainingData
    served: ServedFit
    collaborative: LightFMFit | None
    baselines: list[TunedBaseline]
    evaluations: list[ModelEvaluation]
    ratings: dict | None
    seconds: dict[str, float]
    ease_items: tuple[int, int]
    #: The process's peak resident memory (MB) after each step, to locate a night's peak.
    peak_rss_mb: dict[str, float] = dataclasses.field(default_factory=dict)

    def overall(self, name: str) -> dict[str, float] | None:
        """Overall metrics of the model called ``name`` (``None`` if it was not evaluated)."""
        return next((e.overall for e in self.evaluations if e.name == name), None)

    def required(self, name: str) -> dict[str, float]:
        """Overall metrics of a model every run evaluates."""
        found = self.overall(name)
        if found is None:
            raise LookupError(f"the run evaluated no model {name!r}")
        return found

    @property
    def ease_note(self) -> str:
        """How much of the catalogue EASE modelled (its inverse is dense: the most popular items only)."""
        modelled, bought = self.ease_items
        if modelled < bought:
            return f"EASE modelled the {modelled:,} most popular of {bought:,} bought items (ease_max_items)"
        return f"EASE modelled all {bought:,} bought items"

    def to_json(self) -> dict:
        return {
            "split": self.split.describe(),
            "models": {e.name: e.to_json() for e in self.evaluations},
            "ratings": self.ratings,
            "served": {
                "choice": self.served.choice.to_json(),
                "validation_score": self.served.search.score,
                "history": self.served.history,
                "search": self.served.search.trials,
            },
            "baselines": {b.name: b.to_json() for b in self.baselines} | {"ease_note": self.ease_note},
            "collaborative": None
            if self.collaborative is None
            else {"epochs": self.collaborative.epochs, "history": self.collaborative.history},
            "seconds": {k: round(v, 3) for k, v in self.seconds.items()},
            "peak_rss_mb": self.peak_rss_mb,
        }


def subsample(split: Split, fraction: float, seed: int) -> Split:
    """``split`` with a random ``fraction`` of its training rows (the test stays whole)."""
    if not 0 < fraction <= 1:
        raise ValueError(f"sample_fraction must be in (0, 1], got {fraction}")
    if fraction == 1:
        return split
    return dataclasses.replace(split, train=split.train.sample(frac=fraction, random_state=seed).sort_index())


def simple_baselines(config: TrainingConfig) -> list[Recommender]:
    """The baselines with nothing to tune: popularity, by segment, item cosine, implicit ALS."""
    return [Popularity(), SegmentPopularity(), ItemCooccurrence(), ALS(config)]


def peak_rss_mb() -> float:
    """This process's peak resident memory so far, in MB (Linux reports kilobytes)."""
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def train_and_evaluate(
    frames: Frames,
    split: Split,
    config: TrainingConfig,
    evaluation: EvaluationConfig,
    weighting: Weighting,
    champion=None,
) -> EvaluationRun:
    """Fit the served blend, its parts and every baseline on ``split``; evaluate all.

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
    memory = {"build_data": peak_rss_mb()}
    log.info(
        "training data: %d users x %d items, %d pairs, %d user / %d item features",
        *data.shape,
        data.interactions.nnz,
        len(data.user_feature_names),
        len(data.item_feature_names),
    )
    validation = validation_context(split, frames, evaluation, weighting)
    memory["validation_data"] = peak_rss_mb()
    started = time.perf_counter()
    tuned = tune_baselines(config, lambda model: _validation_score(validation[1])(model.fit(validation[0])))
    seconds["tune_baselines"] = time.perf_counter() - started
    memory["tune_baselines"] = peak_rss_mb()
    baselines: list[Recommender] = []
    for baseline in [*simple_baselines(config), *(t.make() for t in tuned)]:
        started = time.perf_counter()
        baselines.append(baseline.fit(data))
        seconds[baseline.name] = time.perf_counter() - started
        memory[baseline.name] = peak_rss_mb()
    served = choose_served(
        config,
        data,
        validation,
        {t.name: t.chosen for t in tuned if t.name in NEIGHBOUR_FAMILIES},
        {t.name: t.fitted for t in tuned if t.fitted is not None},
        {b.name: b for b in baselines if b.name in NEIGHBOUR_FAMILIES},
    )
    tuned = [dataclasses.replace(t, fitted=None) for t in tuned]
    seconds[SERVED] = served.seconds
    memory[SERVED] = peak_rss_mb()
    models: list[Recommender] = [served.model, served.model.lightfm.with_prior(np.zeros(data.shape[1]), name=HYBRID)]
    collaborative = None
    if config.collaborative_baseline:
        _, collaborative = fit_lightfm(config, data, validation, use_features=False)
        seconds[COLLABORATIVE] = collaborative.seconds
        models.append(collaborative.model)
    models.extend(baselines)
    if champion is not None:
        models.append(Fixed(CHAMPION, champion).fit(data))
    context = build_context(split, data, evaluation)
    evaluations = evaluate_models(models, context)
    memory["evaluate"] = peak_rss_mb()
    bought = int((data.interactions.getnnz(axis=0) > 0).sum())
    return EvaluationRun(
        split,
        data,
        served,
        collaborative,
        tuned,
        evaluations,
        rating_metrics(split, config.seed),
        seconds,
        (min(bought, config.ease_max_items), bought),
        memory,
    )


def run_parameters(config: TrainingConfig, evaluation: EvaluationConfig, weighting: Weighting) -> dict:
    """Everything that defines a run besides the data: hashed into the run id, kept in the row."""
    return {
        "training": config.model_dump(mode="json"),
        "evaluation": evaluation.model_dump(mode="json"),
        "weighting": weighting.to_json(),
    }


def save_run(directory: Path, model: Blend, run: EvaluationRun, params: dict, run_id: str, **extra) -> str:
    """``model`` (the served blend of ``run``, or its refit) as an artifact in ``directory``; its checksum."""
    config = params | {"run_id": run_id, "split": run.split.describe(), "choice": run.served.choice.to_json()} | extra
    return artifacts.save_model(directory, model, config, run.to_json())


@dataclass(frozen=True)
class ProductionFit:
    """The served configuration refitted on every interaction up to the business date."""

    model: Blend
    data_end: dt.date
    check: dict
    seconds: float

    @property
    def passed(self) -> bool:
        return bool(self.check["passed"])


def in_sample_auc(model: LightFMRecommender, users: int = 1000, seed: int = 0) -> float:
    """Mean AUC of a LightFM model on its own training pairs (a seeded sample of users).

    WARP optimises a ranking and reports no loss; how well the model ranks what it was
    trained on is the training-fit figure it has (``lightfm.evaluation.auc_score``).
    """
    from lightfm.evaluation import auc_score

    interactions = model.data.interactions.tocsr()
    chosen = np.random.default_rng(seed).choice(interactions.shape[0], size=min(users, interactions.shape[0]))
    mask = np.zeros(interactions.shape[0], np.float32)
    mask[chosen] = 1
    sampled = (sp.diags(mask) @ interactions).tocsr()
    sampled.eliminate_zeros()
    scores = auc_score(
        model.model,
        sampled,
        user_features=model.user_feature_matrix(),
        item_features=model.item_feature_matrix(),
        num_threads=model.fit_threads,
    )
    return float(np.mean(scores))


def fit_production(
    frames: Frames, config: TrainingConfig, weighting: Weighting, choice: ServedChoice, backtest: Blend
) -> ProductionFit:
    """The configuration the gate judged, refitted on every interaction up to the business date.

    Its training fit (in-sample AUC) and a sanity check are recorded: every score finite,
    and the in-sample AUC no more than 0.05 below the backtest model's (the same settings
    on 28 fewer days should fit no better).  A model that fails the check does not serve.
    """
    started = time.perf_counter()
    split = full_history(frames.interactions)
    data = build_training_data(dataclasses.replace(frames, interactions=split.train), split.cutoff, weighting)
    lightfm = warm_fit(backtest.lightfm, data, backtest.data.cutoff, config.warm_epochs) if config.warm_refits else None
    model = served_blend(config, data, choice, lightfm)
    auc, backtest_auc = in_sample_auc(model.lightfm), in_sample_auc(backtest.lightfm)
    sample = np.arange(min(data.shape[0], 256))
    finite = bool(np.isfinite(model.score(sample)).all())
    check = {
        "train_auc": auc,
        "backtest_train_auc": backtest_auc,
        "finite_scores": finite,
        "users": int(data.shape[0]),
        "items": int(data.shape[1]),
        "interactions": int(data.interactions.nnz),
        "passed": finite and auc > 0.5 and auc >= backtest_auc - 0.05,
    }
    data_end = split.train["timestamp"].max().date()
    log.info("production fit on data up to %s: %s", data_end, check)
    return ProductionFit(model, data_end, check, time.perf_counter() - started)


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


def strong_baselines(run: EvaluationRun) -> dict[str, dict[str, float]]:
    """Overall metrics of each tuned strong baseline of ``run`` (what the gate must beat)."""
    return {b.name: run.required(b.name) for b in run.baselines}


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
    the logical date), compares with every baseline and the current champion on that
    window, and promotes the configuration only if
    :func:`recsys.training.registry.champion_gate` agrees.  A promoted configuration is
    refitted on every interaction up to the business date (:func:`fit_production`): that
    model serves, the backtest model is kept beside it (``backtest/``) for the next
    nights' gates.  A run that raises is recorded as ``failed`` with the error, then
    re-raised.
    """
    started = time.perf_counter()
    weighting = weighting or load_weighting()
    params = run_parameters(config, evaluation, weighting)
    run_id = registry.make_run_id(logical_date, params)
    cutoff, end = windows(logical_date, evaluation.test_days)
    try:
        frames = read_warehouse(url, logical_date)
        champion_row = registry.current_champion(url)
        incremental = incremental_night(frames, champion_row, logical_date, config, params, weighting)
        if incremental is not None:
            return _record_incremental(url, incremental, logical_date, params, run_id, artifacts_dir, git_revision)
        split = temporal_split(frames.interactions, cutoff, end)
        champion = _load_champion(champion_row)
        run = train_and_evaluate(frames, split, config, evaluation, weighting, champion)
        decision = registry.champion_gate(
            run.required(SERVED),
            run.overall(CHAMPION),
            run.required(POPULARITY),
            evaluation,
            baselines=strong_baselines(run),
        )
        directory = Path(artifacts_dir) / "models" / run_id
        production = (
            fit_production(frames, config, weighting, run.served.choice, run.served.model) if decision.promote else None
        )
        if production is not None and not production.passed:
            decision = registry.GateDecision(
                False, f"{decision.reason}; but the refit failed its check {production.check}"
            )
        freshness = _freshness(production, run, logical_date)
        if production is not None and production.passed:
            backtest = directory / artifacts.BACKTEST
            backtest_checksum = save_run(backtest, run.served.model, run, params, run_id, fit="backtest")
            checksum = save_run(
                directory,
                production.model,
                run,
                params,
                run_id,
                fit="production",
                production=freshness,
                backtest_path=str(backtest),
                backtest_checksum=backtest_checksum,
            )
        else:
            checksum = save_run(directory, run.served.model, run, params, run_id, fit="backtest")
        earlier = registry.run_history(url)
        refit_seconds = {"production_refit": round(production.seconds, 3)} if production is not None else {}
        run.peak_rss_mb["production_refit"] = peak_rss_mb()
        metrics = run.to_json() | {"production": freshness | refit_seconds}
        this_run = pd.DataFrame([{"run_id": run_id, "logical_date": logical_date, "metrics": metrics}])
        history = pd.concat([earlier[earlier["run_id"] != run_id], this_run], ignore_index=True)
        report_path = report.write_report(
            directory / artifacts.REPORT,
            run,
            title=f"Training run {run_id}",
            decision_text=decision.reason,
            history=history,
            freshness=freshness,
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
            params=params | {"chosen": run.served.choice.to_json()},
            status=status,
            metrics=metrics,
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


@dataclass(frozen=True)
class IncrementalFit:
    """A night that warm-started the champion on the interactions since its data ended."""

    model: Blend
    champion: dict
    config: dict
    since: pd.Timestamp
    new_interactions: int
    check: dict
    seconds: float


def incremental_night(
    frames: Frames,
    champion_row: dict | None,
    logical_date: dt.date,
    config: TrainingConfig,
    params: dict,
    weighting: Weighting,
) -> IncrementalFit | None:
    """The champion warm-started on what is new, when a full refit is not due; else ``None``.

    Due means: no champion, a rerun of the champion's night, a champion fitted with other
    settings, its last full refit
    ``full_refit_days`` or more days ago, or a warm start whose in-sample AUC falls more
    than ``warm_tolerance`` below the last full fit's (the check is recorded either way).
    The item neighbours are the champion's (new products have none until the next full
    night); the popularity prior is recomputed on today's data.
    """
    if champion_row is None or config.full_refit_days <= 1 or not champion_row.get("artifact_path"):
        return None
    if pd.Timestamp(champion_row["logical_date"]).date() >= logical_date:
        return None  # a rerun of the champion's own night converges to that night's full run
    path = Path(champion_row["artifact_path"])
    served = json.loads((path / artifacts.CONFIG).read_text())
    production = served.get("production") or {}
    same = all(served.get(key) == params[key] for key in ("training", "evaluation", "weighting"))
    full_date = production.get("full_refit_date")
    if (
        not same
        or full_date is None
        or (logical_date - dt.date.fromisoformat(full_date)).days >= config.full_refit_days
    ):
        return None
    started = time.perf_counter()
    loaded = artifacts.load_model(path, expected_checksum=champion_row.get("artifact_checksum"))
    previous = LightFMRecommender(config, use_features=True)
    previous.model, _, _ = artifacts.restore_lightfm(path)
    previous.epochs_trained = int(served["choice"]["epochs"])
    split = full_history(frames.interactions)
    data = build_training_data(dataclasses.replace(frames, interactions=split.train), split.cutoff, weighting)
    since = pd.Timestamp(production["data_end"]) + pd.Timedelta(days=1)
    known = (loaded.user_feature_names, loaded.item_feature_names)
    lightfm = warm_fit(previous, data, since, config.warm_epochs, known)
    column = data.item_index(loaded.item_ids)
    pairs = (loaded.neighbours if loaded.neighbours is not None else sp.csr_matrix((len(column),) * 2)).tocoo()
    keep = (column[pairs.row] >= 0) & (column[pairs.col] >= 0)
    neighbours = sp.csr_matrix(
        (pairs.data[keep], (column[pairs.row[keep]], column[pairs.col[keep]])), shape=(data.shape[1],) * 2
    )
    settings = BlendSettings(**{k: served["choice"][k] for k in BlendSettings().to_json()})
    model = Blend(lightfm, neighbours, settings, name=SERVED)
    auc = in_sample_auc(model.lightfm)
    check = {
        "train_auc": auc,
        "full_fit_auc": production["full_fit_auc"],
        "tolerance": config.warm_tolerance,
        "passed": bool(np.isfinite(auc) and auc >= production["full_fit_auc"] - config.warm_tolerance),
    }
    new_interactions = int((data.pairs["last_ts"] >= since).sum())
    log.info("incremental night on %d new pairs since %s: %s", new_interactions, since.date(), check)
    if not check["passed"]:
        log.warning("the warm start drifted from the full fit (%s): refitting in full", check)
        return None
    return IncrementalFit(model, champion_row, served, since, new_interactions, check, time.perf_counter() - started)


def _record_incremental(
    url: str,
    night: IncrementalFit,
    logical_date: dt.date,
    params: dict,
    run_id: str,
    artifacts_dir: Path,
    git_revision: str | None,
) -> TrainingRunResult:
    """Save and register an incremental night's model as the champion (it is the champion's
    configuration, judged on the backtest of its full night, refreshed on newer data)."""
    directory = Path(artifacts_dir) / "models" / run_id
    data_end = night.model.data.pairs["last_ts"].max().date()
    freshness = night.config["production"] | {
        "fit": "incremental",
        "data_end": str(data_end),
        "age_days_at_business_date": (logical_date - data_end).days,
        "check": night.check,
        "warm_started_from": night.champion["run_id"],
        "new_interactions": night.new_interactions,
    }
    metrics = {"incremental": freshness | {"seconds": round(night.seconds, 3)}, "production": freshness}
    config = params | {
        "run_id": run_id,
        "choice": night.config["choice"],
        "fit": "incremental",
        "production": freshness,
        "backtest_path": night.config["backtest_path"],
        "backtest_checksum": night.config["backtest_checksum"],
    }
    checksum = artifacts.save_model(directory, night.model, config, metrics)
    reason = (
        f"incremental night: {night.champion['run_id']} warm-started on {night.new_interactions:,} new pairs "
        f"since {night.since.date()}; in-sample AUC {night.check['train_auc']:.4f} vs full fit "
        f"{night.check['full_fit_auc']:.4f} (tolerance {night.check['tolerance']})"
    )
    registry.record_run(
        url,
        registry.RunRecord(
            run_id=run_id,
            logical_date=logical_date,
            params=params | {"chosen": night.config["choice"]},
            status=registry.CHAMPION,
            metrics=metrics,
            artifact_path=str(directory),
            artifact_checksum=checksum,
            git_revision=git_revision,
            gate_reason=reason,
            training_seconds=night.seconds,
        ),
    )
    log.info("run %s: %s", run_id, reason)
    return TrainingRunResult(run_id, registry.CHAMPION, True, reason, str(directory), checksum, "", {}, night.seconds)


def _freshness(production: ProductionFit | None, run: EvaluationRun, logical_date: dt.date) -> dict:
    """What data the served artifact has seen, for the report and the run row."""
    if production is None:
        return {
            "fit": "backtest",
            "data_end": str((run.split.cutoff - pd.Timedelta(days=1)).date()),
            "age_days_at_business_date": (logical_date - (run.split.cutoff - pd.Timedelta(days=1)).date()).days,
            "check": None,
        }
    return {
        "fit": "production",
        "data_end": str(production.data_end),
        "age_days_at_business_date": (logical_date - production.data_end).days,
        "check": production.check,
        "full_refit_date": str(logical_date),
        "full_fit_auc": production.check["train_auc"],
    }


def _load_champion(row: dict | None):
    """The champion's backtest model, or ``None`` (none yet, or its files are gone or altered).

    The backtest model has seen none of this night's test window, so the gate compares
    like with like; its folder and checksum are in the served artifact's config, whose
    own checksum is the registry's.  A champion saved without one (rejected runs keep
    their backtest model at the top) is itself the backtest model.
    """
    if row is None or not row.get("artifact_path"):
        return None
    try:
        served = artifacts.load_model(Path(row["artifact_path"]), expected_checksum=row.get("artifact_checksum"))
        if "backtest_path" not in served.config:
            return served
        return artifacts.load_model(
            Path(served.config["backtest_path"]), expected_checksum=served.config["backtest_checksum"]
        )
    except (OSError, ValueError, KeyError) as exc:
        log.warning("champion %s cannot be loaded (%s): the gate compares with popularity only", row["run_id"], exc)
        return None


def fit_full_history(
    frames: Frames, config: TrainingConfig, evaluation: EvaluationConfig, weighting: Weighting
) -> ServedFit:
    """The served blend fitted on every interaction of ``frames``: what ``recsys recommend`` ranks with.

    Epochs, the item-item models' settings and the blend settings are chosen on the last
    ``validation_days`` of the data, as in evaluation; rank it with
    :func:`recsys.serving.recommend.recommend_for_users` (through
    :func:`recsys.training.artifacts.in_memory_model`), the path of the nightly publish.
    """
    split = full_history(frames.interactions)
    data = build_training_data(dataclasses.replace(frames, interactions=split.train), split.cutoff, weighting)
    validation = validation_context(split, frames, evaluation, weighting)
    tuned = tune_neighbours(config, lambda model: _validation_score(validation[1])(model.fit(validation[0])))
    return choose_served(
        config,
        data,
        validation,
        {t.name: t.chosen for t in tuned},
        {t.name: t.fitted for t in tuned if t.fitted is not None},
    )
