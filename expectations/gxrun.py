"""Running checks with Great Expectations 1.x against the warehouse.

One context per process (GX's import and context set-up are the slow part): an
ephemeral context, so concurrent Airflow tasks never rewrite a shared
``great_expectations.yml``, whose validation results and Data Docs are nevertheless files
under ``Settings.dq_dir`` shared by every run.  The data source is GX's SQLAlchemy one,
so every metric is a query in PostgreSQL; no table is pulled into pandas.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import great_expectations as gx
import great_expectations.expectations as gxe
from great_expectations.core.run_identifier import RunIdentifier
from great_expectations.data_context.types.base import (
    DataContextConfig,
    InMemoryStoreBackendDefaults,
    ProgressBarsConfig,
)
from great_expectations.expectations.metadata_types import FailureSeverity

from recsys.platform.warehouse import sqlalchemy_url, url_parts

from .checks import BatchChecks, Check, QueryBatch, TableBatch

SITE_NAME = "local_site"
GX_SEVERITY = {"error": FailureSeverity.CRITICAL, "warning": FailureSeverity.WARNING}
SUMMARY_FORMAT = {"result_format": "SUMMARY", "partial_unexpected_count": 5}


@dataclass(frozen=True)
class RawResult:
    """A GX expectation result joined back to the check that produced it."""

    batch_name: str
    check: Check
    config: dict[str, Any]
    result: dict[str, Any]
    exception: dict[str, Any]
    success: bool


def _filesystem(path: Path) -> dict:
    return {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(path)}


@functools.cache
def gx_context(dq_dir: Path):
    """The process's GX context; validation results and Data Docs go under ``dq_dir``."""
    stores = InMemoryStoreBackendDefaults()
    stores.stores[stores.validation_results_store_name]["store_backend"] = _filesystem(dq_dir / "validations")
    stores.data_docs_sites = {
        SITE_NAME: {
            "class_name": "SiteBuilder",
            "show_how_to_buttons": False,
            "store_backend": _filesystem(dq_dir / "data_docs"),
            "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
        }
    }
    config = DataContextConfig(
        store_backend_defaults=stores,
        analytics_enabled=False,
        progress_bars=ProgressBarsConfig(globally=False),
    )
    return gx.get_context(mode="ephemeral", project_config=config)


def _datasource(context, url: str):
    """One GX data source per warehouse database (tests use one database per module)."""
    name = f"warehouse_{url_parts(url).dbname}"
    return context.data_sources.add_or_update_postgres(name=name, connection_string=sqlalchemy_url(url))


def _batch_definition(datasource, asset_name: str, batch: TableBatch | QueryBatch):
    if not isinstance(batch, TableBatch):
        raise TypeError("query batches must become tables first (expectations.batches.as_tables)")
    if asset_name in datasource.get_asset_names():
        datasource.delete_asset(asset_name)
    schema, table = batch.table.split(".")
    asset = datasource.add_table_asset(name=asset_name, table_name=table, schema_name=schema)
    return asset.add_batch_definition_whole_table(name="batch")


def _expectation(check: Check, key: int):
    expectation = check.expectation.copy(deep=True)
    expectation.severity = GX_SEVERITY[check.severity]
    expectation.meta = {**(expectation.meta or {}), "check": key}
    expectation.id = None
    return expectation


def _validation_definition(context, datasource, suite_name: str, group: BatchChecks):
    name = f"{suite_name}.{group.name}"
    suite = gx.ExpectationSuite(name=name, expectations=[_expectation(c, i) for i, c in enumerate(group.checks)])
    suite = context.suites.add_or_update(suite)
    data = _batch_definition(datasource, name, group.batch)
    return context.validation_definitions.add_or_update(gx.ValidationDefinition(name=name, data=data, suite=suite))


def _result_format(group: BatchChecks) -> dict:
    """Rule checks keep their (few hundred at most) offending rows; map checks keep
    examples only, so a batch with a million bad values is not pulled into Python."""
    if all(isinstance(c.expectation, gxe.UnexpectedRowsExpectation) for c in group.checks):
        return {"result_format": "COMPLETE"}
    return SUMMARY_FORMAT


def validate(
    dq_dir: Path, url: str, suite_name: str, groups: Sequence[BatchChecks], run_id: str, build_docs: bool = True
) -> tuple[list[RawResult], str | None]:
    """Run every group of a suite (one GX checkpoint each: the result format is a
    checkpoint setting); results in check order, and the Data Docs index URL when built.

    Every group's batch must be a table (:func:`recsys_expectations.batches.as_tables`).
    """
    context = gx_context(dq_dir)
    datasource = _datasource(context, url)
    raw, result_ids = [], []
    for group in groups:
        definition = _validation_definition(context, datasource, suite_name, group)
        checkpoint = context.checkpoints.add_or_update(
            gx.Checkpoint(
                name=definition.name, validation_definitions=[definition], result_format=_result_format(group)
            )
        )
        run = checkpoint.run(run_id=RunIdentifier(run_name=run_id))
        for result_id, validation in run.run_results.items():
            result_ids.append(result_id)
            raw += sorted((_raw(group, r) for r in validation.results), key=lambda r: r.config["meta"]["check"])
    if not build_docs:
        return raw, None
    context.build_data_docs(site_names=[SITE_NAME], resource_identifiers=result_ids)
    return raw, _docs_url(context)


def _raw(group: BatchChecks, result) -> RawResult:
    config = result.expectation_config.to_json_dict()
    check = group.checks[config["meta"]["check"]]
    return RawResult(
        group.name, check, config, dict(result.result), dict(result.exception_info or {}), bool(result.success)
    )


def _docs_url(context) -> str | None:
    sites = context.get_docs_sites_urls(site_name=SITE_NAME)
    return sites[0]["site_url"] if sites else None
