"""The outbox: a send's folder appears whole or not at all.

Files are written into a hidden ``.<name>.part`` folder beside the target and renamed into
place when the manifest (written last) is there, so an email tool or a sync job watching
the outbox never picks up half a send.  A rerun writes the same bytes (the files carry no
timestamps) and replaces the folder the same way.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")


def write_folder(root: Path, name: str, write: Callable[[Path], T]) -> tuple[Path, T]:
    """Run ``write(part_folder)``, then move the folder to ``root / name``; returns it and
    what ``write`` returned.  A failed ``write`` leaves nothing under ``name``."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    part, final, old = root / f".{name}.part", root / name, root / f".{name}.old"
    shutil.rmtree(part, ignore_errors=True)
    part.mkdir()
    try:
        result = write(part)
    except BaseException:
        shutil.rmtree(part, ignore_errors=True)
        raise
    if final.exists():
        shutil.rmtree(old, ignore_errors=True)
        final.rename(old)
        part.rename(final)
        shutil.rmtree(old)
    else:
        part.rename(final)
    return final, result


def is_url(destination: str | None) -> bool:
    """Whether a destination is an object-storage URL (``s3://``, ``gs://``, ``file://``...)."""
    return bool(destination) and "://" in str(destination)
