"""The vendor register in a browser at desktop (1440 px) and phone (390 px) widths: searchable
multi-selects used from the keyboard, one-line vendor names, a collapsed navigation and results
before the filters on a phone, filter errors in place; no console errors, no serious axe finding."""

import io
import re

import pytest
from playwright.sync_api import expect

from tests.browsing import axe_violations, login, new_page, shot
from tests.factories import VendorFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


SHOWN = re.compile(r"\bshow\b")  # an offcanvas panel at the end of its transition ("showing" before)
LONG_NAME = "Northbridge Advanced Biologics Contract Development and Manufacturing Services"


@pytest.fixture
def register(transactional_db):
    """The demo's users and register (not its audits and evaluations, which these pages do not show),
    and a vendor with a long name."""
    from vendorselect.management.commands.seed_demo import Command

    command = Command(stdout=io.StringIO())
    command.ensure_reference_data()
    command.seed_users()
    command.seed_register()
    VendorFactory(name=LONG_NAME, legal_name=f"{LONG_NAME} GmbH & Co. KG", kinds=["CDMO", "CRO"])


def violations_on(browser, base_url, urls, width=1440, open_filters=False, **options) -> dict[str, list[str]]:
    """Serious and critical axe findings on each page, and what broke the CSP (axe runs under it)."""
    page = new_page(browser, base_url, **options)
    page.set_viewport_size({"width": width, "height": 900})
    found = {}
    try:
        login(page, "lead")
        for url in urls:
            page.goto(url)
            page.wait_for_selector(".ts-wrapper", state="attached")  # the multi-selects are built
            if open_filters:
                page.get_by_role("button", name=re.compile("^Filters")).click()
                expect(page.locator("#vendor-filters")).to_have_class(SHOWN)
            violations = axe_violations(page) + page.console_errors
            if violations:
                found[url] = violations
    finally:
        page.context.close()
    return found


def test_register_filters_with_the_keyboard_at_1440(page, browser, live_server, register):
    login(page, "lead")
    page.goto("/vendors/")
    nav = page.get_by_role("navigation", name="Main")
    assert nav.get_by_role("link", name="Vendors", exact=True).is_visible()
    assert not page.get_by_role("button", name="Menu").is_visible()
    assert not page.get_by_role("button", name=re.compile("^Filters")).is_visible()

    # Services: a combobox to type in, no Ctrl-click list box.
    services = page.get_by_role("combobox", name="Services (all of)")
    services.focus()
    page.keyboard.type("fill")
    listbox = page.get_by_role("listbox", name="Services (all of)")
    expect(listbox.get_by_role("option")).to_have_count(1)  # the search narrowed the 35 services
    expect(listbox.get_by_role("option", name="Fill-finish")).to_be_visible()
    page.keyboard.press("Enter")
    page.keyboard.press("Escape")
    expect(listbox).to_be_hidden()
    # Countries: only those of the register, each with its number of vendors.
    countries = page.get_by_role("combobox", name="Headquarters country")
    countries.focus()
    listed = page.locator("#id_country-ts-dropdown [role=option]").all_inner_texts()
    assert listed and all(re.search(r"\(\d+\)$", text) for text in listed)
    assert not any(text.startswith("Antarctica") for text in listed)
    page.keyboard.type("ger")
    expect(page.locator("#id_country-ts-dropdown [role=option]")).to_have_text([re.compile(r"^Germany \(\d+\)$")])
    shot(page, "vendor-filters-multiselect")
    page.keyboard.press("Escape")
    page.get_by_role("button", name="Apply filters").click()
    page.wait_for_url(re.compile(r"service=fill-finish"))
    rows = page.locator("table.vendor-table tbody tr")
    assert rows.count() >= 1
    # The choice is kept on the reloaded page.
    expect(page.locator("#id_service + .ts-wrapper .item")).to_have_attribute("data-value", "fill-finish")

    # Vendor names take two lines at most; the whole name is in the title (and the text, for screen readers).
    page.goto("/vendors/?ordering=-name")
    long_name = page.get_by_role("link", name=LONG_NAME)
    assert long_name.get_attribute("title") == LONG_NAME
    assert long_name.evaluate("a => a.scrollHeight > a.clientHeight")  # cut visually, whole in the text
    names = page.locator("table.vendor-table td.col-vendor a")
    assert names.count() >= 10
    heights = names.evaluate_all("links => links.map(a => a.getBoundingClientRect().height)")
    line = names.first.evaluate("a => parseFloat(getComputedStyle(a).lineHeight)")
    assert max(heights) < 2.5 * line, heights
    assert sum(height < 1.5 * line for height in heights) >= len(heights) / 2  # most on one line
    for link in names.all():
        assert link.get_attribute("title") == link.inner_text()
    shot(page, "vendor-list-1440")
    assert page.console_errors == [], page.console_errors
    urls = ["/vendors/?ordering=-name", "/vendors/?service=fill-finish&country=DE", "/vendors/?scale_from=5&scale_to=1"]
    assert violations_on(browser, live_server.url, urls) == {}


def test_register_on_a_phone(browser, live_server, register):
    phone = {"is_mobile": True, "has_touch": True}
    page = new_page(browser, live_server.url, **phone)
    page.set_viewport_size({"width": 390, "height": 844})
    try:
        login(page, "lead")
        page.goto("/vendors/")
        # The navigation is collapsed behind the menu button.
        nav = page.get_by_role("navigation", name="Main")
        assert not nav.is_visible()
        page.get_by_role("button", name="Menu").click()
        expect(page.locator("#app-nav")).to_have_class(SHOWN)
        assert nav.get_by_role("link", name="Vendors", exact=True).is_visible()
        shot(page, "phone-menu-open")
        page.get_by_role("button", name="Close menu").click()
        nav.wait_for(state="hidden")

        # The results come first; the filters open from their button.
        table = page.locator("table.vendor-table")
        assert table.is_visible()
        assert table.bounding_box()["y"] < 400
        form = page.get_by_role("form", name="Filters")
        assert not form.is_visible()
        shot(page, "phone-vendor-list")
        page.get_by_role("button", name=re.compile("^Filters")).click()
        expect(page.locator("#vendor-filters")).to_have_class(SHOWN)  # slid in, and focused
        assert form.is_visible()
        page.get_by_role("combobox", name="Services (all of)").focus()
        page.keyboard.type("scale")
        page.keyboard.press("Enter")
        page.keyboard.press("Escape")  # closes the list of services, not the filters
        expect(page.get_by_role("listbox", name="Services (all of)")).to_be_hidden()
        expect(form).to_be_visible()
        shot(page, "phone-filters-open")
        page.get_by_role("button", name="Apply filters").click()
        page.wait_for_url(re.compile(r"service=scale-up"))
        assert page.get_by_role("button", name=re.compile("^Filters 1")).is_visible()

        # A filter that cannot apply says so above the (absent) list.
        page.goto("/vendors/?scale_from=500&scale_to=5&scale_unit=kg")
        alert = page.get_by_role("alert")
        assert "“To” (5) is smaller than “from” (500)" in alert.inner_text()
        assert not page.locator("table.vendor-table").count()
        shot(page, "phone-filter-error")
        assert page.console_errors == [], page.console_errors
        urls = ["/vendors/", "/vendors/?scale_from=500&scale_to=5&scale_unit=kg"]
        assert violations_on(browser, live_server.url, urls, width=390, **phone) == {}
        assert violations_on(browser, live_server.url, urls[-1:], width=390, open_filters=True, **phone) == {}
    finally:
        page.context.close()
