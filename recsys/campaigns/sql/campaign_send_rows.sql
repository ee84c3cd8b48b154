-- A planned send: every assigned customer with arm and address, and the items of each.
select a.customer_id, a.arm, a.run_id, c.email, i.rank, i.product_id, i.reason_code, i.reason_ref
from recs.campaign_audiences as a
left join crm.crm_contacts as c on c.customer_id = a.customer_id
left join recs.campaign_items as i
    on i.campaign = a.campaign and i.send_date = a.send_date and i.customer_id = a.customer_id
where a.campaign = %(campaign)s and a.send_date = %(send_date)s
order by a.customer_id, i.rank
