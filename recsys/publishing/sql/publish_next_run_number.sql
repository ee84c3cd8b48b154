-- A new, never reused number for a publishing run.
select nextval('recs.run_number')
