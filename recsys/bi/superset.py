"""Apache Superset as the platform's BI tool: set up, load the dashboards, serve.

Superset 6 cannot share the pipeline's virtualenv (it pins pandas 2.1, numpy 1.26 and
SQLAlchemy 1.4; the pipeline runs pandas 3, numpy 2 and SQLAlchemy 2), so it lives in
its own (``make bi-venv``: ``requirements-bi.txt`` locked by ``constraints-bi.txt``) and
this module drives its command line and web server as subprocesses.  Its metadata (a
SQLite file), secret key and admin password stay in ``Settings.bi_state_dir``.

The dashboards are kept in the repository as Superset's own export
(``recsys/bi/superset/assets``: datasets, charts, dashboards); :func:`write_bundle` zips
them with a database file written here from the BI role's URL, so the connection
Superset uses is exactly the read-only ``recsys_bi`` login (its password never enters the
repository), and every start imports them again (an import overwrites by UUID).
"""

from __future__ import annotations

import logging
import os
import re
import secrets
import subprocess
import time
import urllib.error
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path

import yaml

from recsys.platform import roles, warehouse
from recsys.platform.settings import Settings

log = logging.getLogger(__name__)

ASSETS = Path(__file__).resolve().parent / "superset" / "assets"
CONFIG_FILE = Path(__file__).resolve().parent / "superset" / "superset_config.py"
IMPORT_SCRIPT = Path(__file__).resolve().parent / "superset" / "import_assets.py"
#: The warehouse connection's fixed UUID: the datasets in the assets point at it.
DATABASE_UUID = "6f1c7a52-52b8-4c53-9d7e-1d6f0a6b2c10"
DATABASE_NAME = "warehouse"
ADMIN = "admin"
BUNDLE_ROOT = "recsys_dashboards"
#: What the repository keeps of an export (the database is written from the settings).
ASSET_KINDS = ("datasets", "charts", "dashboards")


class BiError(RuntimeError):
    """The BI tool cannot start: the message says what to set or install."""


@dataclass(frozen=True)
class SupersetSite:
    """One Superset installation: its virtualenv, state folder, port and credentials."""

    venv: Path
    state_dir: Path
    port: int
    admin_password: str
    secret_key: str

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def binary(self, name: str) -> Path:
        return self.venv / "bin" / name

    def environment(self) -> dict[str, str]:
        """The process environment of Superset's commands and server."""
        env = {k: v for k, v in os.environ.items() if not k.startswith(("RECSYS_", "PYTHON", "AIRFLOW"))}
        return env | {
            "SUPERSET_CONFIG_PATH": str(CONFIG_FILE),
            "SUPERSET_HOME": str(self.state_dir),
            "RECSYS_SUPERSET_SECRET_KEY": self.secret_key,
            "RECSYS_SUPERSET_METADATA_URL": f"sqlite:///{self.state_dir / 'superset.db'}",
            "FLASK_APP": "superset.app:create_app()",
        }

    def run(self, *args: str, timeout: float = 600) -> str:
        """Run ``superset ARGS`` to completion; its output, or a :class:`BiError`."""
        return self._run([str(self.binary("superset")), *args], timeout)

    def run_script(self, script: Path, *args: str, timeout: float = 600) -> str:
        """Run a Python script of ours with the BI virtualenv's Python (Superset importable)."""
        return self._run([str(self.binary("python")), str(script), *args], timeout)

    def _run(self, argv: list[str], timeout: float) -> str:
        proc = subprocess.run(
            argv, env=self.environment(), cwd=self.state_dir, capture_output=True, text=True, timeout=timeout
        )
        output = proc.stdout + proc.stderr
        if proc.returncode != 0:
            raise BiError(
                f"{' '.join(Path(a).name for a in argv[:3])} failed (exit {proc.returncode}): {_gist(output)}"
            )
        return output


def _gist(output: str) -> str:
    """The exception lines of a failed command's output (a traceback's frames say little), else its tail."""
    lines = output.strip().splitlines()
    raised = [line for line in lines if re.match(r"^[\w.]+(Error|Exception)\b", line)]
    return "\n".join(dict.fromkeys(raised[-4:])) if raised else "\n".join(lines[-15:])


def site(settings: Settings, *, port: int | None = None, state_dir: Path | None = None) -> SupersetSite:
    """The Superset of ``settings`` (``RECSYS_BI__*``); the secret key and admin password are
    generated once and kept in the state folder, readable by their owner only."""
    venv = settings.bi_venv
    if not (venv / "bin" / "superset").exists():
        raise BiError(f"Superset is not installed in {venv}: run `make bi-venv` (or set RECSYS_BI__VENV)")
    state = Path(state_dir or settings.bi_state_dir)
    state.mkdir(parents=True, exist_ok=True)
    password = (
        settings.bi.admin_password.get_secret_value()
        if settings.bi.admin_password is not None
        else _kept_secret(state / "admin_password", 12)
    )
    return SupersetSite(venv, state, port or settings.bi.port, password, _kept_secret(state / "secret_key", 42))


def dashboard_slugs(assets: Path = ASSETS) -> list[str]:
    """The slugs of the repository's dashboards (their URLs: ``/superset/dashboard/<slug>/``)."""
    return sorted(yaml.safe_load(path.read_text())["slug"] for path in (assets / "dashboards").glob("*.yaml"))


def _kept_secret(path: Path, n_bytes: int) -> str:
    if not path.exists():
        path.touch(mode=0o600)
        path.write_text(secrets.token_urlsafe(n_bytes))
    return path.read_text().strip()


def bi_database_url(settings: Settings) -> str:
    """The BI role's SQLAlchemy URL: ``RECSYS_ROLES__BI_URL``, else the embedded server's
    TCP listener (``RECSYS_WAREHOUSE_TCP_PORT``) with the BI password, which is (re)set on
    the embedded server here, as ``recsys warehouse init`` does."""
    if settings.roles.bi_url is not None:
        url = settings.roles.bi_url.get_secret_value()
    else:
        if settings.warehouse_tcp_port is None:
            raise BiError(
                "the BI tool connects over TCP as the read-only BI role: set RECSYS_WAREHOUSE_TCP_PORT "
                "(embedded warehouse; `make bi` uses 55432) or RECSYS_ROLES__BI_URL (external warehouse)"
            )
        base = warehouse.warehouse_url(settings)  # starts the embedded server listening on the port
        if not settings.warehouse_url:
            warehouse.set_password(base, roles.role_name("bi"), roles.bi_password(settings))
        tcp = roles.bi_tcp_url(settings, warehouse.url_parts(base).dbname)
        assert tcp is not None  # the port is set
        url = tcp
    parts = warehouse.url_parts(url)
    if parts.user != roles.role_name("bi"):
        raise BiError(f"the BI tool must connect as {roles.role_name('bi')}, not {parts.user!r} (RECSYS_ROLES__BI_URL)")
    return warehouse.sqlalchemy_url(url)


def prepare(site: SupersetSite) -> None:
    """Migrate the metadata database, create the admin once, set up roles and permissions."""
    started = time.perf_counter()
    site.run("db", "upgrade")
    users = site.run("fab", "list-users")
    if f"username:{ADMIN} " not in users.replace(" | ", " "):
        site.run(
            "fab",
            "create-admin",
            "--username",
            ADMIN,
            "--firstname",
            "Recsys",
            "--lastname",
            "Admin",
            "--email",
            "admin@localhost",
            "--password",
            site.admin_password,
        )
    else:
        site.run("fab", "reset-password", "--username", ADMIN, "--password", site.admin_password)
    site.run("init")
    log.info("Superset metadata ready in %s (%.1f s)", site.state_dir, time.perf_counter() - started)


def database_yaml(sqlalchemy_url: str) -> dict:
    """The warehouse connection as Superset imports it: the BI role's URL, no DML, no uploads."""
    return {
        "database_name": DATABASE_NAME,
        "sqlalchemy_uri": sqlalchemy_url,
        "cache_timeout": None,
        "expose_in_sqllab": True,
        "allow_run_async": False,
        "allow_ctas": False,
        "allow_cvas": False,
        "allow_dml": False,
        "allow_file_upload": False,
        "extra": {"allows_virtual_table_explore": True, "metadata_params": {}, "engine_params": {}},
        "uuid": DATABASE_UUID,
        "version": "1.0.0",
    }


def write_bundle(sqlalchemy_url: str, out: Path) -> Path:
    """The import zip: the repository's datasets, charts and dashboards, the database file
    written from ``sqlalchemy_url`` and the metadata of an "assets" bundle."""
    out.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as bundle:
        for path in sorted(ASSETS.rglob("*.yaml")):
            relative = path.relative_to(ASSETS)
            if relative.parts[0] in ASSET_KINDS:
                bundle.write(path, f"{BUNDLE_ROOT}/{relative}")
        bundle.writestr(
            f"{BUNDLE_ROOT}/databases/{DATABASE_NAME}.yaml",
            yaml.safe_dump(database_yaml(sqlalchemy_url), sort_keys=False),
        )
        bundle.writestr(
            f"{BUNDLE_ROOT}/metadata.yaml",
            yaml.safe_dump({"version": "1.0.0", "type": "assets", "timestamp": "1970-01-01T00:00:00+00:00"}),
        )
    return out


def import_dashboards(site: SupersetSite, sqlalchemy_url: str) -> None:
    """Import every dashboard, chart and dataset of the repository, overwriting what Superset
    holds (``import_assets.py``: Superset's own import-dashboards keeps existing charts)."""
    bundle = write_bundle(sqlalchemy_url, site.state_dir / "bundle.zip")
    try:
        site.run_script(IMPORT_SCRIPT, str(bundle), ADMIN)
    finally:
        bundle.unlink(missing_ok=True)  # it holds the BI password


def start(site: SupersetSite, *, workers: int = 1, threads: int = 8) -> subprocess.Popen:
    """The web server (gunicorn) in the background; its log goes to ``superset.log``."""
    log_file = (site.state_dir / "superset.log").open("ab")
    return subprocess.Popen(
        [
            str(site.binary("gunicorn")),
            "--workers",
            str(workers),
            "--threads",
            str(threads),
            "--timeout",
            "300",
            "--bind",
            f"127.0.0.1:{site.port}",
            "superset.app:create_app()",
        ],
        env=site.environment(),
        cwd=site.state_dir,
        stdout=log_file,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def wait_until_healthy(site: SupersetSite, process: subprocess.Popen, timeout: float = 120) -> float:
    """Seconds until ``/health`` answers OK; raises when the server dies or never answers."""
    started = time.perf_counter()
    while time.perf_counter() - started < timeout:
        if process.poll() is not None:
            tail = (site.state_dir / "superset.log").read_text(errors="replace").splitlines()[-20:]
            raise BiError("Superset stopped while starting:\n" + "\n".join(tail))
        try:
            with urllib.request.urlopen(f"{site.url}/health", timeout=5) as response:
                if response.status == 200:
                    return time.perf_counter() - started
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.5)
    raise BiError(
        f"Superset did not answer on {site.url}/health within {timeout:.0f} s ({site.state_dir}/superset.log)"
    )


def stop(process: subprocess.Popen, timeout: float = 20) -> None:
    """Stop the server started by :func:`start` (its process group: gunicorn and workers)."""
    if process.poll() is not None:
        return
    os.killpg(process.pid, 15)
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, 9)
        process.wait()
