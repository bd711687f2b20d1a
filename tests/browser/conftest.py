"""Real-browser fixtures: the system Chromium driven by Playwright against Django's live server.
Each test saves a screenshot of every step under tests/browser/screenshots/<test>/ (CI prints the list)."""
import os
import re
import shutil
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
SCREENSHOTS = Path(os.environ.get("BROWSER_SCREENSHOTS", Path(__file__).parent / "screenshots"))

# Playwright's sync API keeps an event loop in the test's thread; the test still talks to the database
# synchronously between browser steps, which is safe here (one thread, no concurrent coroutines).
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


def pytest_collection_modifyitems(config, items):
    """Browser tests commit through the live server; tests/conftest.py's seed_rows gives each (and every
    test after it) the migrations' own rows back, as the flush at the end takes them."""
    if Path(CHROMIUM).exists():
        return
    for item in items:
        if "tests/browser/" in str(item.fspath).replace(os.sep, "/"):
            item.add_marker(pytest.mark.skip(reason=f"needs Chromium at {CHROMIUM}: apt-get install chromium"))


@pytest.fixture(scope="session")
def chromium():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        yield browser
        browser.close()


class Screens:
    """Numbered screenshots of one test's steps: screens.take(page, "cart")."""

    def __init__(self, folder: Path):
        self.folder, self.count = folder, 0
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)

    def take(self, page, step: str) -> Path:
        self.count += 1
        path = self.folder / f"{self.count:02d}-{re.sub(r'[^a-z0-9]+', '-', step.lower()).strip('-')}.png"
        page.screenshot(path=str(path), full_page=True)
        return path


@pytest.fixture
def screens(request) -> Screens:
    return Screens(SCREENSHOTS / re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name))


@pytest.fixture
def browser_page(chromium, live_server):
    """A fresh browser (own cookies) at a phone-friendly desktop size, pointed at the live server."""
    context = chromium.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900},
                                   locale="en-GB")
    context.set_default_timeout(15_000)
    page = context.new_page()
    yield page
    context.close()
