-- Whether a block of a run's table was already written.
select exists (select 1 from recs.run_blocks where run_id = %(run_id)s and kind = %(kind)s)
