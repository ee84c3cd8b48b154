-- Runs beyond the newest "keep" that are not current (their tables can go).
select run_id
from recs.runs
where status in ('previous', 'failed')
order by coalesce(published_at, started_at) desc, run_id desc
offset %(keep)s
