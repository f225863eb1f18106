"""A real chromium (Debian's) driven by Playwright; never a browser Playwright downloads.

When chromium is missing or cannot start, these tests fail with the install command:
they are never skipped.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Error, Page, Playwright, sync_playwright

from . import scenario
from .server import serve_pages

CHROMIUM = os.environ.get("CROSSCHECK_CHROMIUM", "/usr/bin/chromium")
INSTALL_HINT = "install it with `bash scripts/setup` (or: apt-get install chromium)"


# Module scope, not session: Playwright's sync API keeps an event loop installed in
# the main thread while it is open, and the asyncio tests that follow need it gone.
@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="module")
def browser(playwright: Playwright) -> Iterator[Browser]:
    if not shutil.which(CHROMIUM):
        pytest.fail(f"chromium was not found at {CHROMIUM}: {INSTALL_HINT}")
    try:
        # As root chromium refuses its sandbox; the pages under test are our own.
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
    except Error as error:
        pytest.fail(f"chromium at {CHROMIUM} could not start ({error}): {INSTALL_HINT}")
    yield launched
    launched.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context()
    opened = context.new_page()
    yield opened
    context.close()


@pytest.fixture(scope="module")
def base_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The pages over the scenario's store, served for one test module."""
    store = tmp_path_factory.mktemp("pages") / "crosscheck.db"
    with serve_pages(f"sqlite+aiosqlite:///{store}", scenario.SETTINGS, scenario.seed) as url:
        yield url
