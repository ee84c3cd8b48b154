"""recsys.pgio.read_ahead: order, laziness and errors of the one-ahead producer."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from recsys.pgio.read_ahead import one_ahead


def test_items_come_in_order_and_the_producers_error_where_its_item_was_due():
    def produce():
        yield from [0, None, 2, 3, 4]
        raise ValueError("bad chunk")

    got = []
    with ThreadPoolExecutor(1) as executor, pytest.raises(ValueError, match="bad chunk"):
        for item in one_ahead(produce(), executor):
            got.append(item)
    assert got == [0, None, 2, 3, 4]


def test_the_next_item_is_produced_on_the_executor_at_most_one_ahead():
    produced, threads = [], set()

    def produce():
        for i in range(4):
            threads.add(threading.get_ident())
            produced.append(i)
            yield i

    with ThreadPoolExecutor(1) as executor:
        stream = one_ahead(produce(), executor)
        assert next(stream) == 0
        executor.submit(lambda: None).result()  # the read-ahead finished before this ran
        assert produced == [0, 1], "one item ahead, not more"
        assert list(stream) == [1, 2, 3]
    assert threading.get_ident() not in threads, "produced on the executor's thread"
