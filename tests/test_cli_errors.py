"""Every expected failure of the CLI is one line naming what is wrong and what to do.

The command runs as users run it (the installed ``recsys`` script, in a subprocess): exit 1,
``error: ...`` on one line, no traceback unless ``--debug``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import psycopg
import pytest

from recsys.platform import warehouse

pytestmark = pytest.mark.integration
RECSYS = str(Path(sys.executable).with_name("recsys"))


def run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("RECSYS_") and k != "WAREHOUSE_URL"}
    return subprocess.run([RECSYS, *args], env=clean | env, capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def empty_db(server_url):
    """A database nobody initialised."""
    name = f"test_cli_errors_{uuid.uuid4().hex[:8]}"
    warehouse.ensure_database(server_url, name)
    yield warehouse.with_database(server_url, name)
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f'drop database if exists "{name}" with (force)')


def test_failures_are_one_line_with_what_to_do(warehouse_db, empty_db, tmp_path):
    landing = tmp_path / "landing" / "events"
    landing.mkdir(parents=True)
    (landing / "events_2011-11-31.csv").write_text("event_id\n")
    (landing / "events_ok.csv").write_text(
        "event_id,customer_id,session_id,event_type,product_id,event_ts,price,"
        "rating\ne1,c1,s1,view,p1,2011-11-30T10:00:00Z,1.5,\n"
    )
    base = {"RECSYS_DATA_ROOT": str(tmp_path), "RECSYS_ARTIFACTS_ROOT": str(tmp_path / "artifacts")}
    cases = [
        (["publish", "runs"], {"RECSYS_RECS__KK": "3"}, "unknown setting(s) in the environment: RECSYS_RECS__KK"),
        (["publish", "runs"], {"RECSYS_TRAINING__EPOCHS": "many"}, "RECSYS_TRAINING__EPOCHS: Input should be"),
        (
            ["publish", "runs"],
            {"WAREHOUSE_URL": "postgresql://me:secret@127.0.0.1:1/warehouse"},
            "cannot connect to the warehouse at postgresql://recsys_publisher@127.0.0.1:1/warehouse",
        ),
        (
            ["load", "files", "--date", "2011-11-30"],
            {"WAREHOUSE_URL": empty_db},
            'the warehouse is not initialised (relation "raw.load_batches" does not exist): run `recsys warehouse init`',
        ),
        (
            ["publish", "restore", "--run-id", "20111130_9"],
            {"WAREHOUSE_URL": warehouse_db},
            "no publishing run '20111130_9' in recs.runs",
        ),
        (
            ["export", "--campaign", "x", "--out", str(tmp_path)],
            {"WAREHOUSE_URL": warehouse_db},
            "set RECSYS_PII__EMAIL_HASH_KEY",
        ),
        (
            ["load", "files", "--date", "2011-12-01"],
            {"WAREHOUSE_URL": warehouse_db},
            "1 file(s) refused, the others loaded: events/events_2011-11-31.csv: 2011-11-31 in the name is not a date",
        ),
        (
            ["dq", "release", "999999", "--reason", "the supplier resent it"],
            {"WAREHOUSE_URL": warehouse_db},
            "no load batch 999999 in raw.load_batches",
        ),
    ]
    for args, env, expected in cases:
        done = run(args, base | env)
        lines = [line for line in done.stderr.splitlines() if line.strip()]
        assert done.returncode == 1, (args, done.stderr)
        assert len(lines) == 1 and lines[0].startswith("error: ") and expected in lines[0], (args, done.stderr)
        assert "Traceback" not in done.stdout + done.stderr
    debug = run(["--debug", "publish", "runs"], base | {"RECSYS_RECS__KK": "3"})
    assert debug.returncode == 1 and "Traceback" in debug.stderr


def test_choices_are_validated_and_listed(tmp_path):
    done = run(["export", "--campaign", "x", "--out", str(tmp_path), "--format", "xml"], {"COLUMNS": "300"})
    assert done.returncode == 2 and "'xml' is not one of 'csv', 'parquet', 'jsonl'" in " ".join(done.stderr.split())
    helped = run(["generate", "--help"], {"COLUMNS": "200"})
    assert "tiny|small|medium|large" in helped.stdout
