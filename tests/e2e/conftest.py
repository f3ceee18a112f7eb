"""Fixtures of the browser tests: one live site per test session, one headless Chromium per test.

The site is the real first run of a deployment: ``manage.py bootstrap`` in a
subprocess against a fresh project folder (SQLite), whose printed one-time
password the first-run test reads, then gunicorn serving that folder. The
test process never opens the site's database; it acts through the browser,
``manage.py`` and the site's files. That also keeps Django's ORM out of the
test thread while Playwright's sync API runs an event loop in it.
"""

import re
from pathlib import Path

import pytest

from tests.conftest import chromium_path
from tests.e2e.live_site import LiveSite

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
# Page loads wait for Argon2 and a busy CI machine; Playwright's 5-second default is too short there.
TIMEOUT_MS = 30_000

BOOTSTRAP_EMAIL = re.compile(r"^\s*email:\s+(\S+)\s*$", re.MULTILINE)
BOOTSTRAP_PASSWORD = re.compile(r"^\s*password:\s+(\S+)\s*$", re.MULTILINE)

phase_reports = pytest.StashKey[dict]()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    # Keep each phase's report on the item, so fixtures can tell in their
    # teardown whether the test failed.
    report = yield
    item.stash.setdefault(phase_reports, {})[report.when] = report
    return report


class FirstRun:
    """The first Admin that ``manage.py bootstrap`` created and the one-time password it printed."""

    def __init__(self, output: str):
        email = BOOTSTRAP_EMAIL.search(output)
        password = BOOTSTRAP_PASSWORD.search(output)
        assert email and password, f"manage.py bootstrap printed no email and password:\n{output}"
        self.email = email.group(1)
        self.password = password.group(1)


@pytest.fixture(scope="session")
def site(tmp_path_factory):
    """A freshly bootstrapped deployment served by gunicorn; ``site.first_run`` contains the printed credentials."""
    live_site = LiveSite(tmp_path_factory.mktemp("e2e-site"))
    live_site.first_run = FirstRun(live_site.manage("bootstrap").stdout)
    with live_site:
        yield live_site


@pytest.fixture
def browser(request):
    """A headless Chromium; on failure, every open page is saved to test-artifacts/ before it closes."""
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=TIMEOUT_MS)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=chromium_path(), headless=True, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            reports = request.node.stash.get(phase_reports, {})
            if any(report.failed for report in reports.values()):
                save_screenshots(chromium, request.node.name)
            chromium.close()


@pytest.fixture
def new_page(browser):
    """Return a function that opens a page in a new browser context: a separate person with no cookies."""

    def open_page():
        context = browser.new_context()
        context.set_default_timeout(TIMEOUT_MS)
        return context.new_page()

    return open_page


def save_screenshots(browser, test_name: str) -> list[Path]:
    ARTIFACTS.mkdir(exist_ok=True)
    safe_name = re.sub(r"[^A-Za-z0-9_.-]", "_", test_name)
    saved = []
    for context_number, context in enumerate(browser.contexts, start=1):
        for page_number, page in enumerate(context.pages, start=1):
            path = ARTIFACTS / f"{safe_name}-context{context_number}-page{page_number}.png"
            try:
                page.screenshot(path=str(path), full_page=True)
            except Exception as error:  # noqa: BLE001 - a closed or crashed page must not hide the test's failure.
                print(f"Could not save a screenshot of {page.url}: {error}")
                continue
            saved.append(path)
            print(f"Saved a screenshot of {page.url} to {path}")
    return saved
