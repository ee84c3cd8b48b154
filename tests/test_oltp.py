"""Incremental OLTP extraction: a second database on the same server plays the shop."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator

import psycopg
import pytest

from recsys.ingest import oltp
from recsys.platform import warehouse

pytestmark = pytest.mark.integration

UTC = dt.UTC
DAY = dt.date(2011, 12, 1)
SHOP_DDL = """
create schema shop;
create table shop.customers (
    customer_id text, country text, signup_date date, email text, loyalty_tier text,
    updated_at timestamptz not null
);
create table shop.products (
    product_id text, title text, category text, brand text, price numeric, stock_level integer,
    created_at timestamptz, description text, image_url text, product_url text, is_active boolean,
    updated_at timestamptz not null
);
create table shop.order_lines (
    invoice_no text, product_id text, description text, quantity integer, invoiced_at timestamp,
    unit_price numeric, customer_id text, country text, updated_at timestamp not null
);
"""


@pytest.fixture(scope="module")
def shop_url(server_url) -> Iterator[str]:
    """A throwaway shop database with the declared OLTP tables."""
    name = f"test_shop_{uuid.uuid4().hex[:8]}"
    warehouse.ensure_database(server_url, name)
    url = warehouse.with_database(server_url, name)
    with warehouse.transaction(url) as conn:
        conn.execute(SHOP_DDL)
    yield url
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f'drop database if exists "{name}" with (force)')


def _at(day: int, hour: int = 12) -> dt.datetime:
    return dt.datetime(2011, 11, day, hour, tzinfo=UTC)


def _insert_customers(url: str, rows: list[tuple]) -> None:
    with warehouse.transaction(url) as conn:
        conn.cursor().executemany("insert into shop.customers values (%s, %s, %s, %s, %s, %s)", rows)


def _raw(url: str, query: str, params=()) -> list[tuple]:
    with warehouse.connect(url) as conn:
        return conn.execute(query, params).fetchall()


CUSTOMERS = next(t for t in oltp.OLTP_TABLES if t.name == "shop.customers")


def test_watermark_reads_each_change_once(warehouse_db, shop_url):
    _insert_customers(
        shop_url,
        [
            ("c1", "UK", dt.date(2010, 12, 1), "a@x.org", "gold", _at(28)),
            ("c2", "FR", dt.date(2011, 1, 2), None, None, _at(29)),
            (None, "DE", dt.date(2011, 1, 3), "b@x.org", "silver", _at(29, 13)),
        ],
    )

    first = oltp.load_table(warehouse_db, shop_url, CUSTOMERS, DAY)
    again = oltp.load_table(warehouse_db, shop_url, CUSTOMERS, DAY)

    assert (first.rows_read, first.rows_loaded, first.rows_rejected, first.file_name) == (3, 2, 1, "shop.customers")
    assert again.skipped and again.batch_id is None and again.rows_read == 0
    assert _raw(warehouse_db, "select watermark from raw.watermarks where source = 'shop.customers'") == [
        (_at(29, 13),)
    ]
    assert _raw(
        warehouse_db,
        "select customer_id, attributes from raw.customers where _batch_id = %s order by 1",
        (first.batch_id,),
    ) == [("c1", {"loyalty_tier": "gold"}), ("c2", None)]
    assert _raw(warehouse_db, "select reason from raw.rejected_rows where batch_id = %s", (first.batch_id,)) == [
        ("missing required customer_id",)
    ]

    with warehouse.transaction(shop_url) as conn:
        conn.execute("update shop.customers set country = 'IE', updated_at = %s where customer_id = 'c2'", (_at(30),))
    _insert_customers(
        shop_url,
        [
            ("c4", "ES", None, None, None, _at(30, 8)),
            ("c5", "PT", None, None, None, dt.datetime(2011, 12, 2, 1, tzinfo=UTC)),
        ],
    )
    third = oltp.load_table(warehouse_db, shop_url, CUSTOMERS, DAY)
    next_day = oltp.load_table(warehouse_db, shop_url, CUSTOMERS, DAY + dt.timedelta(days=1))

    assert (third.rows_read, third.rows_loaded) == (2, 2)  # c5 changed after the logical date: it waits
    assert _raw(
        warehouse_db,
        "select customer_id, country from raw.customers where _batch_id = %s order by 1",
        (third.batch_id,),
    ) == [("c2", "IE"), ("c4", "ES")]
    assert (next_day.rows_loaded, next_day.skipped) == (1, False)
    batches = _raw(
        warehouse_db,
        "select file_name, rows_read, status from raw.load_batches where source = 'customers' order by batch_id",
    )
    assert batches == [
        ("shop.customers", 3, "succeeded"),
        ("shop.customers", 2, "succeeded"),
        ("shop.customers", 1, "succeeded"),
    ]


def test_every_declared_table_extracts_through_the_file_validation(warehouse_db, shop_url):
    with warehouse.transaction(shop_url) as conn:
        conn.execute(
            "insert into shop.products values"
            " ('p1', 'Mug', 'home', 'Acme', 4.5, 10, %(t)s, null, null, null, true, %(t)s),"
            " ('p2', 'Lamp', 'home', 'Acme', 'NaN', 0, %(t)s, 'desk, lamp', null, null, false, %(t)s)",
            {"t": _at(20)},
        )
        conn.execute(
            "insert into shop.order_lines values"
            " ('536365', '85123A', 'WHITE HANGING HEART T-LIGHT HOLDER', 6, '2010-12-01 08:26', 2.55, '17850',"
            "  'United Kingdom', '2011-11-20 10:00'),"
            " ('C536379', 'D', 'Discount', -1, '2010-12-01 09:41', 27.5, null, 'United Kingdom', '2011-11-20 11:00')"
        )
    tables = [t for t in oltp.OLTP_TABLES if t.name != "shop.customers"]

    results = oltp.load_oltp(warehouse_db, shop_url, DAY, tables)
    rerun = oltp.load_oltp(warehouse_db, shop_url, DAY, tables)

    assert [(r.file_name, r.rows_loaded, r.rows_rejected) for r in results] == [
        ("shop.products", 1, 1),
        ("shop.order_lines", 2, 0),
    ]
    assert all(r.skipped and r.batch_id is None for r in rerun)
    assert _raw(
        warehouse_db,
        "select invoice_no, quantity, invoice_ts, customer_id from raw.order_lines where _batch_id = %s order by 1",
        (results[1].batch_id,),
    ) == [
        ("536365", 6, dt.datetime(2010, 12, 1, 8, 26), "17850"),
        ("C536379", -1, dt.datetime(2010, 12, 1, 9, 41), None),
    ]
    assert (
        "'NaN'"
        in _raw(warehouse_db, "select reason from raw.rejected_rows where batch_id = %s", (results[0].batch_id,))[0][0]
    )


def test_an_unchanged_extract_is_skipped_but_the_watermark_moves(warehouse_db, shop_url):
    table = oltp.OltpTable("customers", "shop", "customers_copy", CUSTOMERS.columns)
    with warehouse.transaction(shop_url) as conn:
        conn.execute("create table shop.customers_copy (like shop.customers)")
        conn.execute("insert into shop.customers_copy values ('c9', 'UK', null, null, null, %s)", (_at(10),))
    first = oltp.load_table(warehouse_db, shop_url, table, DAY)
    with warehouse.transaction(warehouse_db) as conn:  # an operator rewinds the watermark
        conn.execute("delete from raw.watermarks where source = %s", (table.name,))

    rewound = oltp.load_table(warehouse_db, shop_url, table, DAY)

    assert (rewound.skipped, rewound.batch_id, first.skipped) == (True, first.batch_id, False)
    assert _raw(warehouse_db, "select count(*) from raw.customers where customer_id = 'c9'") == [(1,)]
    assert _raw(warehouse_db, "select watermark from raw.watermarks where source = %s", (table.name,)) == [(_at(10),)]
