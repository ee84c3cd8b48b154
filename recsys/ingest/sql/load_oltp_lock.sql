-- One extraction of a table at a time: the second waits, then reads the moved watermark.
select pg_advisory_xact_lock(hashtextextended('watermark:' || %(key)s, 0))
