"""A tiny data set with known structure, for tests of the learning code.

Users live in four countries; each country prefers one product category (80% of its
purchases).  Within a category items follow a Zipf popularity.  In the last
``season_days`` a "seasonal" third of every category takes half of that category's
purchases (the season the trending baseline and the popularity prior can see coming).
A third of the users are cold (one or two interactions).  Some purchases carry a star
rating that is high in the preferred category and low elsewhere.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from recsys.training.frames import Frames, normalise_entities, normalise_interactions

COUNTRIES = ("DE", "FR", "NL", "UK")
CATEGORIES = ("garden", "kitchen", "toys", "books")
PREFERRED = dict(zip(COUNTRIES, CATEGORIES))
START = pd.Timestamp("2024-01-01")
#: Every model a training run evaluates (the served blend first).
EVALUATED_MODELS = (
    "blend",
    "lightfm_hybrid",
    "lightfm_cf",
    "popularity",
    "popularity_segment",
    "item_cosine",
    "als",
    "ease",
    "rp3beta",
    "recent_popularity",
)


def planted_frames(
    n_users: int = 500,
    items_per_category: int = 40,
    days: int = 180,
    season_days: int = 30,
    mean_interactions: float = 10.0,
    seed: int = 0,
) -> Frames:
    """Interactions, items and users with the planted segment and season structure."""
    rng = np.random.default_rng(seed)
    items = _items(items_per_category)
    users = pd.DataFrame({"user_id": [f"u{i:04d}" for i in range(n_users)], "country": rng.choice(COUNTRIES, n_users)})
    by_category = {c: items[items["category"] == c] for c in CATEGORIES}
    season_start = START + pd.Timedelta(days=days - season_days)
    rows = []
    for user, country in users.itertuples(index=False):
        cold = rng.random() < 1 / 3
        count = int(rng.integers(1, 3)) if cold else max(3, int(rng.poisson(mean_interactions)))
        for _ in range(count):
            ts = START + pd.Timedelta(days=float(rng.uniform(0, days)))
            category = PREFERRED[country] if rng.random() < 0.8 else rng.choice(CATEGORIES)
            pool = by_category[category]
            if ts >= season_start and rng.random() < 0.5:
                pool = pool[pool["seasonal"]]
            weights = 1.0 / np.arange(1, len(pool) + 1)
            item = pool["item_id"].to_numpy()[rng.choice(len(pool), p=weights / weights.sum())]
            liked = category == PREFERRED[country]
            rating = (rng.integers(4, 6) if liked else rng.integers(1, 3)) if rng.random() < 0.3 else np.nan
            rows.append((user, item, ts, 1.0, rating))
    interactions = pd.DataFrame(rows, columns=["user_id", "item_id", "timestamp", "weight", "rating"])
    return Frames(
        normalise_interactions(interactions),
        normalise_entities(items.drop(columns="seasonal"), "item_id"),
        normalise_entities(users, "user_id"),
    )


def _items(per_category: int) -> pd.DataFrame:
    rows = []
    for category in CATEGORIES:
        for i in range(per_category):
            seasonal = i % 3 == 2
            rows.append(
                {
                    "item_id": f"{category[:2]}{i:03d}",
                    "category": category,
                    "brand": f"{category}-brand-{i % 4}",
                    "price": float(5 + (i * 7) % 40),
                    "title": f"{category} item {'festive ' if seasonal else ''}model {i % 5}",
                    "seasonal": seasonal,
                }
            )
    return pd.DataFrame(rows)
