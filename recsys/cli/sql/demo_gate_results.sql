-- Data-quality gate results written since the demo started, one row per suite and table.
select
    suite_name,
    table_name,
    count(*) as checks,
    count(*) filter (where not success and severity = 'error') as failed_errors,
    count(*) filter (where not success and severity = 'warning') as failed_warnings
from dq.validation_results
where validated_at >= %(since)s
group by suite_name, table_name
order by min(validated_at), suite_name, table_name
