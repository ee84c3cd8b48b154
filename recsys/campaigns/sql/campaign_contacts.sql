-- The contacts of a campaign's audience with a published list: consent and suppressions
-- decide later who may be sent (recsys.campaigns.eligibility).
select c.customer_id, c.email, c.marketing_consent, c.is_suppressed
from crm.crm_contacts as c
where c.customer_id in (select r.customer_id from recs.user_recommendations as r where r.rank = 1)
  and (%(segment)s::text is null or c.rfm_segment = %(segment)s)
  and (%(country)s::text is null or c.country = %(country)s)
  and (%(ids)s::text[] is null or c.customer_id = any(%(ids)s::text[]))
order by c.customer_id
