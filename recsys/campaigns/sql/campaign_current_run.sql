-- The published run whose lists are for the send date.
select run_id from recs.runs where status = 'current' and context_date = %(send_date)s
