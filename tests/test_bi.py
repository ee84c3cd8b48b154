"""The BI tool: Superset's dashboards kept in the repository, served against a generated
warehouse as the read-only BI role, opened in headless Chromium; the offline Data Docs page.

The browser tests need Superset's virtualenv (``make bi-venv``) and Chromium (``make
chromium``); ``make test`` builds both first.  They skip only where Chromium or the
virtualenv cannot be had, and never under CI (``CI`` set), where a skip would hide them.
Screenshots go to ``artifacts/bi/screenshots`` (kept by CI as artifacts, never committed).
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import tempfile
from pathlib import Path

import psycopg
import pytest
import yaml
from conftest import REPO

from recsys.bi import browser, superset
from recsys.platform import embedded, roles, warehouse
from recsys.platform.settings import BiConfig, Settings, get_settings

SCREENSHOTS = REPO / "artifacts" / "bi" / "screenshots"
MODELS = REPO / "dbt" / "models" / "bi"
DASHBOARDS = {"shop-kpis", "recommendations", "model-quality", "data-quality", "stock", "customer-segments"}


def _assets(kind: str) -> list[dict]:
    return [yaml.safe_load(p.read_text()) for p in sorted((superset.ASSETS / kind).rglob("*.yaml"))]


def _tables_of_dashboards() -> dict[str, set[str]]:
    """Each dashboard's slug and the bi models its charts read."""
    tables = {d["uuid"]: d["table_name"] for d in _assets("datasets")}
    chart_tables = {c["uuid"]: tables[c["dataset_uuid"]] for c in _assets("charts")}
    return {
        d["slug"]: {chart_tables[item["meta"]["uuid"]] for item in d["position"].values() if _is_chart(item)}
        for d in _assets("dashboards")
    }


def _is_chart(item) -> bool:
    return isinstance(item, dict) and item.get("type") == "CHART"


def test_every_dashboard_is_an_exposure_reading_only_its_declared_models():
    exposures = yaml.safe_load((MODELS / "_bi__exposures.yml").read_text())["exposures"]
    by_slug = {
        m.group(1): e
        for e in exposures
        if e["type"] == "dashboard" and (m := re.search(r"/superset/dashboard/([\w-]+)/$", e.get("url", "")))
    }
    reads = _tables_of_dashboards()
    assert set(reads) == DASHBOARDS == set(by_slug)
    for slug, tables in reads.items():
        declared = {re.sub(r"^ref\('(\w+)'\)$", r"\1", d) for d in by_slug[slug]["depends_on"]}
        assert tables <= declared, f"{slug} reads {tables - declared} without declaring it"


def test_datasets_are_bi_models_with_their_documented_columns():
    models = {m["name"]: m for m in yaml.safe_load((MODELS / "_bi__models.yml").read_text())["models"]}
    charts = _assets("charts")
    for dataset in _assets("datasets"):
        assert dataset["schema"] == "bi" and dataset["database_uuid"] == superset.DATABASE_UUID
        documented = {c["name"] for c in models[dataset["table_name"]]["columns"]}
        assert {c["column_name"] for c in dataset["columns"]} == documented, dataset["table_name"]
    assert {c["dataset_uuid"] for c in charts} == {d["uuid"] for d in _assets("datasets")}, "no dataset unused"


def test_the_bundle_carries_the_bi_login_and_no_dml():
    url = "postgresql+psycopg2://recsys_bi:secret@127.0.0.1:55432/warehouse"
    config = superset.database_yaml(url)
    assert config["sqlalchemy_uri"] == url and not config["allow_dml"] and not config["allow_file_upload"]
    assert not list(superset.ASSETS.glob("databases/*.yaml")), "no connection (nor password) in the repository"


def test_the_bi_tool_refuses_another_login():
    superuser = get_settings({"RECSYS_ROLES__BI_URL": "postgresql://postgres:pw@db.example.com/warehouse"})
    with pytest.raises(superset.BiError, match="must connect as recsys_bi"):
        superset.bi_database_url(superuser)
    with pytest.raises(superset.BiError, match="RECSYS_WAREHOUSE_TCP_PORT"):
        superset.bi_database_url(get_settings({"WAREHOUSE_URL": "postgresql://x@db.example.com/warehouse"}))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _browser_or_skip() -> None:
    """Chromium and Superset's virtualenv, or a skip where they cannot be installed (never in CI)."""
    missing = []
    try:
        browser.chromium_paths()
    except superset.BiError as exc:
        missing.append(str(exc))
    if not (REPO / ".venv-bi" / "bin" / "superset").exists():
        missing.append("Superset's virtualenv is missing: `make bi-venv`")
    if missing:
        if os.environ.get("CI"):
            pytest.fail("; ".join(missing) + " (CI must run the browser tests)")
        pytest.skip("; ".join(missing))


@pytest.fixture(scope="module")
def demo_shop():
    """The tiny generated shop, two nights with their gates and a published run, on a
    server of its own that listens on TCP for the BI role (as `make bi` starts it)."""
    _browser_or_skip()
    from nightly import generated_nights, run_night, train_and_publish

    from recsys.generator.spec import shop_spec

    # pg_ctl runs as the pgserver user, which cannot enter pytest's private tmp folders
    (REPO / ".data").mkdir(exist_ok=True)  # a fresh clone has no .data yet
    home = Path(tempfile.mkdtemp(prefix="test_bi_", dir=REPO / ".data"))
    (home / "dbt").symlink_to(REPO / "dbt")
    settings = Settings(
        home=home,
        warehouse_url=None,
        warehouse_tcp_port=_free_port(),
        bi=BiConfig(venv=REPO / ".venv-bi", port=_free_port()),
    )
    url = warehouse.warehouse_url(settings)
    warehouse.ensure_schemas(url)
    try:
        nights = generated_nights(url, settings, shop_spec("tiny"), daily_days=1)
        for day in nights.dates:
            run_night(nights, day)
        train_and_publish(nights, nights.dates[-1])
        yield settings, url
    finally:
        embedded.stop_embedded(settings)
        shutil.rmtree(home, ignore_errors=True)


@pytest.fixture(scope="module")
def superset_site(demo_shop):
    settings, _ = demo_shop
    site = superset.site(settings)
    superset.prepare(site)
    superset.import_dashboards(site, superset.bi_database_url(settings))
    process = superset.start(site)
    try:
        superset.wait_until_healthy(site, process)
        yield site
    finally:
        superset.stop(process)


@pytest.mark.integration
def test_every_dashboard_draws_every_chart_with_data_in_chromium(superset_site):
    checks = browser.check_dashboards(
        superset_site.url, superset.ADMIN, superset_site.admin_password, superset.dashboard_slugs(), SCREENSHOTS
    )
    assert {c.slug for c in checks} == DASHBOARDS
    assert [line for c in checks for line in c.problems()] == []
    expected = {slug: len(_charts_of(slug)) for slug in DASHBOARDS}
    assert {c.slug: len(c.charts) for c in checks} == expected, "every chart of the YAML is on its page"
    for c in checks:
        assert c.screenshot.stat().st_size > 20_000, f"{c.screenshot} looks blank"


def _charts_of(slug: str) -> list[dict]:
    (dashboard,) = (d for d in _assets("dashboards") if d["slug"] == slug)
    return [item for item in dashboard["position"].values() if _is_chart(item)]


@pytest.mark.integration
def test_superset_reads_as_the_bi_role_and_cannot_write(superset_site, demo_shop):
    from recsys.bi import api

    settings, url = demo_shop
    session = api.SupersetApi.login(superset_site.url, superset.ADMIN, superset_site.admin_password)
    (database,) = session.databases()
    assert not database["allow_dml"] and "//recsys_bi:" in session.connection(database["id"])["sqlalchemy_uri"]
    answer = session.sql(database["id"], "select count(*) as n from bi.bi_daily_kpis")
    assert answer["data"][0]["n"] > 0
    with pytest.raises(superset.BiError, match="DML_NOT_ALLOWED"):
        session.sql(database["id"], "delete from marts.dim_customers")
    # below Superset, the login itself cannot write (tests/test_roles.py tries every way)
    bi_login = superset.bi_database_url(settings).replace("+psycopg2", "")
    with psycopg.connect(bi_login) as conn, pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
        conn.execute("delete from marts.dim_customers")
    with psycopg.connect(url) as conn:
        assert conn.execute("select count(*) from marts.dim_customers").fetchone()[0] > 0


@pytest.mark.integration
def test_the_offline_validation_page_shows_every_validation_in_chromium(demo_shop, tmp_path):
    from recsys_expectations.page import write_page

    settings, url = demo_shop
    page = write_page(roles.role_url(url, "quality", settings), settings)
    html = page.read_text()
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", html), "nothing loaded from the network"
    with psycopg.connect(url) as conn:
        (expected,) = conn.execute(
            "select count(distinct (run_id, table_name, suite_name)) from dq.validation_results"
        ).fetchone()
    assert expected > 0
    with browser.chromium() as driver:
        driver.get(page.as_uri())
        shown = driver.execute_script("return document.querySelectorAll('#validations tr.validation').length")
        count = driver.execute_script("return document.getElementById('n-validations').innerText")
        first = driver.execute_script(
            "const d = document.querySelector('#validations details'); d.open = true;"
            " return d.querySelectorAll('tbody tr').length"
        )
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        driver.save_screenshot(str(SCREENSHOTS / "validations.png"))
    assert shown == expected and count == str(expected)
    assert first > 0, "a validation opens on its expectations"


def test_screenshot_in_the_readme_is_committed_and_small():
    image = REPO / "docs" / "img" / "superset-shop-kpis.png"
    assert image.exists() and image.stat().st_size < 300_000
    assert "docs/img/superset-shop-kpis.png" in (REPO / "README.md").read_text()
