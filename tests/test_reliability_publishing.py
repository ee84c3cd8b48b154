"""Publishing under readers and under kill -9: no deadlock, short waits, never a mixed or lost run.

A BI connection runs long queries and multi-view transactions while the platform
publishes five times; loads and publishes are killed with SIGKILL at several points and
the warehouse is checked afterwards.  These are the fault-injection rows of
docs/reliability.md.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time

import psycopg
import pytest
from test_publish import POPULAR, SIMILAR, recs_rows

from recsys.ingest import landing
from recsys.platform import warehouse
from recsys.publishing import runs

pytestmark = [pytest.mark.integration, pytest.mark.slow]
DAY = dt.date(2011, 11, 28)


def _publish(url: str, n_customers: int, offset: int = 0) -> runs.RunInfo:
    return runs.publish(
        url,
        recs_rows(n_customers, offset=offset),
        SIMILAR,
        POPULAR,
        context_date=DAY,
        model_version="m1",
        k=5,
        keep_runs=2,
    )


class Readers:
    """BI-like readers on their own connections, each recording what it saw and how long it waited."""

    def __init__(self, url: str):
        self.url, self.stop = url, threading.Event()
        self.latencies: list[float] = []
        self.mixed: list[tuple] = []
        self.errors: list[BaseException] = []
        self.transactions = 0

    def quick(self) -> None:
        with psycopg.connect(self.url, autocommit=True) as conn:
            while not self.stop.is_set():
                started = time.perf_counter()
                conn.execute("select run_id, count(*) from recs.user_recommendations group by run_id").fetchall()
                self.latencies.append(time.perf_counter() - started)
                time.sleep(0.01)

    def long(self) -> None:
        with psycopg.connect(self.url, autocommit=True) as conn:
            while not self.stop.is_set():
                conn.execute("select pg_sleep(1.5), count(*) from recs.popular_items").fetchall()

    def multi_view(self) -> None:
        """popular_items, then (after a pause) user_recommendations, in one transaction."""
        with psycopg.connect(self.url) as conn:
            while not self.stop.is_set():
                with conn.transaction():
                    (popular,) = warehouse.one_row(conn.execute("select distinct run_id from recs.popular_items"))
                    time.sleep(0.3)
                    seen = [r for (r,) in conn.execute("select distinct run_id from recs.user_recommendations")]
                    similar = [r for (r,) in conn.execute("select distinct run_id from recs.similar_items")]
                if seen != [popular] or similar != [popular]:
                    self.mixed.append((popular, seen, similar))
                self.transactions += 1

    def run(self, work) -> None:
        def guarded(target):
            def body():
                try:
                    target()
                except BaseException as exc:  # surfaced to the test: a deadlock would land here
                    self.errors.append(exc)

            return body

        threads = [threading.Thread(target=guarded(t)) for t in (self.quick, self.quick, self.long, self.multi_view)]
        for thread in threads:
            thread.start()
        try:
            work()
        finally:
            self.stop.set()
            for thread in threads:
                thread.join()


def test_five_publishes_under_bi_readers_never_deadlock_or_mix_runs(warehouse_db):
    _publish(warehouse_db, 200)
    readers = Readers(warehouse_db)
    published = []
    readers.run(lambda: published.extend(_publish(warehouse_db, 200, offset=i).run_id for i in range(1, 6)))

    assert len(published) == 5 and readers.errors == [], readers.errors
    assert readers.mixed == [] and readers.transactions >= 5
    assert max(readers.latencies) < 1.0, f"a reader waited {max(readers.latencies):.2f} s"
    with warehouse.connect(warehouse_db) as conn:
        (current,) = conn.execute("select run_id from recs.runs where status = 'current'").fetchone()
    assert current == published[-1]


def test_a_long_bi_query_delays_other_readers_by_the_lock_timeout_only(warehouse_db):
    _publish(warehouse_db, 50)
    holding = threading.Event()

    def long_read() -> None:
        with psycopg.connect(warehouse_db, autocommit=True) as conn:
            holding.set()
            conn.execute("select pg_sleep(4), count(*) from recs.popular_items").fetchall()

    latencies = []
    reader = threading.Thread(target=long_read)
    reader.start()
    holding.wait()
    time.sleep(0.2)
    publisher = threading.Thread(target=_publish, args=(warehouse_db, 50, 7))
    publisher.start()
    with psycopg.connect(warehouse_db, autocommit=True) as conn:
        while publisher.is_alive():
            started = time.perf_counter()
            conn.execute("select count(*) from recs.user_recommendations").fetchone()
            latencies.append(time.perf_counter() - started)
            time.sleep(0.02)
    reader.join()
    publisher.join()
    assert len(latencies) > 20, "the publish waited for the long query"
    assert max(latencies) < 1.0, f"a reader waited {max(latencies):.2f} s behind the swap"


PUBLISH_SCRIPT = textwrap.dedent("""
    import datetime as dt, sys, time
    sys.path.insert(0, {tests!r})
    from test_publish import POPULAR, SIMILAR, recs_rows
    from recsys.publishing import runs

    day, url = dt.date(2011, 11, 28), {url!r}

    def stalled(rows):  # one block sent, then the COPY stays open
        yield "0", rows
        print("writing", flush=True)
        time.sleep(60)

    def slow_check(table):
        print("checking", flush=True)
        time.sleep(60)

    if {moment!r} == "writing":
        run_id = runs.begin_run(url, day, "m1", 5)
        rows = runs.recommendation_rows(recs_rows(2000, offset=3), "m1", day, runs.get_run(url, run_id).started_at)
        runs.write_blocks(url, run_id, "user_recommendations", stalled(rows))
    else:
        runs.publish(url, recs_rows(2000, offset=3), SIMILAR, POPULAR, context_date=day, model_version="m1", k=5,
                     validate=slow_check)
""")


@pytest.mark.parametrize("moment", ["writing", "checking"])
def test_a_publish_killed_midway_leaves_the_last_good_run_served_and_is_cleaned_next_time(warehouse_db, moment):
    good = _publish(warehouse_db, 100)
    script = PUBLISH_SCRIPT.format(tests=os.path.dirname(__file__), url=warehouse_db, moment=moment)
    child = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert child.stdout is not None and child.stdout.readline().strip() == moment
    child.send_signal(signal.SIGKILL)
    child.wait()

    with warehouse.connect(warehouse_db) as conn:
        served = conn.execute("select distinct run_id from recs.user_recommendations").fetchall()
        building = [r for (r,) in conn.execute("select run_id from recs.runs where status = 'building'")]
    assert served == [(good.run_id,)], "readers still see the last good run"
    assert building, "the killed publish left its run building"

    after = _publish(warehouse_db, 100, offset=1)
    with warehouse.connect(warehouse_db) as conn:
        states = dict(
            conn.execute("select run_id, status from recs.runs where run_id = any(%s)", (building,)).fetchall()
        )
        leftovers = conn.execute(
            "select count(*) from pg_tables where schemaname = 'recs' and tablename like any(%s)",
            ([f"%__{r}" for r in building],),
        ).fetchone()[0]
        served = conn.execute("select distinct run_id from recs.user_recommendations").fetchall()
    assert set(states.values()) == {"purged"} and leftovers == 0, "no building run survives the next publish"
    assert served == [(after.run_id,)]


LOAD_SCRIPT = textwrap.dedent("""
    import datetime as dt
    from recsys.ingest import loading
    print("loading", flush=True)
    loading.load_file({url!r}, "events", {path!r}, dt.date(2011, 11, 30))
""")


@pytest.mark.parametrize("after_seconds", [0.05, 0.3, 0.8, 1.5])
def test_a_load_killed_at_any_point_leaves_nothing_half_loaded_and_the_rerun_loads_once(
    warehouse_db, tmp_path, after_seconds
):
    folder = tmp_path / "landing" / "events"
    folder.mkdir(parents=True)
    path = folder / f"events_kill_{int(after_seconds * 100)}.csv"
    rows = "".join(
        f"k{after_seconds}-{i},c{i % 50},s{i},view,p{i % 40},2011-11-30T10:00:00Z,1.5,\n" for i in range(300_000)
    )
    path.write_text("event_id,customer_id,session_id,event_type,product_id,event_ts,price,rating\n" + rows)
    child = subprocess.Popen(
        [sys.executable, "-c", LOAD_SCRIPT.format(url=warehouse_db, path=str(path))], stdout=subprocess.PIPE, text=True
    )
    assert child.stdout is not None and child.stdout.readline().strip() == "loading"
    time.sleep(after_seconds)
    child.send_signal(signal.SIGKILL)
    child.wait()

    def state():
        with warehouse.connect(warehouse_db) as conn:
            batches = conn.execute(
                "select batch_id, status, rows_loaded from raw.load_batches where file_name = %s", (path.name,)
            ).fetchall()
            rows_in_raw = conn.execute(
                "select count(*) from raw.events where event_id like %s", (f"k{after_seconds}-%",)
            ).fetchone()[0]
        return batches, rows_in_raw

    batches, rows_in_raw = state()
    # killed before the commit: nothing at all; killed after it: the whole file
    assert (batches, rows_in_raw) == ([], 0) or (
        len(batches) == 1 and batches[0][1:] == ("succeeded", 300_000) and rows_in_raw == 300_000
    ), (batches, rows_in_raw)
    results = landing.load_landing(warehouse_db, tmp_path / "landing", DAY + dt.timedelta(days=2))
    again = landing.load_landing(warehouse_db, tmp_path / "landing", DAY + dt.timedelta(days=2))
    batches, rows_in_raw = state()
    assert [b[1:] for b in batches] == [("succeeded", 300_000)] and rows_in_raw == 300_000
    assert all(r.skipped for r in again) and not any(r.failed for r in results)
