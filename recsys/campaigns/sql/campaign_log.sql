insert into recs.campaign_log (campaign, send_date, action, reason)
values (%(campaign)s, %(send_date)s, %(action)s, %(reason)s)
