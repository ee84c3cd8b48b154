-- Every expectation result of the last %(days)s business dates with results, newest validation first.
select
    run_id,
    logical_date,
    table_name,
    suite_name,
    batch_name,
    expectation,
    description,
    severity,
    success,
    observed_value,
    threshold,
    validated_at
from dq.validation_results
where logical_date >= (select max(logical_date) from dq.validation_results) - %(days)s::integer
order by validated_at desc, run_id, table_name, suite_name, result_id
