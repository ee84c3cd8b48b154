"""Landing files into the raw layer: what loads, what is rejected and why, and reruns
that change nothing.  Integration tests run on a real PostgreSQL (``warehouse_db``)."""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import shutil
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from recsys.contracts.raw import CUSTOMERS, EVENTS, ORDER_LINES, PRODUCTS, SOURCES
from recsys.ingest import landing, layout, loading, reading, routing
from recsys.platform import warehouse

TEST_DATA = Path(__file__).resolve().parent / "data"
DAY = dt.date(2011, 12, 31)
BROKEN = TEST_DATA / "events_broken.csv"
RETAIL_SAMPLE = TEST_DATA / "online_retail_sample.csv"

#: events_broken.csv: rejected physical line -> words its reason must contain.
BROKEN_REASONS = {
    4: ["event_type", "'clik'", "accepted set"],
    5: ["missing required product_id"],
    6: ["event_ts", "'2011-13-45T10:00:00Z'"],
    7: ["price", "'abc'", "number"],
    8: ["wrong column count: expected 8, got 9"],
    9: ["rating '7' outside 1..5"],
    10: ["event_ts", "'2011-02-29T10:00:00Z'"],
    15: ["event_ts", "'now'"],
    16: ["empty row"],
    17: ["price", "'NaN'", "finite"],
    18: ["event_type", "'VIEW'"],
    20: ["wrong column count: expected 8, got 3"],
}
BROKEN_LOADED = [2, 3, 11, 12, 13, 19, 21]  # 13: a quoted value spanning lines 13-14


def _rows(url: str, query: str, params=()) -> list[tuple]:
    with warehouse.connect(url) as conn:
        return conn.execute(query, params).fetchall()


def _snapshot(url: str) -> dict[str, int]:
    tables = [f"raw.{s.table}" for s in SOURCES.values()] + ["raw.load_batches", "raw.rejected_rows"]
    return {t: _rows(url, f"select count(*) from {t}")[0][0] for t in tables}


def _copy_as(src: Path, folder: Path, name: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    return Path(shutil.copy(src, folder / name))


def _variant(src: Path, folder: Path, name: str, extra_line: str) -> Path:
    """``src`` plus one line: new content, so the module's shared database has not seen it."""
    path = _copy_as(src, folder, name)
    path.write_text(src.read_text() + extra_line + "\n")
    return path


# --------------------------------------------------------------------------- no database


def test_line_numbers_survive_blocks_rejected_rows_and_multiline_values(tmp_path):
    """Physical lines stay exact when the parser reports rejected rows a block ahead."""
    lines, expect_kept, expect_broken = ["a,b,c"], [], []
    for i in range(4000):
        line_no = sum(text.count("\n") + 1 for text in lines) + 1
        if i % 97 == 5:
            lines.append(f"{i},x,y,extra")
            expect_broken.append(line_no)
        elif i % 3 == 1:  # dense: some quoted newlines straddle block boundaries
            lines.append(f'{i},"two\nlines",z')
            expect_kept.append(line_no)
        else:
            lines.append(f"{i},x,y")
            expect_kept.append(line_no)
    path = tmp_path / "blocks.csv"
    path.write_text("\n".join(lines) + "\n")

    chunks = list(reading.csv_chunks(path, 3, block_size=4096))

    assert len(chunks) > 5
    kept = np.concatenate([c.lines for c in chunks]).tolist()
    broken = [line for c in chunks for line, _, _ in c.broken]
    assert kept == expect_kept
    assert broken == expect_broken
    first = next(c for c in chunks if c.batch is not None and c.batch.num_rows)
    assert first.batch.column(0)[0].as_py() == "0"


def test_rows_the_parser_rejects_are_numbered_and_bounded(tmp_path):
    path = tmp_path / "broken.csv"
    path.write_text("a,b\n" + "".join(f"{i},x,y\n" for i in range(3000)) + "last,row\n")

    chunks = list(reading.csv_chunks(path, 2, block_size=4096))

    assert [line for c in chunks for line, _, _ in c.broken] == list(range(2, 3002))
    assert np.concatenate([c.lines for c in chunks]).tolist() == [3002]
    with pytest.raises(layout.LoadError, match="more than 1,000 rows in a row .* 2 columns"):
        list(reading.csv_chunks(path, 2, block_size=4096, max_broken_run=1000))


def test_certain_rows_only_take_clean_rows():
    file_layout = layout.resolve_layout(EVENTS, [c.name for c in EVENTS.columns])
    batch = pa.RecordBatch.from_pylist(
        [
            {
                "f0": "e1",
                "f1": None,
                "f2": "s",
                "f3": "view",
                "f4": "p",
                "f5": "2011-01-05T10:00:00Z",
                "f6": "1.5",
                "f7": None,
            },
            {
                "f0": "e2",
                "f1": "c",
                "f2": "s",
                "f3": "rating",
                "f4": "p",
                "f5": "2011-01-05 10:00:00+01:00",
                "f6": None,
                "f7": "5",
            },
            {
                "f0": "e3",
                "f1": "c",
                "f2": "s",
                "f3": "rating",
                "f4": "p",
                "f5": "2011-01-05T10:00:00Z",
                "f6": None,
                "f7": "6",
            },
            {
                "f0": "e4",
                "f1": "c",
                "f2": "s",
                "f3": "view",
                "f4": " ",
                "f5": "2011-01-05T10:00:00Z",
                "f6": None,
                "f7": None,
            },
            {
                "f0": "e5",
                "f1": "c",
                "f2": "s",
                "f3": "view",
                "f4": "p",
                "f5": "2011-02-29T10:00:00Z",
                "f6": None,
                "f7": None,
            },
            {
                "f0": "e6",
                "f1": "c",
                "f2": "s",
                "f3": "View",
                "f4": "p",
                "f5": "2011-01-05T10:00:00Z",
                "f6": None,
                "f7": None,
            },
        ]
    )

    assert routing.certain_rows(file_layout, batch).to_pylist() == [True, True, False, False, False, False]


def test_layout_maps_declared_headers_and_keeps_extra_customer_columns():
    file_layout = layout.resolve_layout(CUSTOMERS, ["Customer_ID", "country", "signup_date", "email", "tier", "city"])

    assert [(c.name, i) for c, i in file_layout.positions] == [
        ("customer_id", 0),
        ("country", 1),
        ("signup_date", 2),
        ("email", 3),
    ]
    assert file_layout.extras == (("tier", 4), ("city", 5))
    assert layout.resolve_layout(ORDER_LINES, list(ORDER_LINES.header_mapping)).positions[4][0].name == "invoice_ts"
    with pytest.raises(layout.LoadError, match="lacks column.*StockCode"):
        layout.resolve_layout(ORDER_LINES, ["InvoiceNo", "Description", "Quantity", "InvoiceDate"])
    with pytest.raises(layout.LoadError, match="duplicate"):
        layout.resolve_layout(
            PRODUCTS, ["product_id", "Product_ID", "title", "category", "brand", "price", "stock_level"]
        )


def test_landing_files_are_dated_filtered_and_ordered(tmp_path):
    events = tmp_path / "events"
    for name in (
        "events_2011-12-02.csv",
        "events_2011-11-30.csv.gz",
        "backfill.csv",
        "notes.txt",
        ".events_2011-11-01.csv",
        "events_2012-01-01.parquet",
        "events_2011-02-30.csv",
        "events_2011-11-30.csv.gz.manifest.json",
    ):
        _copy_as(BROKEN, events, name)
    _copy_as(BROKEN, tmp_path / "customers", "customers.csv")

    found = landing.landing_files(tmp_path, dt.date(2011, 12, 2))

    assert [(s, p.name, str(e) if e else None) for s, p, e in found] == [
        ("customers", "customers.csv", None),
        (
            "events",
            "events_2011-02-30.csv",
            "events_2011-02-30.csv: 2011-02-30 in the name is not a date; rename the file",
        ),
        ("events", "backfill.csv", None),
        ("events", "events_2011-11-30.csv.gz", None),
        ("events", "events_2011-12-02.csv", None),
    ]
    assert landing.landing_files(tmp_path, dt.date(2011, 12, 2), sources=["products"]) == []


def test_counts_must_add_up():
    with pytest.raises(RuntimeError, match="read 10 rows but loaded 8 and rejected 1"):
        loading.check_counts(loading.BatchResult("events", "f.csv", "x", 1, 10, 8, 1))


# --------------------------------------------------------------------------- warehouse

integration = pytest.mark.integration


@integration
def test_broken_file_loads_good_rows_and_rejects_each_bad_line_with_its_reason(warehouse_db, tmp_path):
    path = _variant(BROKEN, tmp_path, "events_broken.csv", "e19,c1,s1,view,p1,2011-01-07T09:00:00Z,1,")

    result = loading.load_file(warehouse_db, "events", path, DAY)

    assert (result.rows_read, result.rows_loaded, result.rows_rejected) == (20, 8, 12)
    loaded = _rows(
        warehouse_db, "select _line_number from raw.events where _batch_id = %s order by 1", (result.batch_id,)
    )
    assert [r[0] for r in loaded] == BROKEN_LOADED + [22]
    rejected = dict(
        _rows(warehouse_db, "select line_number, reason from raw.rejected_rows where batch_id = %s", (result.batch_id,))
    )
    assert set(rejected) == set(BROKEN_REASONS)
    for line, words in BROKEN_REASONS.items():
        assert all(w in rejected[line] for w in words), (line, rejected[line])
    raw_text = _rows(
        warehouse_db,
        "select raw_text from raw.rejected_rows where batch_id = %s and line_number = 8",
        (result.batch_id,),
    )[0][0]
    assert raw_text == BROKEN.read_text().splitlines()[7]
    batch = _rows(
        warehouse_db,
        "select rows_read, rows_loaded, rows_rejected, status, file_name, logical_date"
        " from raw.load_batches where batch_id = %s",
        (result.batch_id,),
    )
    assert batch == [(20, 8, 12, "succeeded", "events_broken.csv", DAY)]


@integration
def test_values_are_typed_as_postgres_reads_them(warehouse_db, tmp_path):
    path = _variant(BROKEN, tmp_path, "events_typed.csv", "e19,c1,s1,view,p1,2011-01-07T09:00:00Z,2,")
    result = loading.load_file(warehouse_db, "events", path, DAY)

    rows = {
        r[0]: r[1:]
        for r in _rows(
            warehouse_db,
            "select event_id, customer_id, session_id, event_ts, price, rating from raw.events where _batch_id = %s",
            (result.batch_id,),
        )
    }
    utc = dt.UTC
    assert rows["e2"][0] is None  # anonymous events are kept
    assert rows["e11"][1:4] == ("s1, quoted", dt.datetime(2011, 1, 6, 9, tzinfo=utc), 10)
    assert rows["e12"][1] == "multi\nline"
    assert rows["e10"][2:] == (dt.datetime(2012, 2, 29, 10, tzinfo=utc), None, 4)


@integration
def test_certain_patterns_never_admit_what_postgres_refuses(warehouse_db):
    """The fast path trusts ``RawType.certain``: every value it matches must be valid in Postgres."""
    import pyarrow.compute as pc

    probes = [
        "0",
        "-5",
        "+12",
        "99999",
        "999999999",
        "9999999999",
        "1.5",
        "-0.25",
        "1e3",
        ".5",
        "NaN",
        "Infinity",
        "t",
        "F",
        "yes",
        "No",
        "on",
        "1",
        "2011-02-28",
        "2011-02-29",
        "2012-02-29",
        "2011-04-31",
        "2011-12-31",
        "2011-13-01",
        "0000-01-01",
        "2011-01-05T10:00",
        "2011-01-05 23:59:59.999999",
        "2011-01-05T24:00:00",
        "2011-01-05T10:00:00Z",
        "2011-01-05T10:00:00+05:30",
        "2011-01-05T10:00:00-0800",
        "2011-01-05T10:00:00+15",
        "now",
        "epoch",
        "infinity",
        "12/31/2011",
        " 5",
        "5 ",
        "",
        "abc",
    ]
    types = {c.type for s in SOURCES.values() for c in s.columns if c.type.certain}
    with warehouse.connect(warehouse_db) as conn:
        for kind in types:
            matches = pc.match_substring_regex(pa.array(probes), kind.certain).to_pylist()
            admitted = [v for v, ok in zip(probes, matches) if ok]
            assert admitted, kind
            for value in admitted:
                valid, shaped = conn.execute(
                    "select pg_input_is_valid(%s, %s), %s ~ %s", (value, kind.sql, value, kind.shape)
                ).fetchone()
                assert valid and shaped, (kind.sql, value)


@integration
def test_loading_twice_and_rerunning_landing_changes_nothing(warehouse_db, tmp_path):
    folder = tmp_path / "landing"
    _variant(BROKEN, folder / "events", "events_2011-12-01.csv", "e19,c1,s1,view,p1,2011-12-01T09:00:00Z,3,")
    _variant(
        RETAIL_SAMPLE,
        folder / "order_lines",
        "order_lines_2011-12-01.csv",
        "C999999,X1,TWICE,-1,2011-12-01 10:00:00,1.25,,United Kingdom",
    )
    _variant(BROKEN, folder / "events", "events_2012-01-05.csv", "e19,c1,s1,view,p1,2012-01-05T09:00:00Z,3,")
    before = _snapshot(warehouse_db)

    first = landing.load_landing(warehouse_db, folder, DAY)
    after_first = _snapshot(warehouse_db)
    second = landing.load_landing(warehouse_db, folder, DAY)
    again = loading.load_file(warehouse_db, "events", folder / "events" / "events_2011-12-01.csv", DAY)

    assert [(r.source, r.file_name) for r in first] == [
        ("events", "events_2011-12-01.csv"),
        ("order_lines", "order_lines_2011-12-01.csv"),
    ]
    assert all(r.rows_read == r.rows_loaded + r.rows_rejected and not r.skipped for r in first)
    assert after_first["raw.load_batches"] == before["raw.load_batches"] + 2
    assert after_first["raw.order_lines"] == before["raw.order_lines"] + 3001
    assert all(r.skipped for r in second) and again.skipped
    assert [r.batch_id for r in second] == [r.batch_id for r in first] and again.batch_id == first[0].batch_id
    assert _snapshot(warehouse_db) == after_first


@integration
def test_parquet_csv_gz_and_csv_give_the_same_rows(warehouse_db, tmp_path):
    typed = pacsv.read_csv(RETAIL_SAMPLE)  # inferred types: int Quantity, timestamp InvoiceDate, ...
    assert typed.schema.field("InvoiceDate").type == pa.timestamp("s")
    parquet = tmp_path / "retail.parquet"
    pq.write_table(typed, parquet)
    gz = tmp_path / "retail.csv.gz"
    gz.write_bytes(gzip.compress(RETAIL_SAMPLE.read_bytes()))

    results = [loading.load_file(warehouse_db, "order_lines", p, DAY) for p in (RETAIL_SAMPLE, gz, parquet)]

    assert [(r.rows_read, r.rows_rejected) for r in results] == [(3000, 0)] * 3
    columns = "invoice_no, product_id, description, quantity, invoice_ts, unit_price, customer_id, country"
    contents = [
        _rows(
            warehouse_db,
            f"select {columns} from raw.order_lines where _batch_id = %s order by _line_number",
            (r.batch_id,),
        )
        for r in results
    ]
    assert contents[0] == contents[1] == contents[2]
    first_parquet_line = _rows(
        warehouse_db, "select min(_line_number) from raw.order_lines where _batch_id = %s", (results[2].batch_id,)
    )[0][0]
    assert first_parquet_line == 1


@integration
def test_customers_keep_unknown_columns_as_attributes_and_products_optional_columns(warehouse_db, tmp_path):
    customers = tmp_path / "customers.csv"
    customers.write_text(
        "customer_id,country,signup_date,email,loyalty_tier,city\n"
        "c1,UK,2010-12-01,a@x.org,gold,Leeds\n"
        "c2,FR,2011-01-02,,,Paris\n"
        ",DE,2011-01-03,b@x.org,silver,Bonn\n"
        "c4,DE,01/02/2011x,c@x.org,silver,Bonn\n"
    )
    products = tmp_path / "products.csv"
    products.write_text(
        "product_id,title,category,brand,price,stock_level,is_active\n"
        "p1,Mug,home,Acme,4.50,10,true\n"
        "p2,Lamp,home,Acme,12,0,f\n"
        "p3,Vase,home,Acme,9.99,3,perhaps\n"
    )

    c = loading.load_file(warehouse_db, "customers", customers, DAY)
    p = loading.load_file(warehouse_db, "products", products, DAY)

    assert (c.rows_loaded, c.rows_rejected, p.rows_loaded, p.rows_rejected) == (2, 2, 2, 1)
    attributes = dict(
        _rows(warehouse_db, "select customer_id, attributes from raw.customers where _batch_id = %s", (c.batch_id,))
    )
    assert attributes == {"c1": {"loyalty_tier": "gold", "city": "Leeds"}, "c2": {"city": "Paris"}}
    assert _rows(
        warehouse_db,
        "select product_id, price, is_active, description from raw.products where _batch_id = %s order by 1",
        (p.batch_id,),
    ) == [("p1", 4.5, True, None), ("p2", 12, False, None)]
    reasons = [
        r[0]
        for r in _rows(
            warehouse_db,
            "select reason from raw.rejected_rows where batch_id in (%s, %s) order by batch_id, line_number",
            (c.batch_id, p.batch_id),
        )
    ]
    assert reasons[0] == "missing required customer_id"
    assert "signup_date" in reasons[1] and "'01/02/2011x'" in reasons[1]
    assert "is_active" in reasons[2] and "'perhaps'" in reasons[2]


@integration
def test_special_characters_round_trip_on_both_paths(warehouse_db, tmp_path):
    titles = ["back\\slash", "\\N", "\\.", "tab\there", "cr\rlf\r\nend", 'quote "q", comma', "  padded  "]
    products = tmp_path / "products_special.csv"
    customers = tmp_path / "customers_special.csv"
    with open(products, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["product_id", "title", "category", "brand", "price", "stock_level"])
        writer.writerows([f"p{i}", t, "c", "b", "1", "2"] for i, t in enumerate(titles))
    with open(customers, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["customer_id", "country", "signup_date", "email", "note"])
        writer.writerows([f"c{i}", t, None, None, t] for i, t in enumerate(titles))

    p = loading.load_file(warehouse_db, "products", products, DAY)
    c = loading.load_file(warehouse_db, "customers", customers, DAY)

    assert (p.rows_loaded, c.rows_loaded) == (len(titles), len(titles))
    assert [
        r[0]
        for r in _rows(
            warehouse_db, "select title from raw.products where _batch_id = %s order by _line_number", (p.batch_id,)
        )
    ] == titles
    stored = _rows(
        warehouse_db,
        "select country, attributes ->> 'note' from raw.customers where _batch_id = %s order by _line_number",
        (c.batch_id,),
    )
    assert stored == [(t, t) for t in titles]


@integration
def test_attributes_built_on_the_direct_path_equal_the_sql_paths(warehouse_db, tmp_path, monkeypatch):
    """The client assembles attributes JSON for certain rows; Postgres builds it for the rest."""
    values = [None, "gold", 'say "hi"', "back\\slash", "ünïcödé ✓", "\\u0041", "{not json}", "line\nbreak", "  "]
    path = tmp_path / "customers_attrs.csv"
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["customer_id", "country", "signup_date", "email", "tier", 'odd "key"'])
        writer.writerows(
            [f"c{i}", "UK", "2011-01-01", None, v, w]
            for i, v in enumerate(values)
            for w in (None, values[(i + 1) % len(values)])
        )

    def stored(batch_id):
        return _rows(
            warehouse_db,
            "select customer_id, attributes from raw.customers where _batch_id = %s order by _line_number",
            (batch_id,),
        )

    file_layout = layout.resolve_layout(CUSTOMERS, layout.read_header(path))
    _, judged_in_sql = routing.route(file_layout, next(reading.read_chunks(path, file_layout.width)), 1)
    assert judged_in_sql.batch.num_rows == 3, "only the rows with a newline in an attribute"
    direct = loading.load_file(warehouse_db, "customers", path, DAY)
    path.write_text(path.read_text().replace("customer_id", "CUSTOMER_ID", 1))  # other content: loads again
    monkeypatch.setattr(routing, "certain_rows", lambda file_layout, batch: pa.array(np.zeros(batch.num_rows, bool)))
    judged = loading.load_file(warehouse_db, "customers", path, DAY)

    assert direct.rows_loaded == judged.rows_loaded == 2 * len(values)
    assert stored(direct.batch_id) == stored(judged.batch_id)
    assert stored(direct.batch_id)[0][1] is None, "no attributes at all is NULL, not {}"


@integration
def test_a_file_that_cannot_load_commits_nothing_and_is_recorded_failed(warehouse_db, tmp_path):
    bad_header = tmp_path / "order_lines_bad.csv"
    bad_header.write_text("InvoiceNo,Description,Quantity\n1,x,2\n")
    before = _snapshot(warehouse_db)

    with pytest.raises(layout.LoadError, match="StockCode"):
        loading.load_file(warehouse_db, "order_lines", bad_header, DAY)

    after = _snapshot(warehouse_db)
    assert after == {**before, "raw.load_batches": before["raw.load_batches"] + 1}
    assert _rows(
        warehouse_db, "select status, rows_read from raw.load_batches where file_name = %s", (bad_header.name,)
    ) == [("failed", None)]


@integration
def test_a_crash_mid_file_leaves_nothing_and_a_rerun_loads_it(warehouse_db, tmp_path):
    path = _variant(RETAIL_SAMPLE, tmp_path, "crash.csv", "C999998,X1,CRASH,-1,2011-12-01 10:00:00,1.25,,France")
    before = _snapshot(warehouse_db)

    def crash(done: float) -> None:
        raise RuntimeError("power cut")

    with pytest.raises(RuntimeError, match="power cut"):
        loading.load_file(warehouse_db, "order_lines", path, DAY, progress=crash)
    assert {k: v for k, v in _snapshot(warehouse_db).items() if k != "raw.load_batches"} == {
        k: v for k, v in before.items() if k != "raw.load_batches"
    }

    result = loading.load_file(warehouse_db, "order_lines", path, DAY)
    assert (result.skipped, result.rows_loaded) == (False, 3001)


@integration
def test_nul_bytes_and_non_utf8(warehouse_db, tmp_path):
    nul = tmp_path / "events_nul.csv"
    nul.write_bytes(
        BROKEN.read_bytes().splitlines(keepends=True)[0]
        + b"e1,c1,s1,view,p\x001,2011-01-05T10:00:00Z,1,\n"
        + b"e2,c1,s1,view,p2,2011-01-05T10:00:00Z,1,\n"
    )
    latin = tmp_path / "events_latin1.csv"
    latin.write_bytes(nul.read_bytes().replace(b"\x00", b"\xe9"))

    result = loading.load_file(warehouse_db, "events", nul, DAY)

    assert (result.rows_loaded, result.rows_rejected) == (1, 1)
    assert _rows(
        warehouse_db, "select line_number, reason from raw.rejected_rows where batch_id = %s", (result.batch_id,)
    ) == [(2, "contains a NUL byte")]
    with pytest.raises(layout.LoadError, match="UTF-8"):
        loading.load_file(warehouse_db, "events", latin, DAY)


@integration
@pytest.mark.slow
def test_full_online_retail_file(warehouse_db, online_retail_path):
    result = loading.load_file(warehouse_db, "order_lines", online_retail_path, DAY)

    assert result.rows_read == 541_909
    assert result.rows_read == result.rows_loaded + result.rows_rejected
    counts = _rows(
        warehouse_db,
        "select count(*), count(*) filter (where invoice_no like 'C%%'), count(*) filter (where customer_id is null),"
        " max(_line_number) from raw.order_lines where _batch_id = %s",
        (result.batch_id,),
    )[0]
    with gzip.open(online_retail_path, "rt", newline="") as f:
        rows = list(csv.DictReader(f))
    assert counts == (
        result.rows_loaded,
        sum(r["InvoiceNo"].startswith("C") for r in rows),
        sum(not r["CustomerID"] for r in rows),
        len(rows) + 1,
    )


@integration
def test_cli_loads_landing_files_and_prints_their_batches(warehouse_db, tmp_path, monkeypatch):
    import typer
    from typer.testing import CliRunner

    from recsys.cli import load_cmd

    app = typer.Typer()
    load_cmd.register(app)
    landing = tmp_path / "landing"
    _variant(BROKEN, landing / "events", "events_2011-12-02.csv", "e19,c1,s1,cart,p1,2011-12-02T09:00:00Z,4,")
    monkeypatch.setenv("WAREHOUSE_URL", warehouse_db)
    monkeypatch.setenv("COLUMNS", "200")

    run = CliRunner().invoke(app, ["load", "files", "--date", "2011-12-02", "--landing", str(landing)])
    rerun = CliRunner().invoke(app, ["load", "files", "--date", "2011-12-02", "--landing", str(landing)])

    assert run.exit_code == rerun.exit_code == 0, run.output + rerun.output
    cells = [
        [c.strip() for c in line.split("│")]
        for out in (run.output, rerun.output)
        for line in out.splitlines()
        if "events_2011-12-02.csv" in line
    ]
    assert [c[1:7] for c in cells] == [
        ["events", "events_2011-12-02.csv", "20", "8", "12", "loaded"],
        ["events", "events_2011-12-02.csv", "0", "0", "0", "skipped (loaded before)"],
    ]
