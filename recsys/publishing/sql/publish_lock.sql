-- One swap at a time: publishing and restoring serialise on this lock.
select pg_advisory_xact_lock(hashtext('recs.publish'))
