"""The campaign report: one self-contained HTML page, plots embedded as PNG.

Per campaign: the uplift of conversion and revenue per recipient with its interval for
every send (against the holdout and the global control), and the funnel of each arm of the
latest send (delivered, opened, clicked, converted).  A broken split (sample-ratio test)
is shown in red beside its effects.
"""

from __future__ import annotations

import base64
import io
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pandas as pd
from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup

_TEMPLATES = Environment(loader=PackageLoader("recsys.campaigns"), autoescape=select_autoescape(["html.j2"]))
FUNNEL = (
    ("delivery_rate", "delivered"),
    ("open_rate", "opened / delivered"),
    ("click_rate", "clicked / delivered"),
    ("conversion_rate", "converted"),
)


def _png(figure) -> Markup:
    buffer = io.BytesIO()
    figure.tight_layout()
    figure.savefig(buffer, format="png", dpi=90)
    plt.close(figure)
    return Markup(f'<img alt="plot" src="data:image/png;base64,{base64.b64encode(buffer.getvalue()).decode()}">')


def plot_uplift(results: pd.DataFrame, campaign: str) -> Markup:
    """Effect and interval per send date, one panel per metric, one series per comparison."""
    rows = results[results["campaign"] == campaign]
    metrics = sorted(rows["metric"].unique())
    figure, axes = plt.subplots(1, max(len(metrics), 1), figsize=(5 * max(len(metrics), 1), 3.2), squeeze=False)
    for ax, metric in zip(axes[0], metrics):
        for offset, (comparison, part) in enumerate(rows[rows["metric"] == metric].groupby("comparison")):
            x = pd.to_datetime(part["send_date"]) + pd.Timedelta(hours=6 * offset)
            low, high = part["effect"] - part["ci_lower"], part["ci_upper"] - part["effect"]
            ax.errorbar(x, part["effect"], yerr=[low, high], fmt="o", capsize=4, label=f"vs {comparison}")
        ax.axhline(0, color="grey", linewidth=0.8)
        ax.set_title(f"{metric}: treatment - control")
        ax.tick_params(axis="x", rotation=30)
        ax.legend(fontsize=8)
    return _png(figure)


def plot_funnel(arms: pd.DataFrame, campaign: str) -> Markup | None:
    """The funnel of each arm of the campaign's latest send."""
    rows = arms[arms["campaign"] == campaign]
    if rows.empty:
        return None
    latest = rows[rows["send_date"] == rows["send_date"].max()].set_index("arm")
    table = latest[[column for column, _ in FUNNEL]].rename(columns=dict(FUNNEL)).T.fillna(0.0)
    figure, ax = plt.subplots(figsize=(7, 3.2))
    table.plot.bar(ax=ax, rot=0)
    ax.set_ylabel("share")
    ax.set_title(f"funnel per arm, send of {latest.index.size and rows['send_date'].max()}")
    return _png(figure)


def render(results: pd.DataFrame, arms: pd.DataFrame, as_of: str) -> str:
    """The report's HTML."""
    campaigns = []
    for campaign in sorted(results["campaign"].unique()):
        rows = results[results["campaign"] == campaign]
        campaigns.append(
            {
                "name": campaign,
                "rows": rows.to_dict("records"),
                "uplift": plot_uplift(results, campaign),
                "funnel": plot_funnel(arms, campaign),
                "arms": arms[arms["campaign"] == campaign].to_dict("records"),
            }
        )
    return _TEMPLATES.get_template("report.html.j2").render(campaigns=campaigns, as_of=as_of)


def write_report(results: pd.DataFrame, arms: pd.DataFrame, as_of: str, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render(results, arms, as_of))
    return path
