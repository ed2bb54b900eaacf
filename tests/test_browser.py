"""End-to-end journeys in headless Chromium (Debian's package), driven by Playwright."""

import re

import pytest

from tests.browsing import assert_no_console_errors, axe_violations, login, new_page, shot
from tests.rfp.test_rfp_worker import broker, workers  # noqa: F401 - fixtures: a real worker on Redis
from vendorselect.management.commands.seed_demo import demo_password

# Playwright's greenlets see other connection objects, so serialized rollback cannot restore the
# migrated reference data here; seed_demo re-creates it instead (the `demo` fixture, tests/conftest.py).
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_each_role_lands_on_its_home(page, demo):
    page.goto("/")
    assert "/login/" in page.url
    shot(page, "login")
    homes = {
        "lead": "Procurement lead home",
        "evaluator": "Evaluator home",
        "auditor": "Auditor home",
        "manager": "Manager home",
        "admin": "Admin home",
    }
    for username, heading in homes.items():
        login(page, username)
        page.get_by_role("heading", name=heading).wait_for()
        if username == "manager":
            page.locator("#status-chart").wait_for()
            shot(page, "home-manager")
        page.get_by_role("button", name=re.compile("Demo|Raman|Okafor|Feld|Vasquez|Admin")).first.click()
        page.get_by_role("button", name="Sign out").click()
        page.get_by_role("button", name="Sign in").wait_for()
    assert page.console_errors == [], page.console_errors


def test_lead_filters_sorts_and_opens_a_vendor(page, demo):
    login(page, "lead")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Vendors", exact=True).click()
    page.wait_for_url(re.compile(r"/vendors/$"))
    page.get_by_role("heading", name="Vendor register").wait_for()
    page.get_by_label("CRO — contract research organization").check()
    page.get_by_role("button", name="Apply filters").click()
    page.wait_for_url(re.compile(r"kind=CRO"))
    rows = page.locator("table.data-table tbody tr")
    assert rows.count() > 5
    assert all("CRO" in text for text in page.locator("table.data-table tbody td:nth-child(2)").all_inner_texts())
    page.get_by_role("link", name="Red flags (5 y)").click()
    page.get_by_role("link", name="Red flags (5 y)").click()
    page.wait_for_url(re.compile(r"ordering=-red_flags"))
    shot(page, "vendor-list")
    rows.first.get_by_role("link").first.click()
    page.get_by_role("heading", name="Sites and inspection history").wait_for()
    shot(page, "vendor-detail")
    assert page.console_errors == [], page.console_errors


def test_lead_imports_a_file_with_preview(page, demo, tmp_path):
    login(page, "lead")
    page.goto("/vendors/imports/")
    csv_file = tmp_path / "new-vendors.csv"
    csv_file.write_text("name,kinds,country,services\nBrowser Bio,CDMO,US,Scale-up\nBroken,CXO,Mars,\n")
    page.get_by_label("Vendors", exact=True).check()
    page.get_by_label("File").set_input_files(str(csv_file))
    page.get_by_role("button", name="Upload and check").click()
    page.get_by_text("Nothing was imported.").wait_for()
    assert page.get_by_role("cell", name="kinds").is_visible()
    shot(page, "import-errors")
    csv_file.write_text("name,kinds,country,services\nBrowser Bio,CDMO,US,Scale-up\n")
    page.goto("/vendors/imports/")
    page.get_by_label("Vendors", exact=True).check()
    page.get_by_label("File").set_input_files(str(csv_file))
    page.get_by_role("button", name="Upload and check").click()
    page.get_by_role("button", name="Import 1 row").click()
    page.get_by_text("Imported.").wait_for()
    shot(page, "import-done")
    page.goto("/vendors/?q=Browser+Bio")
    assert page.get_by_role("link", name="Browser Bio").is_visible()
    assert page.console_errors == [], page.console_errors


def sign_as(page, username, decision="Approve"):
    login(page, username)
    page.get_by_role("link", name=re.compile("Sterile fill-finish.*version 1")).click()  # pending, on the home page
    page.get_by_role("heading", name=re.compile("Your decision")).wait_for()
    page.get_by_label(decision, exact=True).check()
    page.get_by_label("Password").fill(demo_password(username))
    page.get_by_role("button", name="Sign").click()
    page.get_by_text("Your decision is signed and recorded.").wait_for()


def test_two_managers_sign_a_shortlist(page, demo):
    """The manager opens the pending shortlist from the dashboard, reviews the frozen snapshot and
    signs (1 of 2); the QA head signs second and the shortlist is approved, both in the manifest."""
    login(page, "lead")
    page.goto("/evaluations/")
    page.get_by_role("link", name=re.compile("Sterile fill-finish")).click()
    page.get_by_role("link", name="Shortlist", exact=True).click()
    page.get_by_text("Awaiting approval").first.wait_for()
    page.context.clear_cookies()
    sign_as(page, "manager")
    assert page.get_by_text("1 of 2 required").is_visible()
    shot(page, "shortlist-signed-once")
    page.context.clear_cookies()
    sign_as(page, "qa-manager")
    page.get_by_text("Approved", exact=True).first.wait_for()
    manifest = page.locator("table", has_text="Signed by").inner_text()
    assert "Elena Vasquez" in manifest and "Kenji Watanabe" in manifest and manifest.count("valid") == 2
    shot(page, "shortlist-approved")
    with page.expect_download() as download:
        page.get_by_role("link", name=re.compile("PDF with signature manifest")).click()
    from pypdf import PdfReader

    text = " ".join(p.extract_text() for p in PdfReader(download.value.path()).pages)
    assert "Kenji Watanabe" in text and "Signature manifest" in text
    assert page.console_errors == [], page.console_errors


@pytest.mark.worker  # a real worker on the shared Redis broker: with the other real-worker tests
def test_lead_issues_an_rfp_and_downloads_a_packet(page, demo, broker, workers):  # noqa: F811
    """From an approved shortlist: the RFP form, packet generation by a real worker on Redis, the
    progress updating live on the open page (no reload), the download."""
    from datetime import date, timedelta

    from scoring.models import Shortlist

    approve_demo(Shortlist.objects.get(evaluation__name__startswith="Sterile fill-finish"))
    login(page, "lead")
    page.get_by_role("link", name="RFPs", exact=True).click()
    page.get_by_role("link", name="New RFP").first.click()
    page.get_by_label("Sponsor (your company)").fill("Helix <Therapeutics>")
    page.get_by_label("Questions due").fill((date.today() + timedelta(days=10)).isoformat())
    page.get_by_label("Proposal due").fill((date.today() + timedelta(days=30)).isoformat())
    page.get_by_role("button", name="Create RFP").click()
    page.get_by_text("RFP created.").wait_for()
    page.get_by_role("button", name="Generate packets").click()
    # Queued on the broker; no worker yet. The page is left open from here on.
    progress = page.locator("progress[aria-label='Packets generated']")
    page.get_by_text("0 of 2 packets generated").wait_for()
    assert progress.get_attribute("value") == "0"
    page.evaluate("window.stillTheSamePage = true")
    workers("browser-worker")
    page.get_by_text("2 of 2 packets generated").wait_for(timeout=90_000)
    assert progress.get_attribute("value") == "100"
    assert page.evaluate("window.stillTheSamePage") is True  # updated in place, never reloaded
    shot(page, "rfp-packets")
    with page.expect_download() as download:
        page.get_by_role("link", name="PDF", exact=True).first.click()
    from pypdf import PdfReader

    text = " ".join(p.extract_text() for p in PdfReader(download.value.path()).pages)
    assert "Castellane Sterile Solutions" in text and "Helix <Therapeutics>" in text and "Page 1 of" in text
    assert page.console_errors == [], page.console_errors


def approve_demo(shortlist):
    """The demo's pending shortlist, approved by both managers' signatures."""
    from accounts.models import User
    from vendorselect import builders

    managers = User.objects.filter(username__in=["manager", "qa-manager"]).order_by("username")
    return builders.approve(shortlist=shortlist, approvers=managers, password=lambda user: demo_password(user.username))


def rfp_pages(shortlist_pk: int) -> list[str]:
    from datetime import date, timedelta

    from accounts.models import User
    from rfp import services
    from scoring.models import Shortlist

    shortlist = approve_demo(Shortlist.objects.get(pk=shortlist_pk))
    today = date.today()
    rfp = services.rfp_create(
        shortlist=shortlist,
        user=User.objects.get(username="lead"),
        title="Accessibility RFP",
        sponsor="Helix",
        issue_date=today,
        questions_due=today + timedelta(days=10),
        proposal_due=today + timedelta(days=30),
        contact_name="Priya Raman",
        contact_email="priya@example.com",
    )
    return [f"/rfps/new/{shortlist_pk}/", f"/rfps/{rfp.pk}/", f"/rfps/{rfp.pk}/edit/"]


def test_main_pages_have_no_serious_accessibility_violations(browser, live_server, demo):
    from audits.models import Audit
    from scoring.models import Evaluation
    from vendors.models import Site

    evaluation = Evaluation.objects.get(name__startswith="Peptide API").pk
    site_vendor = Site.objects.order_by("pk").first().vendor_id
    shortlisted = Evaluation.objects.get(name__startswith="Sterile fill-finish")
    shortlist, shortlisted = shortlisted.shortlists.get().pk, shortlisted.pk
    # With the CSP in force (axe is evaluated, not injected): a page that breaks it fails here too.
    page = new_page(browser, live_server.url)
    context = page.context
    found = {}
    pages = [
        "/",
        "/vendors/",
        f"/vendors/{site_vendor}/",
        "/vendors/new/",
        "/vendors/inspections/",
        "/vendors/imports/",
        "/evaluations/",
        "/evaluations/new/",
        f"/evaluations/{evaluation}/",
        f"/evaluations/{evaluation}/ranking/",
        f"/evaluations/{evaluation}/sensitivity/",
        f"/evaluations/{evaluation}/compare/",
        "/account/api-token/",
        "/audits/",
        "/audits/capas/",
        "/audits/calendar/",
        "/inbox/",
        f"/evaluations/{evaluation}/shortlist/",
        f"/evaluations/{shortlisted}/shortlist/{shortlist}/",
        f"/history/scoring.Evaluation/{evaluation}/",
        "/rfps/",
        "/rfps/templates/",
    ]
    # The manager sees the decision form and QA's trail search; the lead sees the rest.
    manager_pages = [f"/evaluations/{shortlisted}/shortlist/{shortlist}/", "/", "/trail/?model=vendors.Vendor"]
    audit, site = Audit.objects.order_by("pk").first(), Site.objects.order_by("pk").first()
    evaluator_pages = ["/", f"/evaluations/{evaluation}/score/"]
    auditor_pages = ["/", f"/audits/{audit.pk}/", "/audits/new/", f"/history/audits.Audit/{audit.pk}/"]
    lead_forms = [f"/vendors/{site.vendor_id}/edit/", f"/vendors/sites/{site.pk}/", f"/vendors/sites/{site.pk}/edit/"]
    roles = [
        ("lead", pages + lead_forms),
        ("manager", manager_pages),
        ("evaluator", evaluator_pages),
        ("auditor", auditor_pages),
        ("lead", lambda: rfp_pages(shortlist)),  # once the shortlist is approved: the RFP form and page
    ]
    for username, urls in roles:
        context.clear_cookies()
        login(page, username)
        for url in urls() if callable(urls) else urls:
            page.goto(url)
            violations = axe_violations(page)
            if violations:
                found[f"{username} {url}"] = violations
    context.close()
    assert found == {}
    assert_no_console_errors(page)


def test_the_biologics_program_is_judged_at_the_proposed_sites(page, demo):
    """The demo's mAb program: default gates knock out four candidates, each for a reason that names
    its step and site; a warning letter at another site of the strong candidate is only a warning."""
    login(page, "lead")
    page.goto("/evaluations/")
    page.get_by_role("link", name=re.compile("Phase II mAb")).click()
    steps = page.locator("section", has=page.get_by_role("heading", name="Program steps"))
    assert "Drug substance (Biologic drug substance)" in steps.inner_text()
    assert "Drug product / fill-finish (Sterile injectable)" in steps.inner_text()
    gates = page.locator("section", has=page.get_by_role("heading", name="Must-have gates"))
    assert gates.get_by_text("on", exact=True).count() == 6
    page.get_by_role("link", name="Ranking", exact=True).click()
    table = page.locator("table.ranking-table")
    table.wait_for()
    text = table.inner_text()
    assert "FDA OAI" in text and "Borealis Leipzig campus" in text
    assert "Cobalt aseptic development lab works under GLP, the step needs cGMP" in text
    assert "Delphine vial packaging plant does not do Fill-finish" in text
    assert "no proposed site covers 2000–2000 L" in text
    arcadia = table.get_by_role("row").filter(has_text="Arcadia Biologics")
    assert "Arcadia tablet plant, a site of the company not proposed" in arcadia.inner_text()
    assert "KO" not in arcadia.locator("td").first.inner_text()
    shot(page, "biologics-ranking")
    assert page.console_errors == [], page.console_errors
