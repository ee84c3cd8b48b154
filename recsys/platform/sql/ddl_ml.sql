-- Model registry: one row per training run (recsys.training.registry writes it).
create table if not exists ml.model_runs (
    run_id text primary key,
    logical_date date not null,
    train_start date,
    cutoff date,
    test_end date,
    params jsonb not null,
    metrics jsonb not null default '{}'::jsonb,
    artifact_path text,
    artifact_checksum text,
    report_path text,
    git_revision text,
    status text not null check (status in ('champion', 'rejected', 'retired', 'failed')),
    gate_reason text,
    training_seconds double precision,
    recorded_at timestamptz not null default now()
);

-- At most one model serves at a time.
create unique index if not exists model_runs_one_champion on ml.model_runs ((true)) where status = 'champion';

create index if not exists model_runs_logical_date on ml.model_runs (logical_date);
