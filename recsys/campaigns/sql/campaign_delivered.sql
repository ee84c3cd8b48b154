-- Where a send was delivered, if it was.
select location from recs.campaign_deliveries where campaign = %(campaign)s and send_date = %(send_date)s
