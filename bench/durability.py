"""What durable commits cost the loader: ``synchronous_commit`` on (the default) against off.

``python -m recsys_bench.durability [--small-files 200] [--big-rows 1000000] [--repeats 3]``

Loads many small files (one commit each: where waiting for the WAL flush shows) and one
large file into a scratch database of the embedded server, once per setting and repeat,
interleaved so both settings see the same machine.  The setting is chosen per session
(``options=-c synchronous_commit=...``), everything else is the production loader.
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import tempfile
import time
import urllib.parse
from pathlib import Path

import psycopg

from recsys.ingest import loading
from recsys.platform import embedded, warehouse
from recsys.platform.settings import get_settings

HEADER = "event_id,customer_id,session_id,event_type,product_id,event_ts,price,rating\n"
DAY = dt.date(2011, 11, 30)


def _events(path: Path, tag: str, n: int) -> None:
    rows = "".join(f"{tag}-{i},c{i % 997},s{i // 4},view,p{i % 211},2011-11-30T10:00:00Z,1.5,\n" for i in range(n))
    path.write_text(HEADER + rows)


def _with_setting(url: str, value: str) -> str:
    separator = "&" if "?" in url else "?"
    return url + separator + "options=" + urllib.parse.quote(f"-c synchronous_commit={value}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small-files", type=int, default=200)
    parser.add_argument("--big-rows", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    admin = embedded.start_embedded(get_settings())
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute("drop database if exists bench_durability with (force)")
        conn.execute("create database bench_durability")
    url = warehouse.with_database(admin, "bench_durability")
    warehouse.ensure_schemas(url)
    seconds: dict[tuple[str, str], list[float]] = {}
    with tempfile.TemporaryDirectory() as folder:
        for repeat in range(args.repeats):
            for value in ("on", "off"):
                tag = f"r{repeat}{value}"
                small = [Path(folder) / f"{tag}_small_{i}.csv" for i in range(args.small_files)]
                for i, path in enumerate(small):
                    _events(path, f"{tag}s{i}", 100)
                big = Path(folder) / f"{tag}_big.csv"
                _events(big, f"{tag}b", args.big_rows)
                session = _with_setting(url, value)
                started = time.perf_counter()
                for path in small:
                    loading.load_file(session, "events", path, DAY)
                seconds.setdefault(("small files", value), []).append(time.perf_counter() - started)
                started = time.perf_counter()
                loading.load_file(session, "events", big, DAY)
                seconds.setdefault(("one large file", value), []).append(time.perf_counter() - started)
    print("| load | synchronous_commit on (s) | off (s) | on / off |")
    print("|---|---|---|---|")
    for load in ("small files", "one large file"):
        on, off = statistics.median(seconds[(load, "on")]), statistics.median(seconds[(load, "off")])
        label = f"{args.small_files} files of 100 rows" if load == "small files" else f"{args.big_rows:,} rows"
        print(f"| {label} | {on:.2f} | {off:.2f} | {on / off:.2f} |")


if __name__ == "__main__":
    main()
