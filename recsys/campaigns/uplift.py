"""Uplift of a campaign send with confidence intervals, by tea-tasting.

Intention to treat: every customer assigned to an arm counts, whether the e-mail was
delivered, opened or not.  Treatment is compared with the campaign's own holdout and with
the persistent global control, for conversion (a purchase within the attribution window)
and revenue per recipient.  Both use CUPED with pre-period spend as the covariate
(tea-tasting's ``Mean(value, covariate=...)``: Welch's t interval on the adjusted means);
a sample-ratio test against the split's designed shares flags a broken assignment, whose
effects should not be trusted.

tea-tasting also computes a relative interval, from the logarithm of the ratio of means; a
control mean near zero (no conversion yet in a small holdout, or a CUPED-adjusted mean
crossing zero) overflows it.  The outcomes are therefore analysed shifted by a constant,
which moves both means alike and leaves the absolute effect, its interval and its p-value
exactly as they are; the reported means are shifted back and the relative effect is the
effect over the control mean (no interval).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import tea_tasting as tt

from recsys.publishing.exports import GLOBAL_CONTROL, HOLDOUT, TREATMENT

#: metric -> (outcome column of marts.fct_campaign_recipients, covariate column)
METRICS = {
    "conversion": ("converted", "pre_period_revenue"),
    "revenue_per_recipient": ("revenue", "pre_period_revenue"),
}
RESULT_COLUMNS = (
    "metric",
    "comparison",
    "n_treatment",
    "n_control",
    "treatment",
    "control",
    "effect",
    "ci_lower",
    "ci_upper",
    "rel_effect",
    "p_value",
    "covariate",
    "srm_p_value",
    "srm_flag",
)


def designed_shares(holdout_share: float, control_share: float) -> dict[str, dict[str, float]]:
    """Expected share of each arm in each comparison, as the split draws them."""
    return {
        HOLDOUT: {TREATMENT: 1 - holdout_share, HOLDOUT: holdout_share},
        GLOBAL_CONTROL: {TREATMENT: (1 - control_share) * (1 - holdout_share), GLOBAL_CONTROL: control_share},
    }


def analyze(
    recipients: pd.DataFrame,
    holdout_share: float,
    control_share: float,
    *,
    confidence_level: float = 0.95,
    srm_alpha: float = 0.001,
) -> pd.DataFrame:
    """One row per metric and comparison (:data:`RESULT_COLUMNS`).

    Parameters
    ----------
    recipients : DataFrame
        One row per assigned customer: ``arm`` and the outcome and covariate columns of
        :data:`METRICS` (booleans are read as 0/1).
    holdout_share, control_share : float
        The designed shares of the split (for the sample-ratio test).
    """
    frame = recipients.assign(
        **{c: recipients[c].astype(float) for pair in METRICS.values() for c in pair if c in recipients}
    )
    rows = []
    for comparison, shares in designed_shares(holdout_share, control_share).items():
        pair = frame[frame["arm"].isin((TREATMENT, comparison))]
        counts = pair["arm"].value_counts()
        if counts.get(TREATMENT, 0) < 2 or counts.get(comparison, 0) < 2:
            continue
        experiment = tt.Experiment(
            {name: tt.Mean(value, covariate=covariate) for name, (value, covariate) in METRICS.items()}
            | {"srm": tt.SampleRatio(shares)},
            variant="arm",
        )
        shifts = {value: _shift(pair[value]) for value, _ in METRICS.values()}
        shifted = pair.assign(**{value: pair[value] + shift for value, shift in shifts.items()})
        with tt.config_context(confidence_level=confidence_level):
            result = experiment.analyze(shifted, control=comparison)
        table = result.to_pandas().set_index("metric")
        srm = float(table.loc["srm", "pvalue"])
        for name, (value, covariate) in METRICS.items():
            row = table.loc[name]
            control = float(row["control"]) - shifts[value]
            rows.append(
                {
                    "metric": name,
                    "comparison": comparison,
                    "n_treatment": int(counts[TREATMENT]),
                    "n_control": int(counts[comparison]),
                    "treatment": _number(float(row["treatment"]) - shifts[value]),
                    "control": _number(control),
                    "effect": _number(row["effect_size"]),
                    "ci_lower": _number(row["effect_size_ci_lower"]),
                    "ci_upper": _number(row["effect_size_ci_upper"]),
                    "rel_effect": _number(row["effect_size"] / control) if abs(control) > 1e-12 else None,
                    "p_value": _number(row["pvalue"]),
                    "covariate": covariate,
                    "srm_p_value": srm,
                    "srm_flag": srm < srm_alpha,
                }
            )
    return pd.DataFrame(rows, columns=list(RESULT_COLUMNS))


def _shift(values: pd.Series) -> float:
    """A constant far above the outcome's spread (the relative interval stays finite)."""
    return 10.0 * (1.0 + float(values.abs().max()) + float(values.std(ddof=0) or 0.0))


def _number(value) -> float | None:
    value = float(value)
    return None if np.isnan(value) else value
