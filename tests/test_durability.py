"""A commit that was reported survives a crash of the server.

The test runs its own embedded PostgreSQL (the shared test server stays up for the other
modules), loads files, stops the server at once (``pg_ctl stop -m immediate``: no
shutdown checkpoint, as in a power cut or an OOM kill) right after each load returned,
restarts it and finds every reported batch with all its rows.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from recsys.ingest import loading
from recsys.platform import embedded, warehouse
from recsys.platform.settings import Settings

pytestmark = pytest.mark.integration
DAY = dt.date(2011, 12, 1)


@pytest.fixture(scope="module")
def private_settings():
    # Not under pytest's temporary root: as root, the server runs as the ``pgserver`` user,
    # and every pytest session that starts on the machine makes that root 0700 again, which
    # takes the running server's data folder away from it (PANIC on pg_control).
    home = Path(tempfile.mkdtemp(prefix="recsys-durability-"))
    settings = Settings(home=home)
    yield settings
    embedded.stop_embedded(settings)
    shutil.rmtree(home, ignore_errors=True)


def _crash(settings: Settings) -> None:
    """Stop the server the way a crash does: no checkpoint, no flush of dirty buffers."""
    user = "pgserver" if os.geteuid() == 0 else None
    embedded._pgserver().pg_ctl(["-w", "stop", "-m", "immediate"], pgdata=settings.embedded_dir / "pgdata", user=user)


def _events(path, first: int, n: int) -> None:
    rows = [f"e{i},c{i % 7},s{i},view,p{i % 11},2011-12-01T10:00:00Z,1.5," for i in range(first, first + n)]
    path.write_text(
        "event_id,customer_id,session_id,event_type,product_id,event_ts,price,rating\n" + "\n".join(rows) + "\n"
    )


def test_batches_reported_as_loaded_survive_an_immediate_stop(private_settings, tmp_path):
    url = warehouse.warehouse_url(private_settings)
    warehouse.ensure_schemas(url)
    reported = []
    for attempt in range(3):
        path = tmp_path / f"events_{attempt}.csv"
        _events(path, attempt * 1000, 1000)
        result = loading.load_file(url, "events", path, DAY)
        reported.append((result.batch_id, result.rows_loaded))
        _crash(private_settings)
        url = warehouse.warehouse_url(private_settings)  # restarts the server (crash recovery)
    with warehouse.connect(url) as conn:
        stored = conn.execute(
            "select b.batch_id, count(e.*) from raw.load_batches b left join raw.events e on e._batch_id = b.batch_id"
            " where b.status = 'succeeded' group by b.batch_id order by b.batch_id"
        ).fetchall()
    assert stored == reported == [(b, 1000) for b, _ in reported]


def test_a_start_that_outlasts_pgservers_timeout_waits_for_recovery(private_settings, monkeypatch):
    """After an unclean stop, recovery on a busy machine can take longer than the 10 s pgserver
    gives ``pg_ctl start``; the postmaster goes on starting, and the platform waits for it."""
    from pgserver import postgres_server

    url = warehouse.warehouse_url(private_settings)
    _crash(private_settings)
    real_pg_ctl = postgres_server.pg_ctl

    def impatient_pg_ctl(args, **kwargs):
        if "start" in args:
            args = [a for a in args if a != "-w"]  # launch, then give up at once, as a timeout does
            real_pg_ctl(args, **kwargs)
            raise subprocess.TimeoutExpired(args, kwargs.get("timeout", 10))
        return real_pg_ctl(args, **kwargs)

    monkeypatch.setattr(postgres_server, "pg_ctl", impatient_pg_ctl)
    url = warehouse.warehouse_url(private_settings)
    with warehouse.connect(url) as conn:
        assert conn.execute("select count(*) from raw.load_batches").fetchone()[0] >= 0
