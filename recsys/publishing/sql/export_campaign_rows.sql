-- The published lists of a campaign's audience: top-k per customer, in customer order.
-- {recs} is recs.user_recommendations (the current run) or a kept run's table; {audience}
-- narrows customers (all, or the ids an analyst's read-only audience query returned); the
-- contact comes from crm.crm_contacts (the e-mail leaves the export only as a keyed hash).
-- Only customers who consented to marketing e-mail and are not suppressed are exported.
-- Product fields are not repeated on every row: the export joins export_products.sql itself.
select
    r.run_id,
    r.model_version,
    r.context_date,
    r.customer_id,
    c.email,
    r.rank,
    r.product_id,
    r.reason_code,
    r.reason_ref
from {recs} as r
join crm.crm_contacts as c on c.customer_id = r.customer_id
where r.rank <= %(k)s
  and c.marketing_consent is true
  and not c.is_suppressed
  and (%(segment)s::text is null or c.rfm_segment = %(segment)s)
  and {audience}
order by r.customer_id, r.rank
