"""
### crm_campaigns

Sends the campaigns due on the send date of the recommendations just published
(`published_recommendations`): the campaign definitions of `dbt/campaigns/*.yml`.

1. `plan_campaigns`: in one transaction and in sending order, each due campaign's audience
   among the customers with a list, without the customers who did not consent, are
   suppressed, have no address the tool can use or reached the frequency cap; the rest
   split into treatment, the campaign's holdout and the global control, recorded with the
   items each customer gets (`recs.campaign_audiences`, `recs.campaign_items`).
2. `deliver_campaign`: one mapped task per planned campaign writes its send file (Braze,
   Klaviyo, wide or long), the holdout list and the manifest into the outbox, aside and
   then renamed (object storage through ObjectStoragePath for a URL destination), and
   records the delivery.  A send already delivered is skipped and the skip logged.
"""

from airflow.sdk import dag

from recsys_airflow.assets import PUBLISHED_RECOMMENDATIONS
from recsys_airflow.defaults import DAG_KWARGS, DEFAULT_ARGS
from recsys_airflow.tasks.campaigns import deliver_campaign, plan_campaigns
from recsys_airflow.tasks.common import resolve_business_date


@dag(schedule=[PUBLISHED_RECOMMENDATIONS], default_args=DEFAULT_ARGS, doc_md=__doc__, **DAG_KWARGS)
def crm_campaigns():
    date = resolve_business_date()
    deliver_campaign.partial(business_date=date).expand(campaign=plan_campaigns(date))


crm_campaigns()
