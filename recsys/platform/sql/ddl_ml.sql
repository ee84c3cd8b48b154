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

-- Behavioural segments (recsys.segments writes them; marts.dim_customers reads the latest
-- fit up to its date).  A night's fit replaces any earlier fit of the same date.
create table if not exists ml.behaviour_segment_fits (
    fit_date date primary key,
    k integer not null,
    silhouette double precision,
    previous_fit_date date,
    stability double precision,
    n_fitted bigint not null,
    n_assigned bigint not null,
    features jsonb not null,
    fit_seconds double precision,
    fitted_at timestamptz not null default now()
);

create table if not exists ml.behaviour_segment_centroids (
    fit_date date not null references ml.behaviour_segment_fits (fit_date) on delete cascade,
    segment text not null,
    name text not null,
    description text not null,
    customers bigint not null,
    centre jsonb not null,
    profile jsonb not null,
    primary key (fit_date, segment)
);

create table if not exists ml.behaviour_segments (
    fit_date date not null references ml.behaviour_segment_fits (fit_date) on delete cascade,
    customer_id text not null,
    segment text not null,
    primary key (fit_date, customer_id)
);
