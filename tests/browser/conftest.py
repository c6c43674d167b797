"""Browser tests: Playwright's sync API driving Debian's Chromium against pytest-django's live server.

Playwright never downloads a browser here: the tests launch /usr/bin/chromium (`apt-get install chromium`;
.ci/run installs it when missing). Without it the tests skip, except in CI (CI=true), where they fail.

Fixtures: `browser` (one Chromium per test session), `new_context(locale=..., **options)`,
`page` (a page in an English context), `login(page, user)`, `shot(page, name)` and `server_url`.
Screenshots go to test-artifacts/browser/ (gitignored); with AIDCASE_DOCS_SCREENSHOTS=1 the ones taken with
`docs=True` are also written to docs/screenshots/ for the README.
"""

import os
import re
from pathlib import Path

import pytest

CHROMIUM = Path(os.environ.get("AIDCASE_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "browser"
DOCS_SCREENSHOTS = ROOT / "docs" / "screenshots"
PASSWORD = "pw-for-tests-1"  # make_user's default
TIMEOUT_MS = 15_000


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def pytest_collection_modifyitems(config, items):
    """Every test in this folder is a browser test on a transactional database (the live server's thread
    must see what the test wrote), so the reference data fixture reloads crossing points and provinces.

    Browser tests run last: while Playwright is started, its event loop runs in the test thread (see
    `_playwright`), and no other test should see that."""
    here = Path(__file__).parent
    browser, others = [], []
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.browser)
            if item.get_closest_marker("django_db") is None:
                item.add_marker(pytest.mark.django_db(transaction=True))
            browser.append(item)
        else:
            others.append(item)
    items[:] = others + browser


@pytest.fixture(scope="session")
def _playwright():
    if not CHROMIUM.exists():
        message = f"{CHROMIUM} is missing: apt-get install chromium (the browser tests never download one)"
        if _in_ci():
            pytest.fail(message)
        pytest.skip(message)
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:  # pragma: no cover - the dev extra installs it
        if _in_ci():
            raise
        pytest.skip("playwright is not installed: pip install -e '.[dev]'")
    # Playwright's sync API keeps an event loop running in the test thread; Django would then refuse the
    # tests' own (synchronous) queries as "async unsafe". Allowed only while Playwright runs, and never
    # left in the environment of other tests (`check --deploy` rejects it).
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            yield playwright
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture(scope="session")
def browser(_playwright):
    browser = _playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
    yield browser
    browser.close()


@pytest.fixture
def server_url(live_server):
    return live_server.url


@pytest.fixture
def new_context(browser, server_url):
    """Open a browser context (one user's cookies) in a language; closed after the test."""
    contexts = []

    def make(locale: str = "en", **options):
        options.setdefault("viewport", {"width": 1280, "height": 900})
        context = browser.new_context(base_url=server_url, locale=locale, **options)
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        return context

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def page(new_context):
    return new_context("en").new_page()


@pytest.fixture
def login():
    """Log a user in through the login page (make_user's default password)."""

    def do(page, user, password: str = PASSWORD):
        page.goto("/accounts/login/")
        page.fill("#id_username", user.username)
        page.fill("#id_password", password)
        page.locator("main form button[type=submit]").click()
        page.wait_for_load_state()
        assert "/accounts/login/" not in page.url, f"login of {user.username} failed"
        return page

    return do


@pytest.fixture
def shot(request):
    """Save a full-page screenshot named after the test and the step; returns the path."""
    test = re.sub(r"[^A-Za-z0-9_.-]+", "-", request.node.name).strip("-")
    docs = os.environ.get("AIDCASE_DOCS_SCREENSHOTS", "").lower() in ("1", "true", "yes")

    def take(page, name: str, *, docs_name: str | None = None, full_page: bool = True) -> Path:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{test}--{name}.png"
        page.screenshot(path=str(path), full_page=full_page)
        if docs and docs_name:
            DOCS_SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            page.evaluate(
                "() => { document.activeElement && document.activeElement.blur(); window.scrollTo(0, 0); }"
            )
            page.screenshot(path=str(DOCS_SCREENSHOTS / f"{docs_name}.png"), full_page=False)
        return path

    return take
