"""TaskFlow tasks: each resolves the run's inputs from Airflow and calls one recsys function.

Heavy imports happen inside the task bodies so DAG parsing stays cheap and touches no
database.
"""
