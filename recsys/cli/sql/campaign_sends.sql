-- Delivered campaign sends, for simulated responses (recsys campaign simulate).
select campaign, send_date, layout, tool_campaign_name, attribution_days
from recs.campaign_deliveries
order by send_date, campaign
