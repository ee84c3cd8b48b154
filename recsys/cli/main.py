"""The ``recsys`` command.

Each concern registers its commands in its own module under ``recsys/cli/``; this file
only assembles them, so heavy imports (LightFM, Great Expectations) happen when the
command that needs them runs.  An error ends a command with one line (``error: ...``) and
exit code 1; ``recsys --debug <command>`` shows the traceback instead.
"""

from __future__ import annotations

import importlib
import logging
import sys

import typer

from recsys.cli.errors import FAILED, describe

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
    "campaign_cmd",
    "pipeline_cmd",
    "segments_cmd",
    "bi_cmd",
)

for _name in COMMAND_MODULES:
    importlib.import_module(f"recsys.cli.{_name}").register(app)


@app.callback()
def _options(
    debug: bool = typer.Option(False, "--debug", help="Show the full traceback when a command fails."),
) -> None:
    """Batch recommendation platform: load shop data, build the warehouse, train, score, publish, export."""


def run(argv: list[str] | None = None) -> None:
    """The console entry point: ``app`` with every error reduced to one line (unless ``--debug``)."""
    args = sys.argv[1:] if argv is None else argv
    # What a command reports, it prints; library log records reach the terminal only when a
    # command configures logging (--debug shows the traceback of a failure).
    logging.getLogger("recsys").addHandler(logging.NullHandler())
    try:
        app(args=args, prog_name="recsys")
    except Exception as exc:
        if "--debug" in args:
            raise
        typer.echo(f"error: {describe(exc)}", err=True)
        sys.exit(FAILED)


if __name__ == "__main__":
    run()
