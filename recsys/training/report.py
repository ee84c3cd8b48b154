"""The training report: one self-contained HTML page per run, plots embedded as PNG.

Sections: the gate's decision, how old the served model's data is (and its training
fit and sanity check), every model's metrics, the served model against the tuned
baselines (what validation chose for each), per-slice results, the validation curves
that chose the epochs, the blend search, how popular the recommended items are, and
the metric history across runs.
"""

from __future__ import annotations

import base64
import io
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup

from recsys.training.evaluate import HEADLINE_METRICS, metrics_table

FOCUS = ("blend", "lightfm_hybrid", "ease", "rp3beta", "recent_popularity", "popularity")
_TEMPLATES = Environment(loader=PackageLoader("recsys.training"), autoescape=select_autoescape(["html.j2"]))


def _png(figure) -> str:
    buffer = io.BytesIO()
    figure.tight_layout()
    figure.savefig(buffer, format="png", dpi=90)
    plt.close(figure)
    return f'<img alt="plot" src="data:image/png;base64,{base64.b64encode(buffer.getvalue()).decode()}">'


def plot_models(table: pd.DataFrame) -> str:
    """NDCG@10 and recall@10 of every model, best first."""
    columns = [c for c in ("ndcg@10", "recall@10") if c in table]
    figure, ax = plt.subplots(figsize=(8, 0.4 * len(table) + 1.5))
    table[columns].sort_values(columns[0]).plot.barh(ax=ax)
    ax.set_xlabel("value on the test window")
    ax.set_title("Model vs baselines")
    return _png(figure)


def plot_slices(evaluations, metric: str = "ndcg@10") -> str:
    """``metric`` per slice for the hybrid and the main baselines."""
    frame = pd.DataFrame(
        {
            e.name: {name: values.get(metric, np.nan) for name, values in e.slices.items()}
            for e in evaluations
            if e.name in FOCUS
        }
    )
    figure, ax = plt.subplots(figsize=(9, 0.35 * max(len(frame), 1) * max(len(frame.columns), 1) / 2 + 2))
    frame.plot.barh(ax=ax)
    ax.set_xlabel(metric)
    ax.set_title(f"{metric} per slice")
    return _png(figure)


def plot_validation(curves: dict[str, list[dict]]) -> str:
    """Validation NDCG@10 against epochs: the early-stopping curves."""
    figure, ax = plt.subplots(figsize=(7, 3.5))
    for name, history in curves.items():
        if history:
            frame = pd.DataFrame(history)
            ax.plot(frame["epoch"], frame.iloc[:, 1], marker="o", label=name)
    ax.set_xlabel("epoch")
    ax.set_ylabel("validation ndcg@10")
    ax.set_title("Early stopping on the validation window")
    ax.legend()
    return _png(figure)


def plot_popularity(evaluations, popularity: np.ndarray) -> str:
    """Distribution of the training popularity of recommended items (top-10 lists)."""
    figure, ax = plt.subplots(figsize=(7, 3.5))
    bins = np.linspace(0, np.log1p(popularity.max()) if popularity.size else 1, 30)
    for e in evaluations:
        if e.name in FOCUS and e.recommendation_counts.sum():
            ax.hist(
                np.log1p(popularity),
                bins=list(bins),
                weights=e.recommendation_counts,
                histtype="step",
                label=e.name,
                density=True,
            )
    ax.set_xlabel("log(1 + training users of the item)")
    ax.set_ylabel("share of recommendations")
    ax.set_title("How popular the recommended items are")
    ax.legend()
    return _png(figure)


def plot_history(history: pd.DataFrame, metric: str = "ndcg@10") -> str:
    """``metric`` of the hybrid and popularity across runs (each run's own test window)."""
    history = history.assign(logical_date=pd.to_datetime(history["logical_date"])).sort_values("logical_date")
    figure, ax = plt.subplots(figsize=(7, 3.5))
    for model in ("blend", "ease", "recent_popularity", "popularity"):
        values = history["metrics"].map(
            lambda m, model=model: (((m or {}).get("models") or {}).get(model) or {}).get("overall", {}).get(metric)
        )
        ax.plot(history["logical_date"], values.astype(float), marker="o", label=model)
    ax.set_xlabel("logical date")
    ax.set_ylabel(metric)
    ax.set_title("Metric history across runs")
    ax.legend()
    figure.autofmt_xdate()
    return _png(figure)


def render(
    run,
    *,
    title: str,
    decision_text: str,
    history: pd.DataFrame | None = None,
    freshness: dict | None = None,
) -> str:
    """The HTML page of one evaluation run (:class:`recsys.training.train.EvaluationRun`).

    Text is escaped by the template; tables and plots are HTML this module made.
    """
    table = metrics_table(run.evaluations)
    headline = table[[c for c in HEADLINE_METRICS if c in table]]
    baselines = pd.DataFrame(
        {
            "chosen on validation": {b.name: str(b.chosen) for b in run.baselines},
            "validation ndcg@10 per setting": {
                b.name: ", ".join(f"{k}: {v:.4f}" for k, v in b.validation.items()) for b in run.baselines
            },
        }
    )
    search = pd.DataFrame(run.served.search.trials)
    return _TEMPLATES.get_template("report.html.j2").render(
        title=title,
        decision_text=decision_text,
        split=str(run.split.describe()),
        served=run.served.choice.to_json(),
        validation_score=f"{run.served.search.score:.4f}",
        freshness=freshness,
        ease_note=run.ease_note,
        headline_table=Markup(headline.to_html(float_format="%.4f")),
        baselines_table=Markup(baselines.to_html()),
        search_table=Markup(search.to_html(float_format="%.4f", index=False)) if len(search) else None,
        models_plot=Markup(plot_models(table)),
        slices_plot=Markup(plot_slices(run.evaluations)),
        validation_plot=Markup(
            plot_validation(
                {"lightfm_hybrid": run.served.history}
                | ({"lightfm_cf": run.collaborative.history} if run.collaborative else {})
            )
        ),
        popularity_plot=Markup(
            plot_popularity(run.evaluations, np.asarray((run.data.interactions > 0).sum(axis=0)).ravel())
        ),
        ratings_table=Markup(pd.Series(run.ratings).to_frame("value").to_html(float_format="%.4f"))
        if run.ratings
        else None,
        history_plot=Markup(plot_history(history)) if history is not None and len(history) else None,
        metrics_table=Markup(table.T.to_html(float_format="%.4f")),
    )


def write_report(
    path: Path,
    run,
    *,
    title: str,
    decision_text: str,
    history: pd.DataFrame | None = None,
    freshness: dict | None = None,
) -> Path:
    """Write :func:`render`'s page to ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render(run, title=title, decision_text=decision_text, history=history, freshness=freshness))
    return path
