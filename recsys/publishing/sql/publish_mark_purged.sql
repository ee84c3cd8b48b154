update recs.runs set status = 'purged' where run_id = %(run_id)s
