select customer_id, arm from recs.campaign_audiences where campaign = %(campaign)s and send_date = %(send_date)s
