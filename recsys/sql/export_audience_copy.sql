copy recs.campaign_audiences (campaign, send_date, customer_id, run_id, in_holdout, holdout_bucket, holdout_share)
from stdin (format csv)
