"""The machine and library versions a benchmark ran on (figures mean nothing without them)."""

from __future__ import annotations

import os
import platform
from importlib import metadata
from pathlib import Path

import psutil

from recsys.platform import warehouse

#: Distributions whose versions shape the figures.
LIBRARIES = (
    "numpy",
    "scipy",
    "numba",
    "pandas",
    "pyarrow",
    "psycopg",
    "lightfm-next",
    "implicit",
    "dbt-core",
    "dbt-postgres",
    "great-expectations",
    "apache-airflow",
    "astronomer-cosmos",
)


def cpu_model() -> str:
    """The CPU model name from ``/proc/cpuinfo`` (``platform.processor()`` is often empty)."""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def blas() -> str:
    """The BLAS numpy calls (``openblas 0.3.x, 2 threads``)."""
    from threadpoolctl import threadpool_info

    for pool in threadpool_info():
        if pool.get("user_api") == "blas":
            return f"{pool.get('internal_api')} {pool.get('version')} ({pool.get('num_threads')} threads)"
    return "unknown"


def library_versions() -> dict[str, str]:
    versions = {}
    for name in LIBRARIES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def machine_info(url: str) -> dict:
    """Cores, memory, CPU, Python, PostgreSQL, BLAS and library versions."""
    import numpy  # noqa: F401 - threadpoolctl only reports loaded libraries

    with warehouse.connect(url) as conn:
        postgres = warehouse.one_row(conn.execute("show server_version"))[0]
        shared_buffers = warehouse.one_row(conn.execute("show shared_buffers"))[0]
    return {
        "cores": os.cpu_count(),
        "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "cpu": cpu_model(),
        "python": platform.python_version(),
        "postgresql": postgres,
        "shared_buffers": shared_buffers,
        "blas": blas(),
        "libraries": library_versions(),
    }
