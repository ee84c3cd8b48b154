"""The ``recsys`` command.

Each concern registers its commands in its own module under ``recsys/cli/``; this file
only assembles them, so heavy imports (LightFM, Great Expectations) happen when the
command that needs them runs.
"""

from __future__ import annotations

import importlib

import typer

app = typer.Typer(
    help="Batch recommendation platform: load shop data, build the warehouse, train, score, publish, export.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

#: Modules under recsys.cli that define ``register(app)``.
COMMAND_MODULES = (
    "warehouse_cmd",
    "dq_cmd",
    "dbt_cmd",
    "load_cmd",
    "generate_cmd",
    "model_cmd",
    "publish_cmd",
    "export_cmd",
    "pipeline_cmd",
)

for _name in COMMAND_MODULES:
    importlib.import_module(f"recsys.cli.{_name}").register(app)


if __name__ == "__main__":
    app()
