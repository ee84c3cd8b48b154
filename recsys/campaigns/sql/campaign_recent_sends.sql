-- Campaigns each customer was sent (or is planned to be sent) in the frequency window
-- ending on the send date, other than this send.  A global-control customer counts where
-- the send would have reached them (their campaign bucket is outside the holdout): the cap
-- then removes the same share of the global control as of the treatment from later
-- campaigns, and the two stay comparable (counting sends only skews them: a sample-ratio
-- mismatch the first integration run caught).
select customer_id, count(*) as sends
from recs.campaign_audiences
where (arm = 'treatment' or (arm = 'global_control' and holdout_bucket >= holdout_share))
  and send_date > %(send_date)s::date - %(days)s
  and send_date <= %(send_date)s
  and not (campaign = %(campaign)s and send_date = %(send_date)s)
group by customer_id
