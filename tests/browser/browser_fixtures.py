"""Fixtures of the real-browser tests (``pytest_plugins = ("browser_fixtures",)``): Playwright
for Python driving the machine's Chromium (Debian's package, installed by .ci/run; nothing here
downloads a browser) against the app served on loopback.

Every test saves a screenshot of each page it visits under test-artifacts/screenshots, which CI
keeps. The browser tests run on SQLite: what they prove is the pages, not the SQL dialect (the
page tests under tests/web run on both databases).
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, sync_playwright

from builders import Clock, make_context
from live_server import served
from skillvoucher.application.context import AppContext

SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
# The flags keep Chromium off the network it would otherwise call home to; these machines have
# no internet and refuse those connections.
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


def chromium_executable() -> str | None:
    named = os.environ.get("SKILLVOUCHER_CHROMIUM")
    if named:
        return named
    for candidate in ("chromium", "chromium-browser"):
        found = shutil.which(candidate)
        if found:
            return found
    return None


@pytest.fixture
def site(sqlite_database_url: str, tmp_path: Path, clock: Clock) -> Iterator[AppContext]:
    """The application context the served site runs on (SQLite), for arranging a test's world."""
    context = make_context(sqlite_database_url, tmp_path, clock)
    try:
        yield context
    finally:
        context.close()


@pytest.fixture(scope="session")
def playwright_driver() -> Iterator[Playwright]:
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="session")
def browser(playwright_driver: Playwright) -> Iterator[Browser]:
    executable = chromium_executable()
    if executable is None:
        reason = "no Chromium on this machine (apt-get install chromium fonts-noto-cjk)"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason}; CI=true: the browser tests may not be skipped")
        pytest.skip(reason)
    launched = playwright_driver.chromium.launch(executable_path=executable, args=CHROMIUM_FLAGS)
    try:
        yield launched
    finally:
        launched.close()


@pytest.fixture
def live_url(site: AppContext) -> Iterator[str]:
    """The app over the test's database, served on a free loopback port."""
    with served(site, pool_size=4) as url:
        yield url


# A resident ID number: 17 digits and a check character, not part of a longer number.
RESIDENT_ID_IN_TEXT = re.compile(r"(?<![0-9A-Za-z])\d{17}[\dXx](?![0-9A-Za-z])")


@contextmanager
def no_id_numbers_in_urls(context: BrowserContext) -> Iterator[None]:
    """Fails the test if any request the browser made carried a resident ID number in its URL
    (query strings and paths end up in logs, history and Referer headers)."""
    requested: list[str] = []
    context.on("request", lambda request: requested.append(request.url))
    yield
    leaked = [url for url in requested if RESIDENT_ID_IN_TEXT.search(url)]
    assert leaked == [], "resident ID numbers in URLs"
    assert requested, "the browser requested nothing"


@pytest.fixture
def phone(browser: Browser, live_url: str) -> Iterator[Page]:
    """A phone-sized page (a worker's view), in Chinese."""
    context = browser.new_context(
        base_url=live_url,
        viewport={"width": 390, "height": 844},
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
        locale="zh-CN",
    )
    context.set_default_timeout(15_000)
    try:
        with no_id_numbers_in_urls(context):
            yield context.new_page()
    finally:
        context.close()


@pytest.fixture
def desktop(browser: Browser, live_url: str) -> Iterator[Page]:
    """A desktop-sized page (staff and administrators), in Chinese."""
    context = browser.new_context(
        base_url=live_url, viewport={"width": 1280, "height": 900}, locale="zh-CN"
    )
    context.set_default_timeout(15_000)
    try:
        with no_id_numbers_in_urls(context):
            yield context.new_page()
    finally:
        context.close()


@pytest.fixture
def screenshot(request: pytest.FixtureRequest) -> Callable[[Page, str], Path]:
    """``screenshot(page, "name")`` saves the whole page as
    test-artifacts/screenshots/<test>-<n>-<name>.png."""
    test = re.sub(r"[^A-Za-z0-9_.-]+", "-", request.node.name).strip("-")
    counter = iter(range(1, 1000))

    def take(page: Page, name: str) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{test}-{next(counter):02d}-{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take
