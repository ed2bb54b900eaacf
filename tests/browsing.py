"""Helpers of the browser journeys (headless Chromium from Debian's package, driven by Playwright).

The fixtures that use them (`browser`, `page`, `demo`) are in tests/conftest.py.
"""

from pathlib import Path

from vendorselect.management.commands.seed_demo import demo_password

CHROMIUM = "/usr/bin/chromium"
ROOT = Path(__file__).resolve().parent.parent
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"


def new_page(browser, base_url, **options):
    """A page in a fresh browser context (its own cookies) that records console errors in `page.console_errors`."""
    context = browser.new_context(base_url=base_url, viewport={"width": 1440, "height": 900}, **options)
    page = context.new_page()
    page.console_errors = []
    page.on("console", lambda message: message.type == "error" and page.console_errors.append(message.text))
    return page


def login(page, username):
    page.goto("/login/")
    page.get_by_label("User name").fill(username)
    page.get_by_label("Password").fill(demo_password(username))
    page.get_by_role("button", name="Sign in").click()


def shot(page, name):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
