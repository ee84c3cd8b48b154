"""Who may receive a campaign, and in which arm: pure functions, tested over many shops.

The order matters for honest measurement: every exclusion that does not depend on the
campaign's own split (no consent, suppressed, no address the tool can use, already at the
frequency cap) is applied first, then the eligible customers are split into treatment,
the campaign's holdout and the persistent global control group
(:func:`recsys.publishing.exports.assign_arms`).  The holdout is therefore a random sample
of exactly the population the treatment is drawn from (intention to treat).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from recsys.publishing.exports import assign_arms

NO_CONSENT, SUPPRESSED, NO_ADDRESS, CAPPED = "no_consent", "suppressed", "no_address", "capped"
EXCLUSIONS = (NO_CONSENT, SUPPRESSED, NO_ADDRESS, CAPPED)


@dataclass(frozen=True)
class Rules:
    """What a send must respect: shares of the controls and the frequency cap."""

    holdout_share: float
    control_share: float
    control_salt: str
    frequency_cap: int
    needs_address: bool


def exclusion_reasons(contacts: pd.DataFrame, recent_sends: pd.Series, rules: Rules) -> pd.Series:
    """The first reason each contact cannot be sent this campaign (None: eligible).

    Parameters
    ----------
    contacts : DataFrame
        ``customer_id, email, marketing_consent, is_suppressed`` (one row per customer).
    recent_sends : Series
        Campaigns sent to each customer id in the frequency window (missing: none).
    rules : Rules
        The send's shares and cap.
    """
    consent = contacts["marketing_consent"].fillna(False).astype(bool).to_numpy()
    suppressed = contacts["is_suppressed"].fillna(True).astype(bool).to_numpy()
    no_address = contacts["email"].isna().to_numpy() if rules.needs_address else np.zeros(len(contacts), bool)
    sent = contacts["customer_id"].map(recent_sends).fillna(0).to_numpy()
    capped = sent >= rules.frequency_cap
    reasons = np.select(
        [~consent, suppressed, no_address, capped], [NO_CONSENT, SUPPRESSED, NO_ADDRESS, CAPPED], default=""
    )
    found = pd.Series(reasons, index=contacts.index, dtype=object)
    return found.where(found != "", None)


def assign(
    contacts: pd.DataFrame, campaign: str, recent_sends: pd.Series, rules: Rules
) -> tuple[pd.DataFrame, dict[str, int]]:
    """``(assigned, excluded)``: the eligible customers with their buckets and arm, sorted
    by customer id, and the number excluded for each reason.

    ``recent_sends`` must count, for a global-control customer, the campaigns that would
    have reached them (``campaign_recent_sends.sql``): the cap then excludes the same share
    of every arm, and each arm stays a random sample of the same population.
    """
    reasons = exclusion_reasons(contacts, recent_sends, rules)
    excluded = {reason: int((reasons == reason).sum()) for reason in EXCLUSIONS}
    eligible = contacts.loc[reasons.isna(), "customer_id"]
    arms = assign_arms(eligible.to_numpy(), campaign, rules.holdout_share, rules.control_share, rules.control_salt)
    return arms.sort_values("customer_id").reset_index(drop=True), excluded
