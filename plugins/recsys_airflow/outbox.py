"""Delivery of a finished send folder to object storage through Airflow's ObjectStoragePath.

The files go to a hidden ``.<send>.part`` folder under the destination, the manifest last,
then the folder is renamed into place (on stores without a rename, ObjectStoragePath
copies and deletes), so a consumer that waits for ``<send>/manifest.json`` never reads a
half-written send.
"""

from __future__ import annotations

from pathlib import Path


def upload_folder(folder: Path, destination: str) -> str:
    """Copy ``folder`` to ``<destination>/<folder name>``; returns the URL it landed at."""
    from airflow.sdk import ObjectStoragePath

    root = ObjectStoragePath(destination)
    part, final = root / f".{folder.name}.part", root / folder.name
    for stale in (part, final):
        if stale.exists():
            stale.rmdir(recursive=True)
    part.mkdir(parents=True, exist_ok=True)
    names = sorted(p.name for p in folder.iterdir() if p.name != "manifest.json") + ["manifest.json"]
    for name in names:
        (part / name).write_bytes((folder / name).read_bytes())
    part.rename(final)
    return str(final)
