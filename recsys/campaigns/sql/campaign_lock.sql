-- Campaign planning and each send's delivery are serialised: the frequency cap counts the
-- sends planned before, and a send is delivered once.
select pg_advisory_xact_lock(hashtext('recsys.campaigns:' || %(key)s))
