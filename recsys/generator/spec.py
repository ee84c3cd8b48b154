"""What the shop generator is asked to build: sizes, dates, seed and behaviour knobs.

Kept apart from the generating code so that tests, the CLI and the docs can name the
planted parameters (``Behaviour``) without importing numpy-heavy modules, and so a model
test can tighten or loosen one knob (say the in-segment share) and see its effect.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import typing
from dataclasses import dataclass, field
from typing import Literal

#: Default window: two full calendar years, so every season appears twice and outputs
#: never depend on today's date.
DEFAULT_START = dt.date(2022, 1, 1)
DEFAULT_END = dt.date(2023, 12, 31)


@dataclass(frozen=True)
class Behaviour:
    """Planted behavioural parameters (documented in ``docs/generator.md``).

    Attributes
    ----------
    in_segment_share : float
        Probability that a category draw uses the customer's segment preferences rather
        than the shop-wide category mix.
    session_focus : float
        Probability that a view stays in the session's first category.
    mean_views : float
        Mean views per session (1 + Poisson).
    cart_in_segment, cart_out_segment : float
        Probability that a viewed item is carted, for a category the customer's segment
        prefers and for any other category.
    purchase : float
        Probability that a carted item is bought in the same session.
    staple_share : float
        Share of customers with a staple: one consumable product they keep buying.
    replenish_share : float
        Share of the sessions of a customer with a staple that open on that staple: the
        source of repeat purchases.
    cart_staple, purchase_staple : float
        Funnel rates of that staple view.
    rating : float
        Probability that a purchase is followed by a 1-5 rating the same day.
    anonymous_session_share : float
        Share of sessions without a customer id; they only view.
    zipf_exponent : float
        Popularity of the item of rank r inside its category is ``r ** -zipf_exponent``.
    novelty_boost, novelty_days : float
        A product's demand is multiplied by ``1 + novelty_boost * exp(-age / novelty_days)``
        after it is created (trending new items).
    growth : float
        Session volume on the last day over the first day (exponential trend).
    activity_sigma : float
        Sigma of the log-normal activity weight of a customer (heavy users).
    """

    in_segment_share: float = 0.75
    session_focus: float = 0.8
    mean_views: float = 4.0
    cart_in_segment: float = 0.095
    cart_out_segment: float = 0.045
    purchase: float = 0.30
    staple_share: float = 0.3
    replenish_share: float = 0.15
    cart_staple: float = 0.6
    purchase_staple: float = 0.8
    rating: float = 0.25
    anonymous_session_share: float = 0.012
    zipf_exponent: float = 0.9
    novelty_boost: float = 2.0
    novelty_days: float = 30.0
    growth: float = 2.0
    activity_sigma: float = 1.0

    def __post_init__(self) -> None:
        probabilities = (
            "in_segment_share",
            "session_focus",
            "cart_in_segment",
            "cart_out_segment",
            "purchase",
            "staple_share",
            "replenish_share",
            "cart_staple",
            "purchase_staple",
            "rating",
            "anonymous_session_share",
        )
        for name in probabilities:
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"Behaviour.{name}={value} is a probability: use a value in [0, 1]")
        if self.mean_views < 1.0:
            raise ValueError(f"Behaviour.mean_views={self.mean_views}: a session has at least one view")
        if self.growth <= 0.0:
            raise ValueError(f"Behaviour.growth={self.growth}: use a positive ratio (1.0 = flat)")


@dataclass(frozen=True)
class ShopSpec:
    """Size, window and seed of a generated shop.

    Attributes
    ----------
    n_customers, n_products : int
        Catalogue and customer base at the end of the window (some exist before it).
    n_events : int
        Target number of events; the generated count is within a few percent of it
        because daily session counts are Poisson draws.
    start, end : date
        First and last day with events (inclusive).
    seed : int
        Every random draw derives from it: same spec, same bytes.
    behaviour : Behaviour
        The planted behavioural parameters.
    """

    n_customers: int
    n_products: int
    n_events: int
    start: dt.date = DEFAULT_START
    end: dt.date = DEFAULT_END
    seed: int = 42
    behaviour: Behaviour = field(default_factory=Behaviour)

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ValueError(f"ShopSpec end {self.end} is before start {self.start}")
        if self.n_customers < 10:
            raise ValueError(f"ShopSpec n_customers={self.n_customers}: use at least 10 customers")
        if self.n_products < 50:
            raise ValueError(f"ShopSpec n_products={self.n_products}: use at least 50 products (4 per category)")
        if self.n_events < 1:
            raise ValueError(f"ShopSpec n_events={self.n_events}: ask for at least one event")
        if self.seed < 0:
            raise ValueError(f"ShopSpec seed={self.seed}: use a non-negative integer")

    @property
    def n_days(self) -> int:
        return (self.end - self.start).days + 1


#: Named sizes; ``tiny`` is for tests (seconds), ``large`` for benchmarks.
PresetName = Literal["tiny", "small", "medium", "large"]
PRESETS: dict[str, ShopSpec] = {
    "tiny": ShopSpec(n_customers=1_500, n_products=300, n_events=50_000),
    "small": ShopSpec(n_customers=5_000, n_products=1_000, n_events=100_000),
    "medium": ShopSpec(n_customers=100_000, n_products=10_000, n_events=1_000_000),
    "large": ShopSpec(n_customers=1_000_000, n_products=50_000, n_events=10_000_000),
}


assert tuple(PRESETS) == typing.get_args(PresetName), "PresetName lists the presets"


def shop_spec(size: str = "small", **overrides) -> ShopSpec:
    """The preset ``size`` with some fields replaced (``seed=7``, ``end=date(...)``).

    Overrides of ``None`` are ignored, so a CLI can pass its optional options through.
    """
    if size not in PRESETS:
        raise ValueError(f"unknown size {size!r}: choose one of {', '.join(PRESETS)}")
    changes = {name: value for name, value in overrides.items() if value is not None}
    return dataclasses.replace(PRESETS[size], **changes)
