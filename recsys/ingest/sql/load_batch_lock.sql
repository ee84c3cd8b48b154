-- Serialise concurrent loads of the same content: the second waits, then sees it loaded.
select pg_advisory_xact_lock(hashtextextended(%(source)s || ':' || %(sha256)s, 0))
