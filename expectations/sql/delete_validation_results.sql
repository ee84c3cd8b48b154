delete from dq.validation_results
where run_id = %(run_id)s
  and table_name = %(table_name)s
  and suite_name = %(suite_name)s
