"""Superset's configuration for the platform (read by Superset in its own virtualenv).

``recsys.bi.superset`` points ``SUPERSET_CONFIG_PATH`` here and passes the secret key and
the metadata database through the environment; nothing here imports the platform (it
runs under Superset's pinned pandas 2.1 / SQLAlchemy 1.4, not the pipeline's).  The
warehouse connection itself is imported with the dashboards (read-only BI role, DML off).
"""

import os

SECRET_KEY = os.environ["RECSYS_SUPERSET_SECRET_KEY"]
SQLALCHEMY_DATABASE_URI = os.environ["RECSYS_SUPERSET_METADATA_URL"]

# A local tool on one machine: no thumbnails or report workers, no async queries (no
# Celery), the login rate limiter in memory.  Every chart of a dashboard renders at once,
# not when scrolled into view: a screenshot (and the browser test) sees them all.
FEATURE_FLAGS = {
    "THUMBNAILS": False,
    "ALERT_REPORTS": False,
    "GLOBAL_ASYNC_QUERIES": False,
    "DASHBOARD_VIRTUALIZATION": False,
}
RATELIMIT_STORAGE_URI = "memory://"
