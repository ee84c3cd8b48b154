delete from recs.campaign_items where campaign = %(campaign)s and send_date = %(send_date)s
