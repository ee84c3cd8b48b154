"""
### recs_publish

Scores every active customer with the champion model for the business date (the send
date's context: season, calendar events, recent activity, country) and publishes the
lists atomically into `recs.*`. Triggered by `champion_model` from `recsys_training`.

1. `begin_publish_run`: a `recs.runs` row and empty run tables, and the customer ranges.
2. `score_customer_range`: one mapped task per customer range (dynamic task mapping):
   blocked matrix products with a compiled top-k, context factors, business rules,
   reasons; COPY into the run's own table. A retried range skips its written block.
3. `check_and_swap`: similar and popular items, the Great Expectations output gate on the
   new tables, then the swap in one transaction. A failed gate leaves the previous run in
   place for every reader.
4. `announce_published`: emits `published_recommendations`.
"""

from airflow.sdk import dag

from recsys_airflow.assets import CHAMPION_MODEL
from recsys_airflow.defaults import DAG_KWARGS, DEFAULT_ARGS
from recsys_airflow.tasks.common import resolve_business_date
from recsys_airflow.tasks.publishing import (
    announce_published,
    begin_publish_run,
    check_and_swap,
    customer_ranges,
    score_customer_range,
)


@dag(schedule=[CHAMPION_MODEL], default_args=DEFAULT_ARGS, doc_md=__doc__, **DAG_KWARGS)
def recs_publish():
    date = resolve_business_date()
    prepared = begin_publish_run(date)
    written = score_customer_range.partial(prepared=prepared).expand(customer_range=customer_ranges(prepared))
    published = check_and_swap(date, prepared, written)
    announce_published(date, published)


recs_publish()
