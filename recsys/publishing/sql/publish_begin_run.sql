-- A run starts as 'building': its tables exist but no reader sees them.
insert into recs.runs (run_id, status, context_date, business_date, model_version, k, started_at)
values (%(run_id)s, 'building', %(context_date)s, %(business_date)s, %(model_version)s, %(k)s, %(started_at)s)
