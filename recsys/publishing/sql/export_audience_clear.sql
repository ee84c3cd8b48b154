-- A rerun of a campaign for a send date replaces its audience.
delete from recs.campaign_audiences
where campaign = %(campaign)s and send_date = %(send_date)s
