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
    status text not null check (status in ('succeeded', 'failed')),
    -- The raw gate's verdict on a succeeded batch: staging reads passed and released
    -- batches only; a quarantined one waits for a replacement file or a recorded release.
    gate_status text not null default 'pending'
        check (gate_status in ('pending', 'passed', 'quarantined', 'released', 'replaced')),
    gated_at timestamptz
);

-- Warehouses created before the gate state: their batches were gated by the run that loaded them.
alter table raw.load_batches add column if not exists gate_status text not null default 'passed'
    check (gate_status in ('pending', 'passed', 'quarantined', 'released', 'replaced'));
alter table raw.load_batches add column if not exists gated_at timestamptz;
alter table raw.load_batches alter column gate_status set default 'pending';

create index if not exists load_batches_to_gate
    on raw.load_batches (logical_date)
    where status = 'succeeded' and gate_status in ('pending', 'quarantined');

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
