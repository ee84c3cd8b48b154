"""Landing manifests: how a complete file announces itself.

A landing file ``events_2011-12-01.csv.gz`` may come with ``events_2011-12-01.csv.gz.manifest.json``::

    {"rows": 20000, "sha256": "9f2c..."}

``rows`` counts the data records (the header line excluded, a record with a quoted newline
once) and ``sha256`` is the hex digest of the landing file's bytes.  With a manifest, a
file whose bytes or record count differ is refused with a reason and loads nothing (a gzip
cut at a member boundary decompresses cleanly, so only the manifest can tell it from a
complete file).  Without one the file loads as before.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from recsys.ingest.layout import LoadError

SUFFIX = ".manifest.json"


@dataclass(frozen=True)
class Manifest:
    """What the sender says it sent."""

    rows: int
    sha256: str


def manifest_path(path: Path) -> Path:
    """Where the manifest of landing file ``path`` would be."""
    return path.with_name(path.name + SUFFIX)


def is_manifest(path: Path) -> bool:
    return path.name.endswith(SUFFIX)


def read_manifest(path: Path) -> Manifest | None:
    """The manifest of landing file ``path``, None when there is none.

    Raises
    ------
    LoadError
        The manifest exists but is not ``{"rows": <int >= 0>, "sha256": <64 hex digits>}``.
    """
    found = manifest_path(path)
    if not found.exists():
        return None
    try:
        document = json.loads(found.read_text())
        rows, sha256 = document["rows"], str(document["sha256"]).lower()
    except (ValueError, KeyError, TypeError) as exc:
        raise LoadError(f'{found.name}: not a manifest ({exc}); expected {{"rows": N, "sha256": "<hex>"}}') from exc
    if not isinstance(rows, int) or rows < 0 or len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
        raise LoadError(f"{found.name}: rows must be a count and sha256 64 hex digits, got {document!r}")
    return Manifest(rows, sha256)


def check_content(manifest: Manifest, sha256: str, file_name: str) -> None:
    """The file's bytes are the ones the manifest describes."""
    if manifest.sha256 != sha256:
        raise LoadError(
            f"{file_name}: SHA-256 {sha256[:12]}... differs from its manifest's {manifest.sha256[:12]}...: "
            "the file is incomplete or was changed after the manifest; nothing loaded"
        )


def check_rows(manifest: Manifest, rows_read: int, file_name: str) -> None:
    """The file holds as many records as the manifest says."""
    if rows_read != manifest.rows:
        raise LoadError(
            f"{file_name}: {rows_read:,} records read, its manifest announces {manifest.rows:,}: "
            "the file is incomplete; nothing loaded"
        )
