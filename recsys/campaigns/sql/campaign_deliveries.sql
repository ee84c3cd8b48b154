-- Delivered sends (the results of each are measured again every night).
select campaign, send_date, holdout_share, counts, attribution_days
from recs.campaign_deliveries
order by send_date, campaign
