"""recsys.pgio.read_ahead: order, bound, errors and closing of the read-ahead producer."""

from __future__ import annotations

import threading
import time

import pytest

from recsys.pgio.read_ahead import read_ahead


def test_items_come_in_order_and_the_producers_error_where_its_item_was_due():
    def produce():
        yield from [0, None, 2, 3, 4]
        raise ValueError("bad chunk")

    got = []
    with pytest.raises(ValueError, match="bad chunk"):
        for item in read_ahead(produce()):
            got.append(item)
    assert got == [0, None, 2, 3, 4]
    assert list(read_ahead(iter(range(1000)), depth=3)) == list(range(1000))


@pytest.mark.parametrize("depth", [1, 3])
def test_items_are_produced_on_one_worker_thread_at_most_depth_ahead(depth):
    produced, threads = [], set()

    def produce():
        for i in range(10):
            threads.add(threading.get_ident())
            produced.append(i)
            yield i

    stream = read_ahead(produce(), depth=depth)
    assert next(stream) == 0
    time.sleep(0.3)  # ample time for the worker to run as far ahead as it may
    assert produced == list(range(depth + 1)), f"{depth} item(s) ahead of the one held, not more"
    assert list(stream) == list(range(1, 10))
    assert len(threads) == 1 and threading.get_ident() not in threads, "all produced on one worker thread"


def test_closing_early_stops_the_worker_and_closes_the_source():
    closed = []

    def numbers():
        try:
            yield from range(10**6)
        finally:
            closed.append(threading.get_ident())

    early = read_ahead(numbers(), depth=2)
    assert [next(early) for _ in range(3)] == [0, 1, 2]
    early.close()
    assert len(closed) == 1 and closed[0] != threading.get_ident(), "closed on its own thread"
    assert not [t for t in threading.enumerate() if t.name == "read-ahead"], "the worker has stopped"
