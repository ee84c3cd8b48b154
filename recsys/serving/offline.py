"""Files as the nightly scoring inputs, so ``recsys recommend`` ranks as the publish job does.

The nightly job reads customers, catalogue, history, weekly demand and the event calendar
from the warehouse (:mod:`recsys.serving.inputs`); :func:`scoring_inputs` makes the same
:class:`~recsys.serving.inputs.ScoringInputs` from the standard frames of files
(:func:`recsys.training.dataset.read_files`), and both go through
:func:`recsys.serving.recommend.recommend_for_users`.  What is evaluated offline is then what
customers receive.  Everything here is pure: frames in, frames out.

A run for send date ``as_of`` knows only interactions before it (the model's training data
included, see :func:`before`).  Interactions without an event type count as purchases, as
order lines do in the warehouse, so an item a customer already had is not recommended
again unless its category is in the rules' re-buy list.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd

from recsys.platform.settings import Settings
from recsys.serving import context
from recsys.serving.recommend import ScoringInputs, ScoringSetup, recommend_for_users
from recsys.serving.rules import shop_rules
from recsys.training.artifacts import in_memory_model
from recsys.training.frames import EVENT_COUNT_COLUMNS, ITEM, TS, USER, Frames
from recsys.training.train import ServedFit, fit_full_history
from recsys.training.weighting import load_weighting

#: Columns of the offline output file.
OUTPUT_COLUMNS = ("user_id", "rank", "item_id", "score")
#: User columns the scoring reads (country and segment levels of popularity and context).
USER_COLUMNS = ("country", "segment", "rfm_segment")
#: The calendar seed, relative to the dbt project folder (``marts.dim_calendar_events``' source).
CALENDAR_SEED = Path("seeds") / "calendar_events.csv"


def default_as_of(interactions: pd.DataFrame) -> dt.date:
    """The day after the last interaction: the send date of a nightly run on the file's last day."""
    if interactions.empty:
        raise ValueError("the interactions file has no rows: nothing to recommend from")
    return (interactions[TS].max().normalize() + pd.Timedelta(days=1)).date()


def before(frames: Frames, as_of: dt.date) -> Frames:
    """``frames`` with the interactions before ``as_of`` only: what a run for that send date knows.

    Items and users files are kept whole (catalogue and sign-ups, as the dimension marts).
    """
    known = frames.interactions[frames.interactions[TS] < pd.Timestamp(as_of)]
    if known.empty:
        first = frames.interactions[TS].min()
        raise ValueError(
            f"no interactions before --as-of {as_of} (the file starts on {first:%Y-%m-%d}): choose a later date"
        )
    return dataclasses.replace(frames, interactions=known.reset_index(drop=True))


def history_frame(interactions: pd.DataFrame, as_of: dt.date) -> pd.DataFrame:
    """``user_id, item_id, timestamp, event_type`` before ``as_of``: every purchase, view and
    cart (what ``recs_input_history.sql`` reads); untyped rows count as purchases."""
    cutoff = pd.Timestamp(as_of)
    rows = interactions[interactions[TS] < cutoff]
    typed = {event: column for event, column in EVENT_COUNT_COLUMNS.items() if column in rows}
    if not typed:
        return rows[[USER, ITEM, TS]].assign(event_type="purchase").reset_index(drop=True)
    parts = [rows.loc[rows[column] > 0, [USER, ITEM, TS]].assign(event_type=event) for event, column in typed.items()]
    return pd.concat(parts, ignore_index=True)


def users_frame(users: pd.DataFrame | None, interactions: pd.DataFrame) -> pd.DataFrame:
    """Who to score, by ``user_id``: the users file (new sign-ups are cold-start customers)
    and everyone with an interaction, with ``country``/``segment`` when the file has them."""
    active = pd.DataFrame({USER: np.unique(interactions[USER].to_numpy(dtype=str))})
    if users is None:
        return active
    listed = users[[USER, *(c for c in USER_COLUMNS if c in users)]]
    frame = pd.concat([listed, active[~active[USER].isin(listed[USER])]], ignore_index=True)
    return frame.sort_values(USER, kind="stable").reset_index(drop=True)


def catalogue_frame(items: pd.DataFrame | None, interactions: pd.DataFrame) -> pd.DataFrame:
    """The items file plus items seen only in interactions, as ``marts.dim_products`` keeps
    products seen only in events; absent stock/status columns mean recommendable."""
    seen = pd.DataFrame({ITEM: np.unique(interactions[ITEM].to_numpy(dtype=str))})
    if items is None:
        return seen
    frame = pd.concat([items, seen[~seen[ITEM].isin(items[ITEM])]], ignore_index=True)
    return frame.sort_values(ITEM, kind="stable").reset_index(drop=True)


def scoring_inputs(frames: Frames, as_of: dt.date, calendar: pd.DataFrame) -> ScoringInputs:
    """The inputs of :func:`recsys.serving.recommend.recommend_for_users` for send date ``as_of``.

    Parameters
    ----------
    frames : Frames
        Standard frames of the files (:func:`recsys.training.dataset.read_files`).
    calendar : DataFrame
        The event calendar (:func:`recsys.serving.context.load_calendar` of :data:`CALENDAR_SEED`).
    """
    known = before(frames, as_of).interactions
    history = history_frame(known, as_of)
    return ScoringInputs(
        users=users_frame(frames.users, known),
        items=catalogue_frame(frames.items, known),
        history=history,
        demand=context.weekly_demand(history[history["event_type"] == "purchase"]),
        calendar=calendar,
    )


def recommend_frames(
    frames: Frames, settings: Settings, k: int, as_of: dt.date | None = None
) -> tuple[pd.DataFrame, ServedFit, dt.date]:
    """What ``recsys recommend`` does: the served blend fitted on the interactions before the
    send date (everything chosen on their last ``validation_days``), then every user's top
    ``k`` through the nightly path (context, cold start, rules).

    Returns the rows (:data:`recsys.serving.recommend.OUTPUT_COLUMNS`), the fit and the send date.
    """
    send_date = as_of or default_as_of(frames.interactions)
    weighting = load_weighting(settings.dbt_project_dir / "dbt_project.yml")
    fit = fit_full_history(before(frames, send_date), settings.training, settings.evaluation, weighting)
    calendar = context.load_calendar(settings.dbt_project_dir / CALENDAR_SEED)
    inputs = scoring_inputs(frames, send_date, calendar)
    setup = ScoringSetup(as_of=send_date, k=k, context=settings.context, rules=shop_rules(settings))
    rows = recommend_for_users(
        in_memory_model(fit.model),
        inputs,
        setup,
        block_size=settings.recs.block_size,
        num_threads=settings.recs.num_threads,
    )
    return rows, fit, send_date
