"""Data-quality gates: Great Expectations 1.x suites defined in code, run in PostgreSQL.

One module per validated table lives in :mod:`recsys_expectations.suites`; every expectation
carries a severity (``error`` stops the run, ``warning`` is recorded and reported).
:func:`run_suite` is the one entry point used by the Airflow operator, the DAG tasks and
``recsys dq run``; :func:`raise_for_errors` turns a failed gate into the precise message
that ends up in the Airflow log.

Where results go
----------------
* ``dq.validation_results``: one row per expectation per validation (run id, logical
  date, table, suite, expectation, severity, success, observed value, threshold).
* ``Settings.dq_dir`` (``artifacts/dq``): ``validations.html`` lists every validation with
  its expectations (one self-contained file, works offline: :mod:`recsys_expectations.page`);
  ``data_docs/index.html`` is the Great Expectations Data Docs site (it loads its styles
  and scripts from CDNs), ``validations/`` the JSON results it is rendered from.
"""

from .results import DataQualityError, Outcome, SuiteResult, failure_message
from .runner import gate, raise_for_errors, run_stage, run_suite
from .suites import STAGES, SUITES

__all__ = [
    "DataQualityError",
    "Outcome",
    "STAGES",
    "SUITES",
    "SuiteResult",
    "failure_message",
    "gate",
    "raise_for_errors",
    "run_stage",
    "run_suite",
]
