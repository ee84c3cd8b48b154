"""Superset's REST API, the few calls the platform makes: log in, list and export
dashboards, run a statement through SQL Lab, list the databases.

Used by ``recsys bi export`` (dashboards from the UI back into the repository) and by the
tests that check what the BI connection may do.
"""

from __future__ import annotations

import http.cookiejar
import io
import json
import re
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from recsys.bi.superset import ASSET_KINDS, ASSETS, BiError


@dataclass
class SupersetApi:
    """A logged-in API session (JWT bearer token and the CSRF token write calls need)."""

    base_url: str
    token: str = ""
    csrf: str = ""
    opener: urllib.request.OpenerDirector = field(
        default_factory=lambda: urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
        )
    )

    @classmethod
    def login(cls, base_url: str, username: str, password: str) -> SupersetApi:
        api = cls(base_url.rstrip("/"))
        answer = api.call(
            "POST", "/api/v1/security/login", {"username": username, "password": password, "provider": "db"}
        )
        api.token = answer["access_token"]
        api.csrf = api.call("GET", "/api/v1/security/csrf_token/")["result"]
        return api

    def call(self, method: str, path: str, body: dict | None = None, *, raw: bool = False) -> Any:
        headers = {"Content-Type": "application/json", "Referer": self.base_url}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        if self.csrf:
            headers["X-CSRFToken"] = self.csrf
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.base_url + path, data=data, headers=headers, method=method)
        try:
            with self.opener.open(request, timeout=300) as response:
                payload = response.read()
        except urllib.error.HTTPError as exc:
            detail = exc.read().decode(errors="replace")[:500]
            raise BiError(f"Superset {method} {path}: HTTP {exc.code}: {detail}") from exc
        return payload if raw else json.loads(payload or b"{}")

    def dashboards(self) -> list[dict]:
        query = urllib.parse.quote("(page_size:100,columns:!(id,dashboard_title,slug))")
        return self.call("GET", f"/api/v1/dashboard/?q={query}")["result"]

    def databases(self) -> list[dict]:
        query = urllib.parse.quote("(page_size:100,columns:!(id,database_name,allow_dml))")
        return self.call("GET", f"/api/v1/database/?q={query}")["result"]

    def connection(self, database_id: int) -> dict:
        """A database's connection settings (its URL with the password masked)."""
        return self.call("GET", f"/api/v1/database/{database_id}/connection")["result"]

    def sql(self, database_id: int, statement: str, schema: str = "bi") -> dict:
        """Run ``statement`` in SQL Lab (synchronously); the answer, or BiError with Superset's refusal."""
        return self.call(
            "POST",
            "/api/v1/sqllab/execute/",
            {"database_id": database_id, "sql": statement, "schema": schema, "runAsync": False, "queryLimit": 100},
        )

    def export_dashboards(self) -> bytes:
        ids = ",".join(str(d["id"]) for d in self.dashboards())
        return self.call("GET", f"/api/v1/dashboard/export/?q=!({ids})", raw=True)


def write_assets(bundle: bytes, assets: Path = ASSETS) -> list[Path]:
    """Replace the repository's dashboards, charts and datasets with an export; the database
    file and the metadata are left out (:func:`recsys.bi.superset.write_bundle` writes them)."""
    written = []
    for sub in ASSET_KINDS:
        for old in (assets / sub).rglob("*.yaml"):
            old.unlink()
    with zipfile.ZipFile(io.BytesIO(bundle)) as archive:
        for name in archive.namelist():
            relative = Path(*Path(name).parts[1:])
            if not name.endswith(".yaml") or relative.parts[0] not in ASSET_KINDS:
                continue
            # Superset suffixes each file with its id in this installation: dropped, so that
            # an export from another installation rewrites the same files
            target = assets / relative.with_name(re.sub(r"_\d+\.yaml$", ".yaml", relative.name))
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(archive.read(name))
            written.append(target)
    return written
