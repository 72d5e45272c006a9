"""Headless Chromium for page tests: Playwright's sync API driving Debian's /usr/bin/chromium.

scripts/test.sh installs the chromium package (`playwright install` cannot download here).
One browser for the whole session (start-up is the slow part); each test gets a fresh
context, so cookies and storage never leak between tests.

The sync API runs its own asyncio loop in a greenlet and, while it is alive, marks that loop
as running in the main thread. Left that way, every later asyncio.run() or pytest-aiohttp
async test in the session fails with "cannot be called from a running event loop". So the
loop is marked running only while a test that uses the browser runs (see _browser_loop);
such a test cannot itself use asyncio in the main thread, which page tests don't need:
the server under test runs in its own thread.
"""

import asyncio
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

CHROMIUM = "/usr/bin/chromium"
# No sandbox (we run as root); no GPU; and no background connections to Google services,
# which this closed network refuses.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TIMEOUT_MS = 10_000
expect.set_options(timeout=TIMEOUT_MS)  # expect() has its own default, 5 s


@pytest.fixture(scope="session")
def _playwright_loop() -> Iterator[list]:
    """Holds Playwright's event loop once the browser has started (empty before)."""
    yield []


@pytest.fixture(scope="session")
def browser(_playwright_loop: list) -> Iterator[Browser]:
    playwright = sync_playwright().start()
    loop = asyncio.get_running_loop()  # Playwright's own, marked running by start()
    try:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
    except BaseException:
        playwright.stop()
        raise
    _playwright_loop.append(loop)
    asyncio._set_running_loop(None)  # hidden from other tests until _browser_loop marks it
    yield browser
    asyncio._set_running_loop(loop)
    try:
        browser.close()
    finally:
        playwright.stop()  # ends the driver and closes the loop; nothing is marked running after


@pytest.fixture(autouse=True)
def _browser_loop(request: pytest.FixtureRequest) -> Iterator[None]:
    """Marks Playwright's loop running for the duration of each test that uses the browser."""
    if "browser" not in request.fixturenames:
        yield
        return
    request.getfixturevalue("browser")
    (loop,) = request.getfixturevalue("_playwright_loop")
    asyncio._set_running_loop(loop)
    try:
        yield
    finally:
        asyncio._set_running_loop(None)


def _new_page(browser: Browser, **context_options) -> Iterator[Page]:
    context = browser.new_context(**context_options)
    context.set_default_timeout(TIMEOUT_MS)
    context.set_default_navigation_timeout(TIMEOUT_MS)
    try:
        yield context.new_page()
    finally:
        context.close()


@pytest.fixture
def page(_browser_loop: None, browser: Browser) -> Iterator[Page]:
    yield from _new_page(browser)


@pytest.fixture
def no_js_page(_browser_loop: None, browser: Browser) -> Iterator[Page]:
    yield from _new_page(browser, java_script_enabled=False)


def assert_no_inline_script(page: Page) -> None:
    """The hosted pages run no inline script: at most the passkeys' own file, from our
    origin (the pages' CSP allows nothing else)."""
    for script in page.locator("script").all():
        assert script.get_attribute("src") == "/static/passkeys.js" and script.inner_text() == ""
