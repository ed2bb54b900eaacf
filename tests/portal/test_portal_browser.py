"""The vendor's side of an RFP in a browser: the e-mailed link, the one-time code from the mail, the
overview, the packet downloaded and read, a question asked, a proposal uploaded with its receipt;
at desktop and phone widths, with no console error, CSP violation or serious axe finding."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect
from pypdf import PdfReader

from rfp.models import PacketDownload, Question, SealedUpload
from tests.browsing import assert_no_console_errors, axe_violations, shot
from tests.portal.conftest import last_code, pdf_bytes

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_vendor_signs_in_downloads_asks_and_uploads(reference_data, page, live_server, invited, packets, rfp):
    jane = invited[0]
    page.goto(jane.link)
    expect(page.get_by_role("heading", level=1)).to_have_text(rfp.title)
    assert axe_violations(page) == []
    page.get_by_role("button", name="Send me a one-time code at j•••@vendor-a.example").click()
    expect(page.get_by_text("We sent a one-time code to j•••@vendor-a.example")).to_be_visible()
    page.get_by_label("One-time code").fill(last_code(jane.invitation.email))
    assert axe_violations(page) == []
    shot(page, "portal-code")
    page.get_by_role("button", name="Sign in").click()

    expect(page).to_have_url(f"{live_server.url}/portal/")
    expect(page.get_by_role("heading", level=1)).to_have_text(rfp.title)
    expect(page.get_by_text(re.compile(r"Proposals due in \d+"))).to_be_visible()
    assert axe_violations(page) == []

    with page.expect_download() as download:
        page.get_by_role("link", name="RFP document (PDF)").click()
    reader = PdfReader(download.value.path())
    assert rfp.title in " ".join(p.extract_text() for p in reader.pages)
    assert PacketDownload.objects.filter(invitation=jane.invitation, part="pdf").count() == 1

    page.get_by_label("Your question").fill("Do you accept a 2,000 L single-use bioreactor train?")
    page.get_by_role("button", name="Send question").click()
    expect(page.get_by_text("Your question was sent to the sponsor")).to_be_visible()
    expect(page.get_by_text("Awaiting the sponsor's answer.")).to_be_visible()
    assert Question.objects.get().asked_by_id == jane.invitation.pk

    page.get_by_label("What is it?").select_option("proposal")
    page.get_by_label("File").set_input_files(
        {"name": "Technical proposal.pdf", "mimeType": "application/pdf", "buffer": pdf_bytes(3)}
    )
    page.get_by_role("button", name="Upload sealed").click()
    sealed = SealedUpload.objects.get()
    expect(page.get_by_text(f"SHA-256: {sealed.sha256}")).to_be_visible()
    expect(page.locator(".upload-item code", has_text=sealed.sha256)).to_be_visible()
    assert axe_violations(page) == []
    shot(page, "portal-home-1440")

    page.set_viewport_size({"width": 390, "height": 844})
    page.reload()
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    assert axe_violations(page) == []
    shot(page, "portal-home-390")

    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_text("You have signed out")).to_be_visible()
    page.goto("/portal/")
    expect(page).to_have_url(f"{live_server.url}/portal/sign-in/")
    assert_no_console_errors(page)
