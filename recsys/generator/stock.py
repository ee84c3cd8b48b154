"""Stock that moves over the daily files: sell-outs, products running low, restocks.

The history file gives each product its stock as generated (``catalog.stock_level``: 7 %
out of stock).  Each daily date then changes a few products, from a random stream of
its own keyed by the day (so the events and every other file are untouched):
``SELL_OUT_RATE`` of the products on sale and in stock sell out, ``RUN_LOW_RATE`` drop to
1-3 units, and ``RESTOCK_RATE`` of those out of stock are restocked (geometric, mean 60).
The daily products file of the day carries the changed products' rows (latest row wins),
which is what gives the warehouse its stock alerts and back-in-stock audiences.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import numpy as np

from recsys.generator.calendar import epoch_day
from recsys.generator.catalog import Catalog
from recsys.generator.spec import ShopSpec

#: Random stream of the stock movements (combined with the epoch day).
STOCK_STREAM = 4
SELL_OUT_RATE = 0.02
RUN_LOW_RATE = 0.02
RESTOCK_RATE = 0.25
MEAN_RESTOCK = 60


def stock_movements(
    catalog: Catalog, spec: ShopSpec, days: list[dt.date]
) -> Iterator[tuple[dt.date, np.ndarray, np.ndarray]]:
    """``(day, changed product rows, every product's stock that day)`` for each daily date."""
    level = catalog.stock_level.astype(np.int64).copy()
    for day in days:
        today = epoch_day(day)
        rng = np.random.default_rng([spec.seed, STOCK_STREAM, today])
        on_sale = (catalog.created_day <= today) & (catalog.retired_day > today)
        draw = rng.random(len(level))
        in_stock, before = level > 0, level.copy()
        sell_out = on_sale & in_stock & (draw < SELL_OUT_RATE)
        run_low = on_sale & in_stock & (draw >= SELL_OUT_RATE) & (draw < SELL_OUT_RATE + RUN_LOW_RATE)
        restock = on_sale & ~in_stock & (draw < RESTOCK_RATE)
        level[sell_out] = 0
        level[run_low] = rng.integers(1, 4, int(run_low.sum()))
        level[restock] = rng.geometric(1 / MEAN_RESTOCK, int(restock.sum()))
        yield day, np.flatnonzero(level != before), level.copy()
