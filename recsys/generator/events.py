"""Behavioural events of one day: sessions that go view -> cart -> purchase -> rating.

A day is the unit of generation.  Its random stream is keyed by ``(seed, day)``, so a
day's events do not depend on which other days are generated with it or on how the
writer groups days into chunks; all work inside a day is vectorised numpy/pyarrow.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from recsys.contracts.raw import EVENT_TYPES
from recsys.generator.calendar import (
    HOUR_WEIGHTS,
    day_intensity,
    epoch_day,
    season_multipliers,
)
from recsys.generator.catalog import CATEGORIES, Catalog
from recsys.generator.customers import SEGMENTS, Customers, preference_matrix
from recsys.generator.spec import ShopSpec

#: Random stream of the events (combined with the epoch day).
EVENT_STREAM = 3


#: Column order and types of the events landing file (docs/architecture.md).
EVENT_SCHEMA = pa.schema(
    [
        ("event_id", pa.string()),
        ("customer_id", pa.string()),
        ("session_id", pa.string()),
        ("event_type", pa.string()),
        ("product_id", pa.string()),
        ("event_ts", pa.string()),
        ("price", pa.float64()),
        ("rating", pa.int8()),
    ]
)

#: Star probabilities (1..5) of a rating on a category the customer's segment prefers, and otherwise.
RATING_PROBS_IN_SEGMENT = (0.02, 0.04, 0.12, 0.37, 0.45)
RATING_PROBS_OTHER = (0.10, 0.15, 0.30, 0.28, 0.17)

#: Mean seconds between views, from a view to its cart, from the last cart to checkout.
VIEW_GAP_S, CART_GAP_S, CHECKOUT_GAP_S = 60.0, 20.0, 120.0
LAST_SECOND = 86_399

#: "THH:MM:SSZ" for every second of a day, so timestamps are a lookup, not formatting.
_TIME_SUFFIX = pc.strftime(pa.array(np.arange(86_400), pa.timestamp("s")), format="T%H:%M:%SZ")


@dataclass(frozen=True)
class EventModel:
    """Everything a day's generation reads, precomputed once per shop.

    Products are kept in category order (``order``) with ``bounds`` delimiting each
    category, so one cumulative sum serves every category's draw.
    """

    spec: ShopSpec
    catalog: Catalog
    customers: Customers
    order: np.ndarray
    bounds: np.ndarray
    category_mix: np.ndarray  # (segments + 1, categories); last row = anonymous/shop-wide
    in_segment: np.ndarray  # same shape, True where the segment prefers the category
    cum_activity: np.ndarray
    sessions_per_day: np.ndarray


def expected_events_per_session(spec: ShopSpec) -> float:
    """Mean events per session implied by the behaviour (ignores availability)."""
    b = spec.behaviour
    preferences = preference_matrix()
    shares = np.array([s.share for s in SEGMENTS])
    global_mix = np.array([c.share for c in CATEGORIES])
    in_share = float(shares @ (b.in_segment_share + (1 - b.in_segment_share) * (preferences > 0) @ global_mix))
    cart = in_share * b.cart_in_segment + (1 - in_share) * b.cart_out_segment
    replenish = b.staple_share * b.replenish_share
    carts = b.mean_views * cart + replenish * (b.cart_staple - cart)
    purchases = b.mean_views * cart * b.purchase + replenish * (b.cart_staple * b.purchase_staple - cart * b.purchase)
    known = b.mean_views + carts + purchases * (1 + b.rating)
    return (1 - b.anonymous_session_share) * known + b.anonymous_session_share * b.mean_views


def event_model(spec: ShopSpec, catalog: Catalog, customers: Customers) -> EventModel:
    """Precompute the per-shop arrays of :func:`day_events`."""
    order = np.argsort(catalog.category, kind="stable")
    bounds = np.searchsorted(catalog.category[order], np.arange(len(CATEGORIES) + 1))
    preferences = preference_matrix()
    global_mix = np.array([c.share for c in CATEGORIES])
    share = spec.behaviour.in_segment_share
    mix = np.vstack([share * preferences + (1 - share) * global_mix, global_mix])
    in_segment = np.vstack([preferences > 0, np.zeros(len(CATEGORIES), dtype=bool)])
    intensity = day_intensity(spec)
    sessions = spec.n_events / expected_events_per_session(spec) * intensity / intensity.sum()
    return EventModel(
        spec=spec,
        catalog=catalog,
        customers=customers,
        order=order,
        bounds=bounds,
        category_mix=mix,
        in_segment=in_segment,
        cum_activity=np.cumsum(customers.activity),
        sessions_per_day=sessions,
    )


def continued_model(model: EventModel, end: dt.date) -> EventModel:
    """The same shop going on after its window up to ``end``: the days of the window keep
    their volume, later days follow the same weekly rhythm, months and trend."""
    longer = day_intensity(model.spec, end)
    scale = model.sessions_per_day[0] / longer[0]
    spec = dataclasses.replace(model.spec, end=max(end, model.spec.end))
    return dataclasses.replace(model, spec=spec, sessions_per_day=longer * scale)


@dataclass(frozen=True)
class _Sessions:
    start_s: np.ndarray  # second of the day, sorted
    customer: np.ndarray  # position in Customers, -1 when anonymous
    segment: np.ndarray  # row of EventModel.category_mix
    replenish: np.ndarray  # opens on the customer's staple product


def _sessions(model: EventModel, day: int, rng: np.random.Generator) -> _Sessions:
    """The day's sessions: who (customers who have signed up, by activity) and when."""
    b = model.spec.behaviour
    n = int(rng.poisson(model.sessions_per_day[day - epoch_day(model.spec.start)]))
    hours = rng.choice(24, n, p=HOUR_WEIGHTS / HOUR_WEIGHTS.sum())
    start_s = np.sort(hours * 3600 + rng.integers(0, 3600, n))
    signed_up = int(np.searchsorted(model.customers.signup_day, day, side="right"))
    anonymous = (rng.random(n) < b.anonymous_session_share) | (signed_up == 0)
    reach = model.cum_activity[signed_up - 1] if signed_up else 0.0
    drawn = np.minimum(np.searchsorted(model.cum_activity, rng.random(n) * reach, side="right"), max(signed_up - 1, 0))
    customer = np.where(anonymous, -1, drawn)
    segment = np.where(anonymous, len(SEGMENTS), model.customers.segment[np.maximum(customer, 0)])
    has_staple = model.customers.staple[np.maximum(customer, 0)] >= 0
    replenish = ~anonymous & has_staple & (rng.random(n) < b.replenish_share)
    return _Sessions(start_s=start_s, customer=customer, segment=segment, replenish=replenish)


def _product_weights(model: EventModel, day: dt.date) -> np.ndarray:
    """Demand weight of every product on ``day`` in category order; 0 = not on sale.

    Zipf popularity x season multiplier x novelty boost, for products created before
    ``day`` and not yet retired.
    """
    b = model.spec.behaviour
    catalog, order, today = model.catalog, model.order, epoch_day(day)
    age = today - catalog.created_day[order]
    on_sale = (age > 0) & (catalog.retired_day[order] > today)
    novelty = 1.0 + b.novelty_boost * np.exp(-np.maximum(age, 0) / b.novelty_days)
    season = season_multipliers(day)[catalog.season[order]]
    return catalog.popularity[order] * season * novelty * on_sale


def _draw_rows(cumulative: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One categorical draw per row of a row-wise cumulative probability matrix."""
    hits = (rng.random(len(cumulative))[:, None] > cumulative).sum(axis=1)
    return np.minimum(hits, cumulative.shape[1] - 1)


def _draw_products(
    model: EventModel, cumulative: np.ndarray, category: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """A product of each ``category`` in proportion to its weight (catalogue positions).

    ``cumulative`` is the running sum of the day's weights in category order.  The target
    stays strictly below the category's total, so the first index past it is always a
    product with positive weight inside the category.
    """
    edges = np.concatenate([[0.0], cumulative])[model.bounds]
    low, high = edges[:-1][category], edges[1:][category]
    target = np.minimum(low + rng.random(len(category)) * (high - low), np.nextafter(high, -np.inf))
    return model.order[np.searchsorted(cumulative, target, side="right")]


@dataclass(frozen=True)
class _Views:
    session: np.ndarray
    product: np.ndarray
    staple: np.ndarray  # the replenishment view of the customer's staple product
    time_s: np.ndarray
    first: np.ndarray  # index of each session's first view


def _views(model: EventModel, day: dt.date, sessions: _Sessions, rng: np.random.Generator) -> _Views:
    """Viewed products: a session category from the segment mix, mostly kept for the session."""
    b = model.spec.behaviour
    n = len(sessions.start_s)
    n_views = 1 + rng.poisson(b.mean_views - 1, n)
    session = np.repeat(np.arange(n), n_views)
    first = np.cumsum(n_views) - n_views
    cumulative = np.cumsum(_product_weights(model, day))
    available = np.diff(np.concatenate([[0.0], cumulative])[model.bounds]) > 0
    mix = model.category_mix * available
    category_cumulative = np.cumsum(mix / mix.sum(axis=1, keepdims=True), axis=1)
    primary = _draw_rows(category_cumulative[sessions.segment], rng)
    fresh = _draw_rows(category_cumulative[sessions.segment[session]], rng)
    category = np.where(rng.random(len(session)) < b.session_focus, primary[session], fresh)
    product = _draw_products(model, cumulative, category, rng)
    staple = np.zeros(len(session), dtype=bool)
    staple[first[sessions.replenish]] = True
    product[staple] = model.customers.staple[sessions.customer[sessions.replenish]]
    gaps = 5.0 + rng.exponential(VIEW_GAP_S, len(session))
    elapsed = np.cumsum(gaps)
    time_s = sessions.start_s[session] + elapsed - (elapsed - gaps)[first][session]
    return _Views(session=session, product=product, staple=staple, time_s=time_s, first=first)


@dataclass(frozen=True)
class _Funnel:
    carted: np.ndarray
    purchased: np.ndarray
    rated: np.ndarray
    stars: np.ndarray
    cart_s: np.ndarray
    purchase_s: np.ndarray
    rating_s: np.ndarray


def _funnel(model: EventModel, sessions: _Sessions, views: _Views, rng: np.random.Generator) -> _Funnel:
    """Which views are carted, bought and rated, and when (anonymous sessions only view)."""
    b = model.spec.behaviour
    segment = sessions.segment[views.session]
    in_segment = model.in_segment[segment, model.catalog.category[views.product]]
    known = sessions.customer[views.session] >= 0
    p_cart = np.where(views.staple, b.cart_staple, np.where(in_segment, b.cart_in_segment, b.cart_out_segment))
    carted = known & (rng.random(len(p_cart)) < p_cart)
    purchased = carted & (rng.random(len(p_cart)) < np.where(views.staple, b.purchase_staple, b.purchase))
    rated = purchased & (rng.random(len(p_cart)) < b.rating)
    star_cumulative = np.cumsum([RATING_PROBS_OTHER, RATING_PROBS_IN_SEGMENT], axis=1)[in_segment.astype(int)]
    stars = 1 + _draw_rows(star_cumulative, rng)
    cart_s = views.time_s + 5.0 + rng.exponential(CART_GAP_S, len(p_cart))
    last_step = np.maximum.reduceat(np.where(carted, cart_s, views.time_s), views.first)
    checkout = last_step + 30.0 + rng.exponential(CHECKOUT_GAP_S, len(views.first))
    purchase_s = checkout[views.session]
    rating_s = purchase_s + rng.uniform(600.0, 6 * 3600.0, len(p_cart))
    return _Funnel(
        carted=carted,
        purchased=purchased,
        rated=rated,
        stars=stars,
        cart_s=cart_s,
        purchase_s=purchase_s,
        rating_s=rating_s,
    )


def _ids(prefix: str, numbers: np.ndarray) -> pa.Array:
    """``prefix`` + 1-based numbers padded to six digits."""
    padded = pc.utf8_lpad(pa.array(numbers + 1).cast(pa.string()), 6, "0")
    return pc.binary_join_element_wise(prefix, padded, "")


def _event_table(model: EventModel, day: dt.date, sessions: _Sessions, views: _Views, funnel: _Funnel) -> pa.Table:
    """Rows of the events file, ordered by time, then session, then funnel step."""
    picked = [
        np.arange(len(views.session)),
        *(np.flatnonzero(m) for m in (funnel.carted, funnel.purchased, funnel.rated)),
    ]
    seconds = (views.time_s, funnel.cart_s, funnel.purchase_s, funnel.rating_s)
    view = np.concatenate(picked)
    kind = np.concatenate([np.full(len(p), k, dtype=np.int8) for k, p in enumerate(picked)])
    time_s = np.minimum(np.concatenate([s[p] for s, p in zip(seconds, picked)]).astype(np.int64), LAST_SECOND)
    session = views.session[view]
    order = np.lexsort((view, kind, session, time_s))
    view, kind, time_s, session = view[order], kind[order], time_s[order], session[order]
    product = views.product[view]
    customer = sessions.customer[session]
    stamp = f"{day:%Y%m%d}-"
    return pa.table(
        {
            "event_id": _ids("E" + stamp, np.arange(len(view))),
            "customer_id": model.customers.customer_id.take(pa.array(customer, mask=customer < 0)),
            "session_id": _ids("S" + stamp, session),
            "event_type": pa.array(EVENT_TYPES).take(pa.array(kind)),
            "product_id": model.catalog.product_id.take(pa.array(product)),
            "event_ts": pc.binary_join_element_wise(day.isoformat(), _TIME_SUFFIX.take(pa.array(time_s)), ""),
            "price": model.catalog.price[product],
            "rating": pa.array(funnel.stars[view], mask=kind != EVENT_TYPES.index("rating"), type=pa.int8()),
        },
        schema=EVENT_SCHEMA,
    )


def day_events(model: EventModel, day: dt.date) -> pa.Table:
    """All events of ``day`` as a table in :data:`EVENT_SCHEMA`.

    Deterministic in ``(spec.seed, day)`` alone, which is what lets the writer stream
    any number of days in constant memory without changing a byte of the output.
    """
    if not model.spec.start <= day <= model.spec.end:
        raise ValueError(f"{day} is outside the shop window {model.spec.start}..{model.spec.end}")
    rng = np.random.default_rng([model.spec.seed, EVENT_STREAM, epoch_day(day)])
    sessions = _sessions(model, epoch_day(day), rng)
    if len(sessions.start_s) == 0:
        return EVENT_SCHEMA.empty_table()
    views = _views(model, day, sessions, rng)
    funnel = _funnel(model, sessions, views, rng)
    return _event_table(model, day, sessions, views, funnel)
