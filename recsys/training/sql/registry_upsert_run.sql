-- Record a training run; a rerun of the same run id converges to the new outcome.
insert into ml.model_runs (
    run_id, logical_date, train_start, cutoff, test_end, params, metrics, artifact_path,
    artifact_checksum, report_path, git_revision, status, gate_reason, training_seconds
)
values (
    %(run_id)s, %(logical_date)s, %(train_start)s, %(cutoff)s, %(test_end)s, %(params)s, %(metrics)s,
    %(artifact_path)s, %(artifact_checksum)s, %(report_path)s, %(git_revision)s, %(status)s,
    %(gate_reason)s, %(training_seconds)s
)
on conflict (run_id) do update set
    logical_date = excluded.logical_date,
    train_start = excluded.train_start,
    cutoff = excluded.cutoff,
    test_end = excluded.test_end,
    params = excluded.params,
    metrics = excluded.metrics,
    artifact_path = excluded.artifact_path,
    artifact_checksum = excluded.artifact_checksum,
    report_path = excluded.report_path,
    git_revision = excluded.git_revision,
    status = excluded.status,
    gate_reason = excluded.gate_reason,
    training_seconds = excluded.training_seconds,
    recorded_at = now()
