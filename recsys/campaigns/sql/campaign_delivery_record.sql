insert into recs.campaign_deliveries (
    campaign, send_date, run_id, layout, tool_campaign_name, destination, location, attribution_days,
    holdout_share, counts, definition, manifest_sha256
)
values (
    %(campaign)s, %(send_date)s, %(run_id)s, %(layout)s, %(tool_campaign_name)s, %(destination)s, %(location)s,
    %(attribution_days)s, %(holdout_share)s, %(counts)s, %(definition)s, %(manifest_sha256)s
)
