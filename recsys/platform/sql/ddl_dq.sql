-- Data-quality results: one row per expectation per validation (written by expectations.store).
-- A rerun of the same (run_id, table_name, suite_name) replaces its rows.
create table if not exists dq.validation_results (
    result_id      bigserial primary key,
    run_id         text        not null,
    logical_date   date        not null,
    table_name     text        not null,
    suite_name     text        not null,
    batch_name     text        not null,
    expectation    text        not null,
    description    text,
    severity       text        not null check (severity in ('error', 'warning')),
    success        boolean     not null,
    observed_value text,
    threshold      text,
    details        jsonb,
    validated_at   timestamptz not null default now()
);

create index if not exists validation_results_run_idx
    on dq.validation_results (run_id, table_name, suite_name);

create index if not exists validation_results_date_idx
    on dq.validation_results (logical_date, table_name);

-- Quarantined load batches an operator let through, and why (recsys dq release).
create table if not exists dq.releases (
    batch_id    bigint      primary key,
    reason      text        not null check (length(trim(reason)) >= 10),
    released_by text        not null,
    released_at timestamptz not null default now()
);
