"""Time named calls inside a real pipeline stage without changing its code.

A stage such as ``publish_for_date`` does planning, scoring, COPY and the output check in
one call; the benchmark reports them apart by wrapping the module attributes those steps
are looked up through (``recommend.score_plan``...) for the duration of the stage.
"""

from __future__ import annotations

import contextlib
import functools
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any


@dataclass
class CallTimes:
    """Accumulated seconds and call counts per probe name, plus what ``on_call`` noted."""

    seconds: dict[str, float] = field(default_factory=dict)
    calls: dict[str, int] = field(default_factory=dict)
    notes: dict[str, Any] = field(default_factory=dict)

    def add(self, name: str, seconds: float) -> None:
        self.seconds[name] = self.seconds.get(name, 0.0) + seconds
        self.calls[name] = self.calls.get(name, 0) + 1

    def get(self, name: str) -> float:
        return self.seconds.get(name, 0.0)


def timed(fn: Callable, name: str, times: CallTimes, on_call: Callable | None = None) -> Callable:
    """``fn`` that adds its seconds to ``times`` under ``name`` (``on_call`` runs first)."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        if on_call is not None:
            on_call(times, *args, **kwargs)
        started = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            times.add(name, time.perf_counter() - started)

    return wrapper


@contextlib.contextmanager
def probes(targets: dict[str, tuple[Any, str]], on_call: dict[str, Callable] | None = None) -> Iterator[CallTimes]:
    """Wrap ``getattr(owner, attribute)`` for each ``name: (owner, attribute)`` while inside.

    ``on_call[name](times, *args, **kwargs)`` runs before each call (to note a size).
    The original attributes come back on exit, even after an error.
    """
    times = CallTimes()
    on_call = on_call or {}
    originals = []
    try:
        for name, (owner, attribute) in targets.items():
            original = getattr(owner, attribute)
            originals.append((owner, attribute, original))
            setattr(owner, attribute, timed(original, name, times, on_call.get(name)))
        yield times
    finally:
        for owner, attribute, original in reversed(originals):
            setattr(owner, attribute, original)
