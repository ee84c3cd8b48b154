"""Airflow glue for the recsys platform: hook, assets, callbacks and thin operators.

Business logic lives in the ``recsys`` package; everything here translates between
Airflow (connections, run context, assets) and plain ``recsys`` function calls.
"""
