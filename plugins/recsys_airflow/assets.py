"""Assets shared by producer and consumer DAGs.

An asset-triggered run has no logical date in Airflow 3, so every producer attaches the
business date to its asset event (``extra={"business_date": "YYYY-MM-DD"}``) and
consumers read it back with :func:`recsys_airflow.dates.business_date`.
"""

from airflow.sdk import Asset

RAW_SHOP_DATA = Asset(name="raw_shop_data", group="recsys")
WAREHOUSE_MARTS = Asset(name="warehouse_marts", group="recsys")
CHAMPION_MODEL = Asset(name="champion_model", group="recsys")
PUBLISHED_RECOMMENDATIONS = Asset(name="published_recommendations", group="recsys")
