-- Status of a publishing run whose lists are exported.
select status, context_date from recs.runs where run_id = %(run_id)s
