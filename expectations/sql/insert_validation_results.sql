insert into dq.validation_results (
    run_id, logical_date, table_name, suite_name, batch_name, expectation, description,
    severity, success, observed_value, threshold, details
) values (
    %(run_id)s, %(logical_date)s, %(table_name)s, %(suite_name)s, %(batch_name)s, %(expectation)s,
    %(description)s, %(severity)s, %(success)s, %(observed_value)s, %(threshold)s, %(details)s::jsonb
)
