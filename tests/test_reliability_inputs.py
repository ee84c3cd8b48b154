"""Hostile and careless landing files, one kind per case, each with its expected outcome.

The table below is the one docs/reliability.md reports.  Every case lands one file among
well-formed neighbours and checks that:

- a refused file loads nothing, says why in one line, and leaves a ``failed`` batch;
- an accepted file accounts for every record (rows read = loaded + rejected), and each
  rejected record's reason names the column or the problem;
- a file the raw gate judges bad is quarantined, never admitted to staging;
- the well-formed neighbour loads whatever happens to the bad file.
"""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import hashlib
import io
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from recsys.ingest import quarantine
from recsys.ingest.landing import load_landing
from recsys.platform import warehouse
from recsys.platform.settings import Settings
from recsys_expectations import DataQualityError
from recsys_expectations.gates import raw_gate

pytestmark = pytest.mark.integration

DAY = dt.date(2011, 11, 30)
EVENT_HEADER = ["event_id", "customer_id", "session_id", "event_type", "product_id", "event_ts", "price", "rating"]
ORDER_HEADER = [
    "InvoiceNo",
    "StockCode",
    "Description",
    "Quantity",
    "InvoiceDate",
    "UnitPrice",
    "CustomerID",
    "Country",
]
PRODUCT_HEADER = ["product_id", "title", "category", "brand", "price", "stock_level", "is_active"]
CUSTOMER_HEADER = ["customer_id", "country", "signup_date", "email", "tier"]


def event(i: int, **changes: str) -> list[str]:
    row = {
        "event_id": f"e{i}",
        "customer_id": f"c{i % 40}",
        "session_id": f"s{i // 5}",
        "event_type": "view",
        "product_id": f"p{i % 30}",
        "event_ts": f"{DAY}T{8 + i % 12:02d}:{i % 60:02d}:00Z",
        "price": "4.50",
        "rating": "",
    } | changes
    return [row[c] for c in EVENT_HEADER]


def events_csv(rows: list[list[str]], header: list[str] = EVENT_HEADER, delimiter: str = ",") -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode()


def good_events(n: int = 50, start: int = 0) -> list[list[str]]:
    return [event(i) for i in range(start, start + n)]


def with_bad(bad: list[str], n: int = 20) -> bytes:
    """``n`` good events and one bad one in the middle (line ``n // 2 + 2``)."""
    rows = good_events(n)
    return events_csv(rows[: n // 2] + [bad] + rows[n // 2 :])


def gz_members(*parts: bytes) -> bytes:
    return b"".join(gzip.compress(p) for p in parts)


def parquet_bytes(table: pa.Table) -> bytes:
    sink = io.BytesIO()
    pq.write_table(table, sink)
    return sink.getvalue()


@dataclass(frozen=True)
class Case:
    """One kind of bad input and what must happen to it."""

    id: str
    source: str
    file_name: str
    content: Callable[[], bytes]
    outcome: str  # refused | loaded | quarantined | ignored
    expect: str = ""  # a substring of the refusal, of every rejection reason, or of the gate's failure
    loaded: int | None = None
    rejected: int = 0
    manifest: Callable[[bytes], dict] | None = None


def manifest_of(content: bytes, rows: int | None = None, sha256: str | None = None) -> dict:
    return {"rows": rows, "sha256": sha256 or hashlib.sha256(content).hexdigest()}


HALF_GZIP = gz_members(
    events_csv(good_events(100)), "".join(",".join(event(i)) + "\n" for i in range(100, 200)).encode()
)
CUT_GZIP = HALF_GZIP[: len(gzip.compress(events_csv(good_events(100))))]  # cut at the member boundary

CASES = [
    # ---- refused: the file as a whole cannot be trusted; nothing of it loads
    Case("empty-file", "events", "events_a.csv", lambda: b"", "refused", "empty file"),
    Case(
        "missing-column",
        "events",
        "events_b.csv",
        lambda: events_csv([], EVENT_HEADER[:-3]),
        "refused",
        "lacks column(s) event_ts, price",
    ),
    Case(
        "duplicate-header",
        "events",
        "events_c.csv",
        lambda: events_csv([], [*EVENT_HEADER, "Price"]),
        "refused",
        "duplicate header column(s) price",
    ),
    Case("not-utf8-header", "events", "events_d.csv", lambda: "événement_id\n".encode("latin-1"), "refused", "UTF-8"),
    Case(
        "semicolon-delimiter",
        "events",
        "events_e.csv",
        lambda: events_csv(good_events(5), delimiter=";"),
        "refused",
        "lacks column",
    ),
    Case(
        "truncated-gzip",
        "events",
        "events_f.csv.gz",
        lambda: gzip.compress(events_csv(good_events(4000)))[:3000],
        "refused",
        "truncated or corrupt",
    ),
    Case(
        "gzip-cut-at-member-boundary-with-manifest",
        "events",
        "events_g.csv.gz",
        lambda: CUT_GZIP,
        "refused",
        "100 records read, its manifest announces 200",
        manifest=lambda c: manifest_of(HALF_GZIP, rows=200) | {"sha256": hashlib.sha256(c).hexdigest()},
    ),
    Case(
        "manifest-sha256-mismatch",
        "events",
        "events_h.csv",
        lambda: events_csv(good_events(10)),
        "refused",
        "differs from its manifest",
        manifest=lambda c: manifest_of(c + b"x", rows=10),
    ),
    Case(
        "manifest-malformed",
        "events",
        "events_i.csv",
        lambda: events_csv(good_events(10)),
        "refused",
        "not a manifest",
        manifest=lambda c: {"records": 10},
    ),
    Case(
        "manifest-row-count-wrong",
        "events",
        "events_j.csv",
        lambda: events_csv(good_events(10)),
        "refused",
        "10 records read, its manifest announces 11",
        manifest=lambda c: manifest_of(c, rows=11),
    ),
    Case(
        "ten-megabyte-line",
        "events",
        "events_k.csv",
        lambda: events_csv([event(1), event(2, customer_id="x" * 10_000_000)]),
        "refused",
        "longer than the parser",
    ),
    Case(
        "corrupt-parquet",
        "events",
        "events_l.parquet",
        lambda: b"PAR1" + os.urandom(2000),
        "refused",
        "not a readable Parquet file",
    ),
    Case(
        "impossible-date-in-name",
        "events",
        "events_2011-02-30.csv",
        lambda: events_csv(good_events(5)),
        "refused",
        "2011-02-30 in the name is not a date",
    ),
    Case(
        "broken-rows-only",
        "events",
        "events_m.csv",
        lambda: events_csv([]) + b"a;b\n" * 100_001,
        "refused",
        "more than 100,000 rows in a row",
    ),
    Case(
        "nested-parquet-column",
        "events",
        "events_n.parquet",
        lambda: parquet_bytes(pa.table({**{c: [f"{c}1"] for c in EVENT_HEADER[:-1]}, "rating": [[1, 2]]})),
        "refused",
        "cannot be read as text",
    ),
    # ---- ignored: not a landing file at all
    Case("spreadsheet", "events", "events_o.xlsx", lambda: b"PK\x03\x04", "ignored"),
    Case("hidden-file", "events", ".events_p.csv", lambda: events_csv(good_events(3)), "ignored"),
    # ---- accepted: every record is loaded or rejected with its reason
    Case("header-only", "events", "events_q.csv", lambda: events_csv([]), "loaded", loaded=0),
    Case(
        "gzip-cut-at-member-boundary-without-manifest",
        "events",
        "events_r.csv.gz",
        lambda: CUT_GZIP,
        "loaded",
        loaded=100,
    ),
    Case(
        "crlf-and-bom",
        "events",
        "events_s.csv",
        lambda: b"\xef\xbb\xbf" + events_csv(good_events(7)).replace(b"\n", b"\r\n"),
        "loaded",
        loaded=7,
    ),
    Case(
        "quoted-newline",
        "events",
        "events_t.csv",
        lambda: events_csv([event(1, session_id="line\nbreak"), event(2)]),
        "loaded",
        loaded=2,
    ),
    Case(
        "extra-column",
        "events",
        "events_u.csv",
        lambda: with_bad([*event(99), "surplus"]),
        "loaded",
        "wrong column count",
        loaded=20,
        rejected=1,
    ),
    Case(
        "short-row",
        "events",
        "events_v.csv",
        lambda: with_bad(["e99", "c1"]),
        "loaded",
        "wrong column count",
        loaded=20,
        rejected=1,
    ),
    Case(
        "empty-row", "events", "events_w.csv", lambda: with_bad([""] * 8), "loaded", "empty row", loaded=20, rejected=1
    ),
    Case(
        "missing-product",
        "events",
        "events_x.csv",
        lambda: with_bad(event(99, product_id="  ")),
        "loaded",
        "missing required product_id",
        loaded=20,
        rejected=1,
    ),
    Case(
        "unknown-event-type",
        "events",
        "events_y.csv",
        lambda: with_bad(event(99, event_type="click")),
        "loaded",
        "not in accepted set",
        loaded=20,
        rejected=1,
    ),
    Case(
        "rating-out-of-range",
        "events",
        "events_z.csv",
        lambda: with_bad(event(99, event_type="rating", rating="7")),
        "loaded",
        "outside 1..5",
        loaded=20,
        rejected=1,
    ),
    Case(
        "rating-not-a-number",
        "events",
        "events_aa.csv",
        lambda: with_bad(event(99, event_type="rating", rating="five")),
        "loaded",
        "not a valid integer",
        loaded=20,
        rejected=1,
    ),
    Case(
        "price-not-a-number",
        "events",
        "events_ab.csv",
        lambda: with_bad(event(99, price="abc")),
        "loaded",
        "not a valid finite number",
        loaded=20,
        rejected=1,
    ),
    Case(
        "price-nan",
        "events",
        "events_ac.csv",
        lambda: with_bad(event(99, price="NaN")),
        "loaded",
        "not a valid finite number",
        loaded=20,
        rejected=1,
    ),
    Case(
        "price-1e400",
        "events",
        "events_ad.csv",
        lambda: with_bad(event(99, price="1e400")),
        "loaded",
        "outside -10000000..10000000",
        loaded=20,
        rejected=1,
    ),
    Case(
        "price-1e300",
        "events",
        "events_ae.csv",
        lambda: with_bad(event(99, price="-1e300")),
        "loaded",
        "outside -10000000..10000000",
        loaded=20,
        rejected=1,
    ),
    Case(
        "timestamp-not-a-date",
        "events",
        "events_af.csv",
        lambda: with_bad(event(99, event_ts="yesterday")),
        "loaded",
        "not a valid ISO 8601 timestamp",
        loaded=20,
        rejected=1,
    ),
    Case(
        "timestamp-year-1",
        "events",
        "events_ag.csv",
        lambda: with_bad(event(99, event_ts="0001-01-01T00:00:00Z")),
        "loaded",
        "outside 1970-01-01..2100-01-01",
        loaded=20,
        rejected=1,
    ),
    Case(
        "timestamp-year-9999",
        "events",
        "events_ah.csv",
        lambda: with_bad(event(99, event_ts="9999-12-31T00:00:00Z")),
        "loaded",
        "outside 1970-01-01..2100-01-01",
        loaded=20,
        rejected=1,
    ),
    Case(
        "timestamp-infinity",
        "events",
        "events_ai.csv",
        lambda: with_bad(event(99, event_ts="infinity")),
        "loaded",
        "not a valid ISO 8601 timestamp",
        loaded=20,
        rejected=1,
    ),
    Case(
        "timestamp-now",
        "events",
        "events_aj.csv",
        lambda: with_bad(event(99, event_ts="now")),
        "loaded",
        "not a valid ISO 8601 timestamp",
        loaded=20,
        rejected=1,
    ),
    Case(
        "february-30",
        "events",
        "events_ak.csv",
        lambda: with_bad(event(99, event_ts="2011-02-30T10:00:00Z")),
        "loaded",
        "not a valid ISO 8601 timestamp",
        loaded=20,
        rejected=1,
    ),
    Case(
        "nul-byte",
        "events",
        "events_al.csv",
        lambda: with_bad(event(99, customer_id="c\x001")),
        "loaded",
        "contains a NUL byte",
        loaded=20,
        rejected=1,
    ),
    Case(
        "over-long-id",
        "events",
        "events_am.csv",
        lambda: with_bad(event(99, customer_id="c" * 2000)),
        "loaded",
        "2000 characters, more than 1000",
        loaded=20,
        rejected=1,
    ),
    Case(
        "quantity-overflow",
        "order_lines",
        "order_lines_a.csv",
        lambda: events_csv(
            [
                ["1001", "85123A", "MUG", "99999999999", "2011-11-30 10:00:00", "2.55", "17850", "UK"],
                ["1001", "85123B", "MUG", "3", "2011-11-30 10:00:00", "2.55", "17850", "UK"],
            ],
            ORDER_HEADER,
        ),
        "loaded",
        "not a valid integer",
        loaded=1,
        rejected=1,
    ),
    Case(
        "quantity-beyond-contract",
        "order_lines",
        "order_lines_b.csv",
        lambda: events_csv(
            [["1002", "85123A", "MUG", "5000000", "2011-11-30 10:00:00", "2.55", "17850", "UK"]], ORDER_HEADER
        ),
        "loaded",
        "outside -1000000..1000000",
        loaded=0,
        rejected=1,
    ),
    Case(
        "signup-february-30",
        "customers",
        "customers_a.csv",
        lambda: events_csv(
            [["c1", "UK", "2011-02-30", "a@x.org", "gold"], ["c2", "UK", "2011-02-03", "", ""]], CUSTOMER_HEADER
        ),
        "loaded",
        "not a valid ISO 8601 date",
        loaded=1,
        rejected=1,
    ),
    Case(
        "over-long-attribute",
        "customers",
        "customers_b.csv",
        lambda: events_csv(
            [["c3", "UK", "2011-02-03", "", "t" * 1500], ["c4", "UK", "2011-02-03", "", "gold"]], CUSTOMER_HEADER
        ),
        "loaded",
        "tier: 1500 characters, more than 1000",
        loaded=1,
        rejected=1,
    ),
    Case(
        "boolean-maybe",
        "products",
        "products_a.csv",
        lambda: events_csv(
            [
                ["p1", "Mug", "kitchen", "acme", "2.5", "10", "maybe"],
                ["p2", "Cup", "kitchen", "acme", "2.5", "10", "yes"],
            ],
            PRODUCT_HEADER,
        ),
        "loaded",
        "not a valid boolean",
        loaded=1,
        rejected=1,
    ),
    # ---- quarantined: loads, but the raw gate holds the batch back
    Case(
        "negative-prices",
        "events",
        "events_an.csv",
        lambda: events_csv([event(i, event_type="purchase", price="-999.99") for i in range(50)]),
        "quarantined",
        "price",
        loaded=50,
    ),
    Case(
        "anonymous-flood",
        "events",
        "events_ao.csv",
        lambda: events_csv([event(i, customer_id="" if i % 3 == 0 else f"c{i}") for i in range(60)]),
        "quarantined",
        "customer_id",
        loaded=60,
    ),
    Case(
        "events-a-year-ahead",
        "events",
        "events_ap.csv",
        lambda: events_csv([event(i, event_ts=f"{DAY.year + 1}-11-30T10:00:00Z") for i in range(30)]),
        "quarantined",
        "event_ts",
        loaded=30,
    ),
    Case(
        "duplicate-event-ids",
        "events",
        "events_aq.csv",
        lambda: events_csv(good_events(20) + good_events(20)),
        "quarantined",
        "event_id",
        loaded=40,
    ),
    Case(
        "negative-catalogue-price",
        "products",
        "products_b.csv",
        lambda: events_csv([["p9", "Mug", "kitchen", "acme", "-5", "10", "true"]], PRODUCT_HEADER),
        "quarantined",
        "price",
        loaded=1,
    ),
]


@pytest.fixture(scope="module")
def settings(tmp_path_factory) -> Settings:
    return Settings(home=tmp_path_factory.mktemp("reliability"))


def _neighbour(folder: Path, case: Case) -> Path:
    """A well-formed events file beside the bad one: it must load whatever the bad file does."""
    path = folder / "events" / f"events_neighbour_{case.id}.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(events_csv(good_events(5, start=10_000 + 10 * CASES.index(case))))
    return path


def _land(folder: Path, case: Case) -> Path:
    path = folder / case.source / case.file_name
    path.parent.mkdir(parents=True, exist_ok=True)
    content = case.content()
    path.write_bytes(content)
    if case.manifest:
        (path.parent / (path.name + ".manifest.json")).write_text(json.dumps(case.manifest(content)))
    return path


def test_there_are_at_least_forty_kinds_of_bad_input():
    assert len(CASES) >= 40 and len({c.id for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_each_kind_of_bad_input_has_its_outcome(case, warehouse_db, settings, tmp_path):
    landing = tmp_path / "landing"
    _land(landing, case)
    neighbour = _neighbour(landing, case)
    results = {r.file_name: r for r in load_landing(warehouse_db, landing, DAY)}

    assert results[neighbour.name].rows_loaded == 5 and not results[neighbour.name].failed
    if case.outcome == "ignored":
        assert set(results) == {neighbour.name}
        return
    result = results[case.file_name]
    with warehouse.connect(warehouse_db) as conn:
        batches = conn.execute(
            "select status, rows_read, rows_loaded, rows_rejected from raw.load_batches where file_name = %s",
            (case.file_name,),
        ).fetchall()
    if case.outcome == "refused":
        assert result.failed and case.expect in result.error and "\n" not in result.error, result.error
        assert result.rows_loaded == 0 and batches == [("failed", None, None, None)]
        return

    assert not result.failed, result.error
    assert result.rows_read == result.rows_loaded + result.rows_rejected == case.loaded + case.rejected
    assert (result.rows_loaded, result.rows_rejected) == (case.loaded, case.rejected)
    assert batches == [("succeeded", result.rows_read, result.rows_loaded, result.rows_rejected)]
    with warehouse.connect(warehouse_db) as conn:
        reasons = [
            r for (r,) in conn.execute("select reason from raw.rejected_rows where batch_id = %s", (result.batch_id,))
        ]
    assert len(reasons) == case.rejected and all(case.expect in r for r in reasons), reasons

    gate_run = f"reliability_{case.id}"
    if case.outcome == "quarantined":
        with pytest.raises(DataQualityError, match=case.expect):
            raw_gate(warehouse_db, settings, DAY, gate_run, build_docs=False)
        with pytest.raises(DataQualityError):  # a rerun fails again
            raw_gate(warehouse_db, settings, DAY, gate_run + "_rerun", build_docs=False)
        expected_state = quarantine.QUARANTINED
    else:
        raw_gate(warehouse_db, settings, DAY, gate_run, build_docs=False)
        expected_state = quarantine.PASSED
    with warehouse.transaction(warehouse_db) as conn:
        state = warehouse.one_row(
            conn.execute("select gate_status from raw.load_batches where batch_id = %s", (result.batch_id,))
        )[0]
        # what an operator does next: replace the file, so the next case's gate judges its own batch
        conn.execute("update raw.load_batches set gate_status = 'replaced' where gate_status = 'quarantined'")
    assert state == expected_state
