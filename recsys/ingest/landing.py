"""The landing folder: which files a business date loads, in which order."""

from __future__ import annotations

import datetime as dt
import functools
import logging
import re
from collections.abc import Callable, Iterable
from pathlib import Path

from recsys.contracts.raw import SOURCES, get_source
from recsys.ingest.layout import LoadError, file_format
from recsys.ingest.loading import BatchResult, file_sha256, load_file, record_failure
from recsys.ingest.manifest import is_manifest

log = logging.getLogger(__name__)


_DATE_IN_NAME = re.compile(r"(\d{4}-\d{2}-\d{2})")


def file_date(path: Path) -> dt.date | None:
    """The date in a landing file's name (available from that logical date on), if any."""
    found = _DATE_IN_NAME.search(path.name)
    if not found:
        return None
    try:
        return dt.date.fromisoformat(found.group(1))
    except ValueError:
        raise LoadError(f"{path.name}: {found.group(1)} in the name is not a date; rename the file") from None


def _available_from(path: Path) -> dt.date | LoadError:
    """The date a file may load from (its name's date, or any date), or why its name is wrong."""
    try:
        return file_date(path) or dt.date.min
    except LoadError as exc:
        return exc


def _is_landing_file(path: Path) -> bool:
    if path.name.startswith(".") or not path.is_file() or is_manifest(path):
        return False
    try:
        file_format(path)
    except LoadError:
        log.info("ignoring %s: not a landing format", path)
        return False
    return True


def landing_files(
    landing_dir: Path | str, logical_date: dt.date, sources: Iterable[str] | None = None
) -> list[tuple[str, Path, LoadError | None]]:
    """Files of ``landing_dir/<source>/`` available on ``logical_date``, in load order.

    Sources come in declared order (dimensions first), files by (date in name, path);
    undated files count as available from the start.  A file whose name holds an
    impossible date comes first with the error that refuses it, so it fails alone.
    """
    names = [get_source(s).name for s in sources] if sources is not None else list(SOURCES)
    found: list[tuple[str, Path, LoadError | None]] = []
    for name in names:
        folder = Path(landing_dir) / name
        files = [p for p in folder.rglob("*") if _is_landing_file(p)] if folder.is_dir() else []
        dated = [(_available_from(p), p.relative_to(folder).as_posix(), p) for p in files]
        found += [(name, p, day) for day, _, p in sorted(dated, key=lambda d: d[1]) if isinstance(day, LoadError)]
        valid = sorted((day, key, p) for day, key, p in dated if not isinstance(day, LoadError))
        found += [(name, p, None) for day, _, p in valid if day <= logical_date]
    return found


def load_landing(
    url: str,
    landing_dir: Path | str,
    logical_date: dt.date,
    sources: Iterable[str] | None = None,
    *,
    progress: Callable[[Path, float], None] | None = None,
) -> list[BatchResult]:
    """Load every landing file available on ``logical_date`` that has not loaded yet.

    Each file is its own transaction, so a failure leaves the files before it loaded
    and a rerun continues where it stopped; rerunning a finished date changes nothing.

    Parameters
    ----------
    url : str
        Warehouse URL.
    landing_dir : Path or str
        Folder holding one sub-folder per source.
    logical_date : date
        Files dated after it wait for a later run.
    sources : iterable of str, optional
        Limit to these sources (default: all).
    progress : callable, optional
        Called with (file, fraction read).

    Returns
    -------
    list of BatchResult
        One per file considered, skipped ones included.  A file refused for its content
        (:class:`LoadError`: header, encoding, truncation, manifest) has ``error`` set and
        a ``failed`` batch recorded; the files after it still load.  Database errors
        propagate: they stop the night, which a rerun resumes.
    """
    results = []
    for source, path, refused in landing_files(landing_dir, logical_date, sources):
        report = functools.partial(progress, path) if progress else None
        try:
            if refused is not None:
                raise refused
            results.append(load_file(url, source, path, logical_date, progress=report))
        except LoadError as exc:
            log.error("%s %s refused: %s", source, path.name, exc)
            if refused is not None:
                record_failure(url, source, path.name, file_sha256(path), logical_date)
            results.append(BatchResult(source, path.name, "", None, error=str(exc)))
    return results
