"""Produce the next items of a stream on a worker thread while the caller uses this one.

Both ends of the platform's bulk paths are pipelines of C code that releases the GIL
(Arrow parsing a CSV block, the numba COPY encoder, the server sending a cursor's rows)
feeding a socket or a file: producing item n + 1 while item n is consumed keeps two cores
busy, and a bound on how far ahead the worker runs keeps memory flat.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Generator, Iterable
from typing import TypeVar

T = TypeVar("T")
_DONE = object()
_POLL_SECONDS = 0.1


def read_ahead(items: Iterable[T], depth: int = 1, *, name: str = "read-ahead") -> Generator[T, None, None]:
    """``items`` in order, produced on a worker thread at most ``depth`` items ahead.

    The whole of ``items`` runs on the one worker thread (a server-side cursor or a file
    is used from a single thread).  An exception raised while producing is raised to the
    caller where that item was due.  Closing the returned generator (or abandoning it)
    stops the worker and closes ``items`` if it can be closed.
    """
    if depth < 1:
        raise ValueError(f"depth must be at least 1, got {depth}")
    ready: queue.SimpleQueue = queue.SimpleQueue()
    room = threading.Semaphore(depth)
    stop = threading.Event()

    def wait_for_room() -> bool:
        while not stop.is_set():
            if room.acquire(timeout=_POLL_SECONDS):
                return True
        return False

    def produce() -> None:
        iterator = iter(items)
        try:
            while wait_for_room():
                item = next(iterator, _DONE)
                ready.put((item, None))
                if item is _DONE:
                    return
        except BaseException as exc:  # handed to the consumer, which raises it
            ready.put((_DONE, exc))
        finally:
            close = getattr(iterator, "close", None)
            if close is not None:
                close()

    worker = threading.Thread(target=produce, name=name, daemon=True)
    worker.start()
    try:
        while True:
            item, error = ready.get()
            if error is not None:
                raise error
            if item is _DONE:
                return
            room.release()
            yield item
    finally:
        stop.set()
        worker.join()
