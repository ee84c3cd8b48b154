"""Produce the next item of a stream on another thread while the caller uses this one.

Both ends of the platform's bulk paths are pipelines of C code that releases the GIL
(Arrow parsing a CSV block, the numba COPY encoder) feeding a socket: producing item
n + 1 while item n is sent keeps two cores busy without a queue that could grow.
"""

from __future__ import annotations

from concurrent.futures import Executor
from typing import Iterable, Iterator, TypeVar

T = TypeVar("T")
_DONE = object()


def one_ahead(items: Iterable[T], executor: Executor) -> Iterator[T]:
    """``items`` in order, each next one produced on ``executor`` while the caller holds
    the current one; an error while producing is raised where that item was due."""
    iterator = iter(items)
    pending = executor.submit(next, iterator, _DONE)
    while (item := pending.result()) is not _DONE:
        pending = executor.submit(next, iterator, _DONE)
        yield item
