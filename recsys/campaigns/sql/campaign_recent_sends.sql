-- Campaigns each customer was sent (or is planned to be sent) in the frequency window
-- ending on the send date, other than this send.
select customer_id, count(*) as sends
from recs.campaign_audiences
where arm = 'treatment'
  and send_date > %(send_date)s::date - %(days)s
  and send_date <= %(send_date)s
  and not (campaign = %(campaign)s and send_date = %(send_date)s)
group by customer_id
