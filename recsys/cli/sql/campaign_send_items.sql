select customer_id, rank, product_id
from recs.campaign_items
where campaign = %(campaign)s and send_date = %(send_date)s
