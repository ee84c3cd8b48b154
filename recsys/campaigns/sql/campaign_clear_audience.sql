-- A send planned again replaces its plan.
delete from recs.campaign_audiences where campaign = %(campaign)s and send_date = %(send_date)s
