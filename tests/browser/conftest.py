"""Playwright driving Debian's Chromium (no browser download): fixtures for the console's browser tests.

Screenshots go to ``var/ci/screenshots`` (CI keeps them as artefacts; override the folder above ``screenshots``
with ``TEST_OUTPUT_DIR``). ``assert_accessible`` runs axe-core (vendored from npm under ``vendor/axe-core``,
injected with Playwright's ``add_script_tag`` from a route on the page's origin) on the page. Tests here are
marked ``browser`` and skip with a reason when ``/usr/bin/chromium`` or the playwright package is missing.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
ROOT = Path(__file__).resolve().parents[2]
OUTPUT_DIR = Path(os.environ.get("TEST_OUTPUT_DIR", str(ROOT / "var" / "ci"))) / "screenshots"
AXE_SCRIPT = Path(__file__).with_name("vendor") / "axe-core" / "axe.min.js"
# What fails the check: WCAG A/AA rules (and best practices) at these impacts.
BLOCKING_IMPACTS = ("serious", "critical")

# Playwright's sync API runs an event loop in this thread; Django refuses ORM calls from such a thread unless told.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/browser" in str(item.fspath):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    playwright_sync = pytest.importorskip("playwright.sync_api", reason="needs the playwright package")
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        pytest.skip(f"needs Chromium at {CHROMIUM} (apt-get install chromium)")
    with playwright_sync.sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield instance
        instance.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


@pytest.fixture
def phone_page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


def screenshot(page: Any, name: str) -> Path:
    """Save a full-page screenshot under the test output folder and return its path."""
    OUTPUT_DIR.mkdir(parents=True, exist_ok=True)
    path = OUTPUT_DIR / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def sign_in(page: Any, base_url: str, username: str, password: str = "pw-for-tests-123") -> None:
    page.goto(f"{base_url}/console/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda url: "/console/login/" not in url)


def assert_accessible(page: Any, name: str) -> list[dict[str, Any]]:
    """Run axe-core on the page as it is now and fail on any serious or critical violation, listing each rule
    with the elements it found. Returns the minor and moderate ones (for a test that wants to look at them)."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        # Served from the page's own origin through a Playwright route: the console's CSP (script-src 'self')
        # stays on and still applies to everything else.
        origin = page.evaluate("window.location.origin")
        page.route(
            f"{origin}/__axe-core.js",
            lambda route: route.fulfill(path=str(AXE_SCRIPT), content_type="application/javascript"),
        )
        page.add_script_tag(url=f"{origin}/__axe-core.js")
    result = page.evaluate(
        """async () => {
            const r = await axe.run(document, {resultTypes: ["violations"]});
            return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                                           targets: v.nodes.slice(0, 5).map(n => n.target.join(" "))}));
        }"""
    )
    blocking = [v for v in result if v["impact"] in BLOCKING_IMPACTS]
    assert not blocking, f"axe-core on {name}: " + "; ".join(
        f"{v['impact']} {v['id']} ({v['help']}): {', '.join(v['targets'])}" for v in blocking
    )
    return [v for v in result if v["impact"] not in BLOCKING_IMPACTS]
