"""Open the dashboards in headless Chromium, check every chart drew data, save screenshots.

What a person would check after a deploy, done by a real browser (Debian's ``chromium``
and ``chromium-driver``, driven by Selenium): log in through Superset's form, open each
dashboard, wait until no chart is loading, then read every chart's tile.  A tile that
shows an error, says there is no data, or has drawn nothing (no canvas, SVG, table row
or big number) fails the check.  A full-page screenshot of each dashboard is saved.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from recsys.bi.superset import BiError

#: Text Superset shows in a tile whose query returned nothing.
EMPTY_TEXTS = ("No results were returned", "No data")
#: Seconds a dashboard may take until every chart has finished loading.
LOAD_TIMEOUT = 120
#: Times the login form is filled in before giving up.
LOGIN_ATTEMPTS = 3
#: What a chart's tile looks like in the page: read in the browser in one go.
_TILES_SCRIPT = """
const tiles = [...document.querySelectorAll('[data-test="dashboard-component-chart-holder"]')];
return tiles.map(tile => {
  const title = tile.querySelector('[data-test="editable-title"], .header-title, [data-test="slice-header"]');
  const loading = tile.querySelector('.loading, [aria-label="loading"], [data-test="loading-indicator"]');
  const error = tile.querySelector('[data-test="alert-message"], .ant-alert-error, [role="alert"]');
  const rows = tile.querySelectorAll('tbody tr').length;
  const big = tile.querySelector('.header-line, [data-test="big-number"], .big-number');
  return {
    title: title ? title.innerText.trim() : '',
    loading: !!loading,
    error: error ? error.innerText.trim().slice(0, 300) : '',
    text: tile.innerText.slice(0, 2000),
    drawn: tile.querySelectorAll('canvas, svg').length + rows + (big && big.innerText.trim() ? 1 : 0),
    rows: rows,
  };
});
"""


@dataclass(frozen=True)
class ChartCheck:
    title: str
    ok: bool
    problem: str


@dataclass(frozen=True)
class DashboardCheck:
    slug: str
    charts: tuple[ChartCheck, ...]
    screenshot: Path
    seconds: float

    @property
    def ok(self) -> bool:
        return bool(self.charts) and all(c.ok for c in self.charts)

    def problems(self) -> list[str]:
        if not self.charts:
            return [f"{self.slug}: no chart on the page"]
        return [f"{self.slug} / {c.title or '(untitled)'}: {c.problem}" for c in self.charts if not c.ok]


def chromium_paths() -> tuple[str, str]:
    """The Chromium binary and its driver (Debian packages ``chromium``, ``chromium-driver``)."""
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    if not browser or not driver:
        raise BiError("headless Chromium is needed: `make chromium` (apt-get install chromium chromium-driver)")
    return browser, driver


@contextmanager
def chromium(width: int = 1600, height: int = 1200) -> Iterator:
    """A headless Chromium session (Selenium WebDriver), closed on exit."""
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    browser, driver_path = chromium_paths()
    options = Options()
    options.binary_location = browser
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--disable-gpu",
        f"--window-size={width},{height}",
        "--hide-scrollbars",
    ):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(driver_path), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def log_in(driver, base_url: str, username: str, password: str) -> None:
    """Superset's login form, as a person fills it in."""
    from selenium.common.exceptions import TimeoutException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait

    # The form is drawn by React: a click before its handlers are attached does nothing,
    # so a form still showing after a while is filled in again.
    for _attempt in range(LOGIN_ATTEMPTS):
        driver.get(f"{base_url}/login/")
        user = WebDriverWait(driver, 60).until(
            expected_conditions.element_to_be_clickable((By.CSS_SELECTOR, "input#username, input[name=username]"))
        )
        user.clear()
        user.send_keys(username)
        secret = driver.find_element(By.CSS_SELECTOR, "input#password, input[name=password]")
        secret.clear()
        secret.send_keys(password)
        driver.find_element(By.CSS_SELECTOR, "button[type=submit], input[type=submit]").click()
        try:
            WebDriverWait(driver, 20).until(lambda d: "/login" not in d.current_url)
            return
        except TimeoutException:
            continue
    raise BiError(f"could not log in to {base_url} as {username} ({LOGIN_ATTEMPTS} tries)")


def check_dashboard(driver, base_url: str, slug: str, screenshot: Path) -> DashboardCheck:
    """Open one dashboard, wait for its charts, judge every tile, save a full-page screenshot."""
    started = time.perf_counter()
    driver.get(f"{base_url}/superset/dashboard/{slug}/")
    tiles: list[dict] = []
    deadline = time.monotonic() + LOAD_TIMEOUT
    while time.monotonic() < deadline:
        tiles = driver.execute_script(_TILES_SCRIPT) or []
        if tiles and not any(t["loading"] for t in tiles) and all(t["drawn"] or t["error"] or _empty(t) for t in tiles):
            break
        time.sleep(0.5)
    time.sleep(1.0)  # let the last animations settle for the screenshot
    tiles = driver.execute_script(_TILES_SCRIPT) or []
    charts = tuple(_judge(t) for t in tiles)
    _full_page_screenshot(driver, screenshot)
    return DashboardCheck(slug, charts, screenshot, time.perf_counter() - started)


def _empty(tile: dict) -> bool:
    return any(text in tile["text"] for text in EMPTY_TEXTS)


def _judge(tile: dict) -> ChartCheck:
    if tile["loading"]:
        return ChartCheck(tile["title"], False, "still loading")
    if tile["error"]:
        return ChartCheck(tile["title"], False, f"error: {tile['error']}")
    if _empty(tile):
        return ChartCheck(tile["title"], False, "no data")
    if not tile["drawn"]:
        return ChartCheck(tile["title"], False, "nothing drawn")
    return ChartCheck(tile["title"], True, "")


def _full_page_screenshot(driver, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    width = driver.get_window_size()["width"]
    height = driver.execute_script("return Math.max(document.body.scrollHeight, document.documentElement.scrollHeight)")
    driver.set_window_size(width, min(max(int(height) + 40, 800), 8000))
    time.sleep(0.5)
    driver.save_screenshot(str(path))


def check_dashboards(
    base_url: str, username: str, password: str, slugs: list[str], out_dir: Path
) -> list[DashboardCheck]:
    """Every dashboard of ``slugs`` checked in one browser session; screenshots in ``out_dir``."""
    with chromium() as driver:
        log_in(driver, base_url, username, password)
        checks = []
        for slug in slugs:
            driver.set_window_size(1600, 1200)
            checks.append(check_dashboard(driver, base_url, slug, out_dir / f"{slug}.png"))
        return checks
