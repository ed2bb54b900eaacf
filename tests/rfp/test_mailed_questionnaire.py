"""Issue 17 item 2, the rest: a questionnaire that came with a proposal received by mail is read by the
lead's upload (kept sealed until the opening, refused when late or not ours), and files re-saved by
LibreOffice (as many vendors fill them) are read like openpyxl's."""

from __future__ import annotations

import os
import shutil
import subprocess
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from rfp import bidding, services
from rfp.models import ProposalDocument, QuestionnaireResponse
from tests.factories import PASSWORD
from vendorselect import builders

pytestmark = pytest.mark.django_db


@pytest.fixture
def mailed(approved, users):
    """An RFP with a second opener; its first chosen vendor's proposal arrived by mail today."""
    rfp = builders.rfp_for(approved, users["procurement"], co_opener=users["manager"])
    candidate = bidding.invitable_candidates(rfp).order_by("vendor__name").first()
    builders.deadlines_passed(rfp)
    proposal = services.proposal_record(
        rfp=rfp, user=users["procurement"], candidate_id=candidate.pk, received_on=date.today() - timedelta(days=2)
    )
    return rfp, candidate, proposal


def xlsx(content: bytes, name: str = "questionnaire.xlsx") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type="application/octet-stream")


def open_all(rfp, users) -> None:
    for opener in (users["procurement"], users["manager"]):
        bidding.open_proposals(rfp=rfp, user=opener, password=PASSWORD, request=builders.signing_request())


def test_a_mailed_questionnaire_stays_sealed_until_both_openers_opened(mailed, users):
    rfp, candidate, proposal = mailed
    content = builders.filled_questionnaire(rfp, candidate, price=98000)
    with pytest.raises(bidding.PortalError, match="sealed") as caught:
        bidding.mailed_questionnaire_add(proposal=proposal, user=users["procurement"], upload=xlsx(content))
    assert caught.value.status == 409
    assert not QuestionnaireResponse.objects.exists() and not ProposalDocument.objects.exists()
    open_all(rfp, users)
    document = bidding.mailed_questionnaire_add(proposal=proposal, user=users["procurement"], upload=xlsx(content))
    response = QuestionnaireResponse.objects.get()
    assert response.document == document and response.upload is None and response.version == 1
    assert response.candidate == candidate and response.currency == "EUR"
    assert response.answers.count() > 0 and response.price_lines.get(section="breakdown").rate == 98000
    assert document.sha256 and document.original_name == "questionnaire.xlsx"


def test_only_the_lead_records_it_and_never_another_vendors_or_a_late_one(mailed, users, approved):
    rfp, candidate, proposal = mailed
    open_all(rfp, users)
    with pytest.raises(bidding.PortalError):
        bidding.mailed_questionnaire_add(
            proposal=proposal, user=users["manager"], upload=xlsx(builders.filled_questionnaire(rfp, candidate))
        )
    other = bidding.invitable_candidates(rfp).exclude(pk=candidate.pk).first()
    with pytest.raises(bidding.PortalError, match=r"not match|another|not the one") as caught:
        bidding.mailed_questionnaire_add(
            proposal=proposal, user=users["procurement"], upload=xlsx(builders.filled_questionnaire(rfp, other))
        )
    assert caught.value.field == "file"
    with pytest.raises(bidding.PortalError, match=r"must be the \.xlsx"):
        bidding.mailed_questionnaire_add(
            proposal=proposal, user=users["procurement"], upload=xlsx(builders.minimal_pdf(), "answers.pdf")
        )
    late = services.proposal_record(rfp=rfp, user=users["procurement"], candidate_id=other.pk, received_on=date.today())
    with pytest.raises(bidding.PortalError, match="after the deadline") as caught:
        bidding.mailed_questionnaire_add(
            proposal=late, user=users["procurement"], upload=xlsx(builders.filled_questionnaire(rfp, other))
        )
    assert caught.value.status == 409
    assert not QuestionnaireResponse.objects.exists() and not ProposalDocument.objects.exists()


def test_the_lead_uploads_it_on_the_rfp_page_and_a_bad_file_is_explained(mailed, users, client):
    rfp, candidate, proposal = mailed
    open_all(rfp, users)
    client.force_login(users["procurement"])
    url = f"/rfps/{rfp.pk}/proposals/{proposal.pk}/documents/"
    page = client.post(url, {"part": "questionnaire", "upload": xlsx(b"PK\x03\x04 not a workbook")}, follow=True)
    assert page.status_code == 200 and "damaged" in page.content.decode()
    assert not QuestionnaireResponse.objects.exists()
    good = xlsx(builders.filled_questionnaire(rfp, candidate))
    page = client.post(url, {"part": "questionnaire", "upload": good}, follow=True)
    assert "Questionnaire read" in page.content.decode()
    assert QuestionnaireResponse.objects.get().document.proposal == proposal
    page = client.post(url, {"upload": xlsx(builders.filled_questionnaire(rfp, candidate), "copy.xlsx")}, follow=True)
    assert "Document added" in page.content.decode() and QuestionnaireResponse.objects.count() == 1


def test_a_second_copy_racing_for_the_same_version_is_refused_not_a_500(mailed, users, monkeypatch):
    rfp, candidate, proposal = mailed
    open_all(rfp, users)
    content = builders.filled_questionnaire(rfp, candidate)
    bidding.mailed_questionnaire_add(proposal=proposal, user=users["procurement"], upload=xlsx(content))
    # The other request read the same latest version before this one committed.
    from django.db.models import QuerySet

    real = QuerySet.aggregate

    def stale(self, *args, **kwargs):
        result = real(self, *args, **kwargs)
        return {"latest": 0} if self.model is QuestionnaireResponse and "latest" in result else result

    monkeypatch.setattr(QuerySet, "aggregate", stale)
    with pytest.raises(bidding.PortalError, match="same moment") as caught:
        bidding.mailed_questionnaire_add(proposal=proposal, user=users["procurement"], upload=xlsx(content))
    assert caught.value.status == 409
    assert QuestionnaireResponse.objects.count() == 1 and ProposalDocument.objects.count() == 1


# --- Files re-saved by LibreOffice ------------------------------------------------------------------

SOFFICE = shutil.which("soffice") or shutil.which("libreoffice")


def resaved_by_libreoffice(content: bytes, tmp_path: Path) -> bytes:
    """Open the workbook in LibreOffice Calc (headless) and save it again as XLSX, as a vendor would."""
    if SOFFICE is None:
        if os.environ.get("CI"):
            pytest.fail("CI must install LibreOffice Calc (libreoffice-calc-nogui) for the round trip")
        pytest.skip("LibreOffice is not installed")
    source, out = tmp_path / "in" / "questionnaire.xlsx", tmp_path / "out"
    source.parent.mkdir()
    source.write_bytes(content)
    subprocess.run(
        [SOFFICE, f"-env:UserInstallation=file://{tmp_path}/profile", "--headless", "--convert-to",
         "xlsx:Calc MS Excel 2007 XML", "--outdir", str(out), str(source)],
        check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    return (out / "questionnaire.xlsx").read_bytes()


def test_a_questionnaire_resaved_by_libreoffice_is_read_like_the_original(mailed, users, tmp_path):
    rfp, candidate, proposal = mailed
    original = builders.filled_questionnaire(rfp, candidate, price=123456.78)
    resaved = resaved_by_libreoffice(original, tmp_path)
    assert resaved != original
    open_all(rfp, users)
    bidding.mailed_questionnaire_add(proposal=proposal, user=users["procurement"], upload=xlsx(original))
    bidding.mailed_questionnaire_add(proposal=proposal, user=users["procurement"], upload=xlsx(resaved))
    first, second = QuestionnaireResponse.objects.order_by("version")
    assert first.checksum == second.checksum and (first.currency, second.currency) == ("EUR", "EUR")

    def answers(response):
        return [
            (a.number, a.criterion, a.question, a.compliance, a.answer) for a in response.answers.order_by("number")
        ]

    def prices(response):
        return [
            (p.section, p.row, p.item, p.rate, p.quantity, p.currency) for p in response.price_lines.order_by("row")
        ]

    assert answers(first) == answers(second) and len(answers(first)) > 5
    assert prices(first) == prices(second) and prices(second)[0][3] == Decimal("123456.78")


def test_a_blank_packet_filled_in_libreoffice_keeps_its_protection_and_is_read(mailed, users, tmp_path):
    """The packet's blank questionnaire goes through LibreOffice first (the vendor opens and saves it),
    then is filled: the hidden check sheet and the validations survive the round trip."""
    import io

    from openpyxl import load_workbook

    from rfp import rendering

    rfp, candidate, proposal = mailed
    template = services.program_template(rfp)
    from scoring import shortlists

    data = rendering.inputs(rfp, candidate, template, shortlists.manifest(rfp.shortlist), [])
    resaved = resaved_by_libreoffice(rendering.questionnaire(data), tmp_path)
    book = load_workbook(io.BytesIO(resaved))
    assert book[rendering.CHECK_SHEET].sheet_state != "visible"
    sheet = book[rendering.QUESTIONNAIRE_SHEET]
    assert sheet.protection.sheet and sheet.data_validations.dataValidation
    for row in range(5, sheet.max_row + 1):
        if sheet[f"A{row}"].value:
            sheet[f"D{row}"], sheet[f"E{row}"] = "Partly", "Filled after LibreOffice"
    buffer = io.BytesIO()
    book.save(buffer)
    open_all(rfp, users)
    bidding.mailed_questionnaire_add(proposal=proposal, user=users["procurement"], upload=xlsx(buffer.getvalue()))
    response = QuestionnaireResponse.objects.get()
    assert {a.compliance for a in response.answers.all()} == {"partly"}


def test_the_api_reads_a_mailed_questionnaire_and_answers_refusals_with_field_errors(mailed, users):
    from rest_framework.test import APIClient

    rfp, candidate, proposal = mailed
    api = APIClient()
    api.force_authenticate(users["procurement"])
    url = f"/api/v1/rfps/{rfp.pk}/proposals/{proposal.pk}/questionnaire/"
    content = builders.filled_questionnaire(rfp, candidate)
    sealed = api.post(url, {"file": xlsx(content)}, format="multipart")
    assert sealed.status_code == 409 and "sealed" in str(sealed.json())
    open_all(rfp, users)
    assert api.post(url, {}, format="multipart").status_code == 400
    assert (
        api.post(f"/api/v1/rfps/{rfp.pk}/proposals/999999/questionnaire/", {"file": xlsx(content)}).status_code == 404
    )
    created = api.post(url, {"file": xlsx(content)}, format="multipart")
    assert created.status_code == 201, created.content
    assert created.json()["response_version"] == 1 and len(created.json()["sha256"]) == 64
    api.force_authenticate(users["evaluator"])
    assert api.post(url, {"file": xlsx(content)}, format="multipart").status_code in (403, 404)
    assert QuestionnaireResponse.objects.count() == 1


def test_a_closed_rfp_refuses_the_leads_changes(mailed, users, client):
    """An approved award closes the RFP: the lead's writes are refused with the reason, the page says so."""
    from django.utils import timezone

    from rfp import comparison
    from rfp.models import Rfp

    rfp, candidate, _proposal = mailed
    Rfp.objects.filter(pk=rfp.pk).update(closed_at=timezone.now(), closed_by=users["procurement"])
    rfp.refresh_from_db()
    lead = users["procurement"]
    for call in (
        lambda: services.rfp_generate(rfp=rfp, user=lead),
        lambda: services.question_record(
            rfp=rfp, user=lead, candidate_id=candidate.pk, question="Late?", asked_on=date.today()
        ),
        lambda: bidding.invite(rfp=rfp, user=lead, candidate_id=candidate.pk, name="A", email="a@example.com"),
        lambda: comparison.horizon_set(rfp=rfp, user=lead, years=2, base_currency="EUR"),
    ):
        with pytest.raises((bidding.PortalError, services.RfpError), match="closed by its approved award") as caught:
            call()
        assert caught.value.status == 409
    client.force_login(lead)
    page = client.get(f"/rfps/{rfp.pk}/").content.decode()
    assert 'id="rfp-closed"' in page and "Generate packets" not in page
