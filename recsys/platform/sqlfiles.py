"""SQL run from Python lives in ``.sql`` files beside the code that runs it.

Each sub-package keeps its statements in its own ``sql/`` folder, so a statement's owner
is visible from the tree; they are read once and bound with parameters (or composed with
``psycopg.sql`` for identifiers), never built with f-strings.
"""

from __future__ import annotations

import functools
from importlib import resources


class SqlFiles:
    """The ``sql/`` folder of the package holding module ``module_name``.

    ``SqlFiles(__name__)("load_batch_lock.sql")`` is the text of
    ``<package>/sql/load_batch_lock.sql``.
    """

    def __init__(self, module_name: str):
        self.package = module_name.rsplit(".", 1)[0] if "." in module_name else module_name

    def __call__(self, name: str) -> str:
        return _read(self.package, name)

    def names(self, prefix: str = "") -> list[str]:
        """File names in the folder starting with ``prefix``, sorted."""
        folder = resources.files(self.package).joinpath("sql")
        return sorted(p.name for p in folder.iterdir() if p.name.startswith(prefix) and p.name.endswith(".sql"))


@functools.cache
def _read(package: str, name: str) -> str:
    return resources.files(package).joinpath("sql", name).read_text()
