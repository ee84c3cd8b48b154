"""One module per validated table: ``TABLE`` (the default table) and
``build(conn, request) -> tuple[BatchChecks, ...]``."""

from __future__ import annotations

import importlib
from types import ModuleType

#: Suite name -> module under ``recsys_expectations.suites``.
SUITES = (
    "raw_events",
    "raw_order_lines",
    "raw_products",
    "raw_customers",
    "raw_suppressions",
    "raw_braze_events",
    "raw_klaviyo_events",
    "marts_fct_events",
    "marts_fct_interactions_daily",
    "marts_dim_customers",
    "marts_dim_products",
    "model_inputs",
    "recommendations",
)

#: The gates of the pipeline and the suites each runs.
STAGES = {
    "raw": tuple(s for s in SUITES if s.startswith("raw_")),
    "marts": ("marts_dim_customers", "marts_dim_products", "marts_fct_events", "marts_fct_interactions_daily"),
    "model_inputs": ("model_inputs",),
    "recommendations": ("recommendations",),
}


def suite_module(name: str) -> ModuleType:
    """The module of suite ``name``; an unknown name lists the known ones."""
    if name not in SUITES:
        raise ValueError(f"unknown suite {name!r}; known suites: {', '.join(SUITES)} (stages: {', '.join(STAGES)})")
    return importlib.import_module(f".{name}", __name__)
