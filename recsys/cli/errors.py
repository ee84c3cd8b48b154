"""Expected failures as one line: what went wrong, naming the file, value or setting, and what to do.

``recsys`` prints ``error: <one line>`` and exits 1 for any exception a command raises; the
traceback appears only with ``recsys --debug ...``.  The platform's own errors already say
what to do; the translations below cover what libraries raise for a missing setup.
"""

from __future__ import annotations

import psycopg
from psycopg import errors as pg_errors

#: Exit code of a failed command (usage errors keep click's 2).
FAILED = 1


def one_line(text: str) -> str:
    """The first line of ``text``, with a note when more was cut."""
    lines = [line.strip() for line in str(text).strip().splitlines() if line.strip()]
    if not lines:
        return ""
    return lines[0] + (f" (+{len(lines) - 1} more lines with --debug)" if len(lines) > 1 else "")


def describe(exc: BaseException) -> str:
    """The line to print for ``exc``."""
    if isinstance(exc, pg_errors.UndefinedTable | pg_errors.InvalidSchemaName):
        return (
            f"the warehouse is not initialised ({exc.diag.message_primary}): run `recsys warehouse init` "
            "(or check WAREHOUSE_URL)"
        )
    if isinstance(exc, pg_errors.InsufficientPrivilege):
        return (
            f"{exc.diag.message_primary} (each component connects as its own role: "
            "`recsys warehouse init` grants what it needs; docs/operations.md)"
        )
    if isinstance(exc, psycopg.OperationalError):
        return f"warehouse error: {one_line(str(exc))}"
    if isinstance(exc, FileNotFoundError) and exc.filename:
        return f"{exc.filename}: no such file"
    if isinstance(exc, KeyboardInterrupt):
        return "interrupted"
    message = one_line(str(exc))
    return message if message else type(exc).__name__
