"""Helpers of the browser journeys (headless Chromium from Debian's package, driven by Playwright).

The fixtures that use them (`browser`, `page`, `demo`) are in tests/conftest.py.

Every page made by `new_page` records what the browser reports as wrong in `page.console_errors`:
console errors (a failed request, a script error logged), uncaught exceptions ("pageerror") and every
Content-Security-Policy violation (an inline style or script the policy blocks, reported by the page's
own `securitypolicyviolation` event, so that it counts even where Chromium logs no console message).
A journey ends with `assert_no_console_errors(page)`; `axe_violations(page)` runs axe-core without
bypassing the CSP, so an accessibility check does not hide CSP violations either.
"""

from pathlib import Path

from vendorselect.management.commands.seed_demo import demo_password

CHROMIUM = "/usr/bin/chromium"
ROOT = Path(__file__).resolve().parent.parent
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"

# Runs in every document before its own scripts (Playwright's init scripts are not subject to the CSP).
_REPORT_CSP_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", (event) => {
  const element = event.target && event.target.outerHTML ? ` on ${event.target.outerHTML.slice(0, 160)}` : "";
  console.error(`CSP violation: ${event.violatedDirective} blocked ${event.blockedURI || "inline"}`
    + ` at ${event.sourceFile || location.pathname}:${event.lineNumber}${element}`
    + (event.sample ? ` (${event.sample})` : ""));
});
"""


def new_page(browser, base_url, **options):
    """A page in a fresh browser context (its own cookies) that records console errors, uncaught exceptions
    and CSP violations in `page.console_errors`."""
    context = browser.new_context(base_url=base_url, viewport={"width": 1440, "height": 900}, **options)
    context.add_init_script(_REPORT_CSP_VIOLATIONS)
    page = context.new_page()
    record_errors(page)
    return page


def record_errors(page):
    """Collect the page's console errors, uncaught exceptions and CSP violations in `page.console_errors`."""
    page.console_errors = []
    page.on(
        "console",
        lambda message: (
            message.type == "error"
            and page.console_errors.append(f"{message.text} ({message.location.get('url', '')})")
        ),
    )
    page.on("pageerror", lambda error: page.console_errors.append(f"Uncaught: {error}"))
    return page


def assert_no_console_errors(page):
    """The journey's pages logged no error, raised nothing and broke no CSP rule (inline styles included)."""
    errors = list(page.console_errors)
    assert errors == [], "The browser reported errors:\n" + "\n".join(errors)


def axe_violations(page, impacts=("serious", "critical")) -> list[str]:
    """axe-core's violations of these impacts on the current page ("rule-id selector"). axe is evaluated
    through the DevTools protocol, not injected as an inline <script>, so the page keeps its CSP."""
    if not page.evaluate("() => Boolean(window.axe)"):
        page.evaluate(AXE.read_text(encoding="utf-8") + "\n;undefined")
    return page.evaluate(
        "async (impacts) => (await axe.run()).violations"
        ".filter(v => impacts.includes(v.impact)).map(v => v.id + ' ' + v.nodes[0].target)",
        list(impacts),
    )


def login(page, username):
    page.goto("/login/")
    page.get_by_label("User name").fill(username)
    page.get_by_label("Password").fill(demo_password(username))
    page.get_by_role("button", name="Sign in").click()


def shot(page, name):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
