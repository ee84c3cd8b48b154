"""
### crm_results

Measures every delivered campaign send on the marts just built (`warehouse_marts`):
treatment against the campaign's holdout and against the global control, intention to
treat, conversion and revenue per recipient with CUPED on pre-period spend, confidence
intervals and a sample-ratio check (tea-tasting).

1. `measure_campaigns`: `marts.fct_campaign_recipients` (read as the BI role) to
   `recs.campaign_results` (the BI view `bi.bi_campaign_uplift`).
2. `campaign_report`: the HTML report with the uplift over time and the funnel per arm.
"""

from airflow.sdk import dag

from recsys_airflow.assets import WAREHOUSE_MARTS
from recsys_airflow.defaults import DAG_KWARGS, DEFAULT_ARGS
from recsys_airflow.tasks.campaigns import campaign_report, measure_campaigns
from recsys_airflow.tasks.common import resolve_business_date


@dag(schedule=[WAREHOUSE_MARTS], default_args=DEFAULT_ARGS, doc_md=__doc__, **DAG_KWARGS)
def crm_results():
    date = resolve_business_date()
    campaign_report(date, measure_campaigns(date))


crm_results()
