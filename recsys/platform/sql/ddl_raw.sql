-- Raw layer bookkeeping: load batches, rejected rows, OLTP watermarks.
-- The raw data tables themselves are created from recsys/contracts/raw.py (raw_data_table.sql).

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

create table if not exists raw.watermarks (
    source text primary key,
    watermark timestamptz not null
);
