-- The recipients of one send, every arm (intention to treat), read as the BI role.
select arm, converted, revenue::double precision as revenue,
    pre_period_revenue::double precision as pre_period_revenue, window_closed
from marts.fct_campaign_recipients
where campaign = %(campaign)s and send_date = %(send_date)s
