-- What each assigned customer gets (treatment) or would get (controls) from the run.
insert into recs.campaign_items (campaign, send_date, customer_id, rank, product_id, reason_code, reason_ref)
select %(campaign)s, %(send_date)s, r.customer_id, r.rank, r.product_id, r.reason_code, r.reason_ref
from recs.user_recommendations as r
where r.run_id = %(run_id)s
  and r.customer_id = any(%(customers)s::text[])
  and r.rank <= %(k)s
