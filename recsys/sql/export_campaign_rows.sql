-- The published lists of a campaign's audience: top-k per customer with what a template shows.
-- {recs} is recs.user_recommendations (the current run) or a kept run's table; {audience}
-- narrows customers (all, a segment, or an analyst's read-only audience query).
select
    r.run_id,
    r.model_version,
    r.context_date,
    r.customer_id,
    c.email_hash,
    c.rfm_segment as segment,
    r.rank,
    r.product_id,
    p.title,
    p.price::double precision as price,
    p.product_url,
    p.image_url,
    r.reason_code,
    r.reason_ref
from {recs} as r
left join marts.dim_customers as c on c.customer_id = r.customer_id
left join marts.dim_products as p on p.product_id = r.product_id
where r.rank <= %(k)s
  and (%(segment)s::text is null or c.rfm_segment = %(segment)s)
  and {audience}
order by r.customer_id, r.rank
