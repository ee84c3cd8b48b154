select * from marts.fct_campaign_arms order by campaign, send_date, arm
