"""An RFP from the invitation to the two-person opening, in browsers, on the demo data: the lead
invites a vendor's bid manager, who follows the e-mailed link, enters the code, downloads the
packet and asks a question; the lead answers it to every vendor; the vendor uploads before the
deadline; the lead sees "submitted" and nothing of the content; the deadline passes; the lead and
the manager (the named second opener) each sign the opening; the proposal is readable."""

from __future__ import annotations

import pytest
from django.core import mail
from playwright.sync_api import expect
from pypdf import PdfReader

from rfp.models import Rfp, SealedUpload
from tests.browsing import assert_no_console_errors, axe_violations, login, new_page, shot
from tests.portal.conftest import last_code, last_link, pdf_bytes
from vendorselect import builders
from vendorselect.management.commands.seed_demo import demo_password

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DEMO_RFP = "RFP: oral tablets for Phase III and launch"
QUESTION = "May we propose a 400 kg blender instead of the 300 kg one?"
ANSWER = "Yes: state the batch size and the validation it needs."


def test_rfp_from_invitation_to_two_person_opening(demo, browser, live_server):
    rfp = Rfp.objects.get(title=DEMO_RFP)
    lead = new_page(browser, live_server.url)
    login(lead, "lead")
    lead.goto(f"/rfps/{rfp.pk}/")
    lead.get_by_role("button", name="Generate packets").click()  # rendered by the (eager) worker step
    expect(lead.get_by_role("link", name="Download all")).to_be_visible()

    # The lead invites the second vendor's bid manager (the demo invited its business developer).
    vendor_name = rfp.shortlist.entries.order_by("candidate__vendor__name").last().candidate.vendor.name
    lead.get_by_text("Invite a vendor contact").click()
    form = lead.locator("#invite-form")
    form.get_by_label("Vendor").select_option(label=vendor_name)
    form.get_by_label("Name").fill("Mina Park")
    form.get_by_label("E-mail").fill("mina.park@bids.example")
    form.get_by_role("button", name="Send invitation").click()
    expect(lead.get_by_text("Invitation e-mailed")).to_be_visible()
    expect(lead.locator("#vendor-status")).to_contain_text("mina.park@bids.example")
    assert axe_violations(lead) == []

    # The vendor: the e-mailed link, a code to the same address, the portal.
    vendor = new_page(browser, live_server.url)
    vendor.goto(last_link())
    vendor.get_by_role("button", name="Send me a one-time code").click()
    vendor.get_by_label("One-time code").fill(last_code("mina.park@bids.example"))
    vendor.get_by_role("button", name="Sign in").click()
    expect(vendor).to_have_url(f"{live_server.url}/portal/")
    expect(vendor.get_by_role("heading", level=1)).to_have_text(rfp.title)
    with vendor.expect_download() as download:
        vendor.get_by_role("link", name="RFP document (PDF)").click()
    text = " ".join(page.extract_text() for page in PdfReader(download.value.path()).pages)
    assert vendor_name in text and "Helix Therapeutics" in text and "SHA-256" not in text
    vendor.get_by_label("Your question").fill(QUESTION)
    vendor.get_by_role("button", name="Send question").click()
    expect(vendor.get_by_text("Awaiting the sponsor's answer.")).to_be_visible()

    # The lead answers it to every invited vendor.
    lead.reload()
    question = lead.locator("li", has_text=QUESTION)
    question.get_by_role("textbox", name="Answer").fill(ANSWER)
    question.get_by_role("button", name="Answer").click()
    expect(lead.get_by_text("Answer published to every invited vendor")).to_be_visible()
    assert any("New answer published" in m.subject for m in mail.outbox)
    vendor.reload()
    expect(vendor.get_by_text(ANSWER)).to_be_visible()

    # The vendor uploads before the deadline; the lead sees that it did, never what.
    vendor.get_by_label("What is it?").select_option("proposal")
    vendor.get_by_label("File").set_input_files(
        {"name": "Park proposal.pdf", "mimeType": "application/pdf", "buffer": pdf_bytes(2)}
    )
    vendor.get_by_role("button", name="Upload sealed").click()
    sealed = SealedUpload.objects.get(original_name="Park proposal.pdf")
    expect(vendor.get_by_text(sealed.sha256).first).to_be_visible()
    lead.reload()
    row = lead.locator("#vendor-status tr", has_text=vendor_name)
    expect(row).to_contain_text("submitted")
    assert "Park proposal" not in lead.content() and sealed.sha256 not in lead.content()
    expect(lead.locator("#opening")).to_contain_text("You can open after")

    # The deadline passes; the lead signs the opening, then the manager: open.
    builders.deadlines_passed(rfp)
    lead.reload()
    lead.locator("#open-form").get_by_label("Password").fill(demo_password("lead"))
    lead.get_by_role("button", name="Sign and open the proposals").click()
    expect(lead.get_by_text("The proposals open when the second opener has signed too")).to_be_visible()
    assert "Park proposal" not in lead.content()

    manager = new_page(browser, live_server.url)
    login(manager, "manager")
    manager.goto(f"/rfps/{rfp.pk}/")
    manager.locator("#open-form").get_by_label("Password").fill(demo_password("manager"))
    manager.get_by_role("button", name="Sign and open the proposals").click()
    expect(manager.get_by_text("Opening signed: the proposals are open.")).to_be_visible()
    with manager.expect_download() as download:
        manager.get_by_role("link", name="Park proposal.pdf").click()
    assert len(PdfReader(download.value.path()).pages) == 2
    shot(manager, "rfp-opened")
    assert axe_violations(manager) == []
    for page in (lead, vendor, manager):
        assert_no_console_errors(page)
