"""The award in browsers, on the demo data: the demo RFP's proposals are opened; the lead proposes the
award to the vendor that submitted, with its scope and the rationale; the manager reviews the frozen
snapshot and approves with the password; the notices are generated (the eager worker step); the
vendor's bid manager, signed in to the portal, sees and downloads the award notice."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import expect
from pypdf import PdfReader

from rfp.models import Award, AwardNotice, Rfp, SealedUpload
from tests.browsing import assert_no_console_errors, axe_violations, login, new_page, shot
from tests.portal.conftest import last_code
from vendorselect import builders
from vendorselect.management.commands.seed_demo import demo_password

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DEMO_RFP = "RFP: oral tablets for Phase III and launch"
SCOPE = "Phase III supply and commercial manufacture of both strengths"


def test_lead_proposes_manager_signs_vendor_reads_the_notice(demo, browser, live_server):
    rfp = Rfp.objects.get(title=DEMO_RFP)
    lead_user = get_user_model().objects.get(username="lead")
    winner = SealedUpload.objects.filter(rfp=rfp).first().candidate  # the demo vendor that submitted
    name = winner.vendor.name
    email = "award.reader@bids.example"

    # The winner's bid manager signs in to the portal (link and one-time code by e-mail).
    invitation = builders.invited(rfp, lead_user, winner, name="Award Reader", email=email)
    vendor = new_page(browser, live_server.url)
    vendor.goto(f"/portal/i/{invitation.token}/")
    vendor.get_by_role("button", name="Send me a one-time code").click()
    vendor.get_by_label("One-time code").fill(last_code(email))
    vendor.get_by_role("button", name="Sign in").click()
    expect(vendor).to_have_url(f"{live_server.url}/portal/")
    expect(vendor.get_by_text("You have been awarded this RFP")).to_have_count(0)

    # The deadline passed and both openers opened (the opening has its own journey).
    builders.opened(rfp, password=lambda user: demo_password(user.username))

    # The lead proposes the award from the RFP page.
    lead = new_page(browser, live_server.url)
    login(lead, "lead")
    lead.goto(f"/rfps/{rfp.pk}/")
    lead.get_by_role("link", name="Award").click()
    expect(lead.get_by_role("heading", name="Propose the award")).to_be_visible()
    lead.get_by_label(f"Award {name}").check()
    lead.get_by_label(f"Scope awarded to {name}").fill(SCOPE)
    lead.get_by_role("button", name="Submit for approval").click()
    expect(lead.get_by_text("Give the rationale")).to_be_visible()  # refused: nothing saved
    assert not Award.objects.filter(rfp=rfp).exists()
    lead.get_by_label(f"Award {name}").check()
    lead.get_by_label(f"Scope awarded to {name}").fill(SCOPE)
    lead.get_by_label("Rationale").fill("The only complete proposal; best-ranked vendor of the shortlist.")
    lead.get_by_role("button", name="Submit for approval").click()
    expect(lead.get_by_text("Submitted for approval.")).to_be_visible()
    award = Award.objects.get(rfp=rfp)
    expect(lead.locator("#award-hash")).to_have_text(award.snapshot_hash)
    expect(lead.locator("#decide-form")).to_have_count(0)  # the proposer never decides
    assert axe_violations(lead) == []

    # The manager reviews the snapshot and signs the approval with the password.
    manager = new_page(browser, live_server.url)
    login(manager, "manager")
    manager.goto(award.get_absolute_url())
    expect(manager.get_by_text(SCOPE)).to_be_visible()
    manager.get_by_label("Approve").check()
    manager.locator("#decide-form").get_by_label("Password").fill("not the password")
    manager.get_by_role("button", name="Sign").click()
    expect(manager.get_by_text("The password is not correct")).to_be_visible()
    manager.get_by_label("Approve").check()
    manager.locator("#decide-form").get_by_label("Password").fill(demo_password("manager"))
    manager.get_by_role("button", name="Sign").click()
    expect(manager.get_by_text("Your decision is signed and recorded.")).to_be_visible()
    manager.reload()
    expect(manager.get_by_role("heading", name="Notices to the vendors")).to_be_visible()
    notice = AwardNotice.objects.get(award=award, candidate=winner)
    assert notice.status == AwardNotice.Status.DONE, notice.error
    expect(manager.locator("tr", has_text="Award notice")).to_contain_text(name)
    expect(manager.locator("tr", has_text="Regret notice")).to_have_count(1)  # the other vendor of the RFP
    shot(manager, "award-approved")
    assert axe_violations(manager) == []

    # The vendor sees its notice in the portal and downloads it.
    vendor.reload()
    expect(vendor.get_by_text("You have been awarded this RFP")).to_be_visible()
    with vendor.expect_download() as download:
        vendor.get_by_role("link", name="Award notice (PDF)").click()
    text = " ".join(page.extract_text() for page in PdfReader(download.value.path()).pages)
    assert "Award notice" in text and name in text and SCOPE in text
    assert axe_violations(vendor) == []
    for page in (lead, manager, vendor):
        assert_no_console_errors(page)
