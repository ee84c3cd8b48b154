delete from recs.campaign_results where campaign = %(campaign)s and send_date = %(send_date)s
