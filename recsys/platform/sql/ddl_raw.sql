-- Raw layer: landing files and OLTP extracts as loaded, plus load bookkeeping.
-- Written only by recsys.ingest.loading / recsys.ingest.oltp; column types mirror recsys/contracts/raw.py.
-- No indexes on the data tables: they are bulk-loaded and read whole by dbt.
-- The data tables are partitioned by load batch: recsys.ingest.loading creates each batch's
-- partition in the transaction that COPYs into it, then attaches it.  With wal_level
-- minimal (the embedded server) PostgreSQL then writes the new rows without WAL (the
-- file is synced at commit instead), which halves the cost of a bulk load; and a batch's
-- gate reads one partition.  Rows inserted by hand land in the DEFAULT partition.

create table if not exists raw.load_batches (
    batch_id bigserial primary key,
    source text not null,
    file_name text not null,
    file_sha256 text not null,
    logical_date date,
    rows_read bigint,
    rows_loaded bigint,
    rows_rejected bigint,
    started_at timestamptz not null,
    finished_at timestamptz,
    status text not null check (status in ('succeeded', 'failed'))
);

-- A file (or an extract) is loaded once per source.
create unique index if not exists load_batches_loaded_once
    on raw.load_batches (source, file_sha256)
    where status = 'succeeded';

create table if not exists raw.rejected_rows (
    batch_id bigint not null,
    source text not null,
    line_number bigint,
    raw_text text,
    reason text not null
);

create index if not exists rejected_rows_batch on raw.rejected_rows (batch_id);

create table if not exists raw.events (
    event_id text,
    customer_id text,
    session_id text,
    event_type text,
    product_id text,
    event_ts timestamptz,
    price numeric,
    rating smallint,
    _batch_id bigint not null,
    _line_number bigint not null
) partition by list (_batch_id);

create table if not exists raw.events__default partition of raw.events default;

create table if not exists raw.order_lines (
    invoice_no text,
    product_id text,
    description text,
    quantity integer,
    invoice_ts timestamp,
    unit_price numeric,
    customer_id text,
    country text,
    _batch_id bigint not null,
    _line_number bigint not null
) partition by list (_batch_id);

create table if not exists raw.order_lines__default partition of raw.order_lines default;

create table if not exists raw.products (
    product_id text,
    title text,
    category text,
    brand text,
    price numeric,
    stock_level integer,
    created_at timestamptz,
    description text,
    image_url text,
    product_url text,
    is_active boolean,
    _batch_id bigint not null,
    _line_number bigint not null
) partition by list (_batch_id);

create table if not exists raw.products__default partition of raw.products default;

create table if not exists raw.customers (
    customer_id text,
    country text,
    signup_date date,
    email text,
    attributes jsonb,
    _batch_id bigint not null,
    _line_number bigint not null
) partition by list (_batch_id);

create table if not exists raw.customers__default partition of raw.customers default;

create table if not exists raw.watermarks (
    source text primary key,
    watermark timestamptz not null
);
