"""The returned questionnaire (issue 17, items 1 and 2): the packet's XLSX as rendering.questionnaire makes
it, filled with openpyxl as a vendor would, uploaded through bidding.upload_add; what was read is stored
(answers, price lines, versions) or the file is refused with positions and nothing is stored."""

from __future__ import annotations

import io
import zipfile
from datetime import date, datetime
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from openpyxl import load_workbook

from rfp import bidding, rendering, responses
from rfp.models import PriceLine, QuestionnaireAnswer, QuestionnaireResponse, SealedUpload
from rfp.services import current_template
from scoring import shortlists
from vendorselect import builders

pytestmark = pytest.mark.django_db


def packet_data(rfp, candidate) -> dict:
    template = current_template(rendering.kind_for(rfp.shortlist.evaluation))
    return rendering.inputs(rfp, candidate, template, shortlists.manifest(rfp.shortlist), [])


def blank(rfp, candidate, **identity) -> bytes:
    data = packet_data(rfp, candidate)
    data["rfp"] |= identity
    return rendering.questionnaire(data)


def filled(content: bytes, *, compliance="Yes", price=125000, edit=None) -> bytes:
    """The vendor's work: every question answered, a pricing model, a breakdown line and section lines."""
    book = load_workbook(io.BytesIO(content))
    sheet = book["Questionnaire"]
    for row in range(5, sheet.max_row + 1):
        sheet[f"D{row}"] = compliance if row == 5 else ("Partly" if row % 2 else "No")
        sheet[f"E{row}"] = f"Our answer to question {sheet[f'A{row}'].value}"
    sheet["F5"] = "SOP-123.pdf"
    cost = book["Cost breakdown"]
    layout = rendering.pricing_layout(book["_check"]["B4"].value)
    cost[f"B{layout['model_row']}"] = "Per batch"
    cost[f"B{layout['currency_row']}"] = "EUR"
    cost["C5"], cost["D5"], cost["E5"], cost["F5"] = 1, "project", price, "EUR"
    sections = {s["key"]: s for s in layout["sections"]}
    batch = sections["per_batch"]["first"]
    cost[f"A{batch}"], cost[f"B{batch}"], cost[f"C{batch}"], cost[f"D{batch}"] = "Drug substance", 480000, 3, 2
    fees = sections["fees"]["first"]
    cost[f"B{fees + 1}"], cost[f"C{fees + 1}"] = 150000, 4  # technology transfer: amount, months
    if edit:
        edit(book)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def upload(invitation, content: bytes, name="answers.xlsx"):
    file = SimpleUploadedFile(name, content, content_type="application/octet-stream")
    return bidding.upload_add(invitation=invitation, part="questionnaire", upload=file)


@pytest.fixture
def vendors(rfp, users):
    first, second = bidding.invitable_candidates(rfp).order_by("vendor__name")
    return [builders.invited(rfp, users["procurement"], c) for c in (first, second)]


def refused(invitation, content: bytes) -> str:
    with pytest.raises(bidding.PortalError) as caught:
        upload(invitation, content)
    assert caught.value.field == "file"
    assert not SealedUpload.objects.exists() and not QuestionnaireResponse.objects.exists()
    assert not QuestionnaireAnswer.objects.exists() and not PriceLine.objects.exists()
    return str(caught.value.message)


def test_the_pricing_sheet_has_a_model_list_sections_validation_protection_and_a_hidden_check(rfp, vendors):
    candidate = vendors[0].candidate
    book = load_workbook(io.BytesIO(blank(rfp, candidate)))
    assert book.sheetnames == ["Questionnaire", "Cost breakdown", "_check"]
    check = book["_check"]
    assert check.sheet_state == "hidden"
    values = {row[0]: row[1] for row in check.iter_rows(values_only=True)}
    assert values["rfp"] == f"RFP-{rfp.pk:05d}" and values["rfp_id"] == rfp.pk
    assert values["vendor"] == candidate.vendor.name and len(values["checksum"]) == 64
    cost = book["Cost breakdown"]
    layout = rendering.pricing_layout(values["kind"])
    assert cost.protection.sheet and book["Questionnaire"].protection.sheet
    assert cost[f"A{layout['model_row']}"].value == "Pricing model"
    titles = [cost[f"A{s['title_row']}"].value for s in layout["sections"]]
    assert "Per batch" in titles and "Take-or-pay: minimum commitments" in titles and "Pass-through costs" in titles
    validations = {str(v.sqref): v for v in cost.data_validations.dataValidation}
    model = [v for v in validations.values() if f"B{layout['model_row']}" in str(v.sqref).split()]
    assert model and model[0].formula1 == '"Per batch,Per campaign,Cost-plus,Take-or-pay"'
    covered = " ".join(validations)
    for section in layout["sections"]:
        for index in range(len(section["columns"])):
            letter = "ABCDEFGH"[index]
            cell = cost[f"{letter}{section['first']}"]
            assert cell.protection.locked is False, (section["key"], letter)
            assert f"{letter}{section['first']}" in covered, (section["key"], letter)
        assert cost[f"A{section['title_row']}"].protection.locked is not False  # titles stay locked
    question = book["Questionnaire"]
    assert question["D5"].protection.locked is False and question["C5"].protection.locked is not False
    assert cost["G5"].protection.locked is not False  # our amount formula


def test_a_filled_questionnaire_is_read_and_stored_sealed(rfp, vendors):
    invitation = vendors[0]
    content = filled(blank(rfp, invitation.candidate))
    sealed = upload(invitation, content)
    response = QuestionnaireResponse.objects.get()
    assert response.upload == sealed and response.version == 1 and response.candidate == invitation.candidate
    assert (response.pricing_model, response.currency) == ("Per batch", "EUR")
    answers = list(response.answers.all())
    questions = rendering.question_set(packet_data(rfp, invitation.candidate))
    assert [(a.number, a.criterion, a.question) for a in answers] == questions
    assert answers[0].compliance == "yes" and answers[0].document == "SOP-123.pdf"
    assert {a.compliance for a in answers[1:]} <= {"partly", "no"}
    assert answers[1].answer == "Our answer to question 2"
    lines = {(line.section, line.item): line for line in response.price_lines.all()}
    breakdown = [line for (section, _item), line in lines.items() if section == "breakdown"]
    assert len(breakdown) == 1 and breakdown[0].row == 5
    assert breakdown[0].rate == Decimal("125000") and breakdown[0].quantity == 1 and breakdown[0].currency == "EUR"
    batch = lines[("per_batch", "Drug substance")]
    assert (batch.rate, batch.per_year, batch.years) == (Decimal("480000"), 3, 2)
    transfer = lines[("fees", "Technology transfer fee")]
    assert (transfer.amount, transfer.months) == (Decimal("150000"), 4)
    assert ("fees", "Development fee") not in lines  # a label without figures is no line


def test_a_resubmission_is_a_new_version_and_the_first_is_kept(rfp, vendors):
    invitation = vendors[0]
    base = blank(rfp, invitation.candidate)
    upload(invitation, filled(base))
    upload(invitation, filled(base, price=99000.5, compliance="Not applicable"))
    first, second = QuestionnaireResponse.objects.order_by("version")
    assert (first.version, second.version) == (1, 2) and first.upload_id != second.upload_id
    assert first.answers.get(number=1).compliance == "yes"
    assert second.answers.get(number=1).compliance == "n/a"
    assert first.price_lines.get(section="breakdown").rate == Decimal("125000")
    assert second.price_lines.get(section="breakdown").rate == Decimal("99000.5")


def test_a_questionnaire_of_another_rfp_is_refused(rfp, vendors):
    invitation = vendors[0]
    other = blank(rfp, invitation.candidate, id=rfp.pk + 1000, reference=f"RFP-{rfp.pk + 1000:05d}")
    message = refused(invitation, filled(other))
    assert f"belongs to RFP-{rfp.pk + 1000:05d}, not to RFP-{rfp.pk:05d}" in message


def test_another_vendors_questionnaire_is_refused(rfp, vendors):
    message = refused(vendors[0], filled(blank(rfp, vendors[1].candidate)))
    assert "sent to another vendor" in message


@pytest.mark.parametrize(
    "edit",
    [
        lambda book: book["_check"].__setitem__("B7", "0" * 64),  # a tampered checksum
        lambda book: book["Questionnaire"].__setitem__("C5", "An easier question?"),  # an edited question
    ],
    ids=["checksum", "question"],
)
def test_a_changed_question_set_is_refused(rfp, vendors, edit):
    message = refused(vendors[0], filled(blank(rfp, vendors[0].candidate), edit=edit))
    assert "does not match the one we sent" in message


def test_wrong_values_are_refused_with_their_positions(rfp, vendors):
    invitation = vendors[0]
    layout = rendering.pricing_layout("CDMO")
    milestones = None

    def edit(book):
        nonlocal milestones
        cost = book["Cost breakdown"]
        sections = {s["key"]: s["first"] for s in rendering.pricing_layout(book["_check"]["B4"].value)["sections"]}
        cost[f"C{sections['take_or_pay']}"] = -5  # a negative quantity
        cost[f"B{layout['model_row']}"] = "Barter"
        milestones = sections.get("milestones")

    content = filled(blank(rfp, invitation.candidate), compliance="Maybe", price="about 100k", edit=edit)
    message = refused(invitation, content)
    take_or_pay = {s["key"]: s["first"] for s in layout["sections"]}["take_or_pay"]
    assert "Questionnaire row 5, column D: choose Yes, Partly, No or Not applicable." in message
    assert "Cost breakdown row 5, column E: give a number." in message
    assert f"Cost breakdown row {take_or_pay}, column C: give a number of zero or more." in message
    assert f"Cost breakdown row {layout['model_row']}, column B: choose a pricing model from the list." in message
    assert milestones is None  # a CDMO program's sheet has no CRO sections


def test_a_broken_or_encrypted_file_is_refused(rfp, vendors):
    invitation = vendors[0]
    content = filled(blank(rfp, invitation.candidate))
    # A zip whose central directory is cut off: the upload check already calls it damaged.
    assert "damaged" in refused(invitation, content[: len(content) - 40])
    # A zip that passes the upload's sniffing but whose sheet XML is broken.

    source, target = io.BytesIO(content), io.BytesIO()
    with zipfile.ZipFile(source) as read, zipfile.ZipFile(target, "w") as write:
        for info in read.infolist():
            data = read.read(info)
            write.writestr(info, data[: len(data) // 2] if info.filename == "xl/worksheets/sheet1.xml" else data)
    assert "damaged" in refused(invitation, target.getvalue())


def test_reading_refuses_an_encrypted_file_with_a_clear_message(rfp, vendors):
    encrypted = io.BytesIO(responses.OLE_MAGIC + b"\0" * 512)
    parsed = responses.read_questionnaire(encrypted, rfp=rfp, candidate=vendors[0].candidate)
    assert parsed.errors == [
        "The questionnaire is password-protected or encrypted; save it without a password and upload again."
    ]


def test_dates_are_read_and_a_bad_date_is_refused(rfp, vendors, users):
    """The CRO sections (milestones with dates) on an integrated sheet, read straight through read_questionnaire."""
    candidate = vendors[0].candidate
    data = packet_data(rfp, candidate)
    data["template"]["kind"] = "INTEGRATED"
    layout = rendering.pricing_layout("INTEGRATED")
    row = {s["key"]: s["first"] for s in layout["sections"]}["milestones"]

    def fill(due):
        def edit(book):
            cost = book["Cost breakdown"]
            cost[f"A{row}"], cost[f"B{row}"], cost[f"C{row}"] = "First patient in", 50000, due

        return filled(rendering.questionnaire(data), edit=edit)

    parsed = responses.read_questionnaire(io.BytesIO(fill(datetime(2027, 3, 1))), rfp=rfp, candidate=candidate)
    assert parsed.errors == []
    line = next(line for line in parsed.price_lines if line["section"] == "milestones")
    assert (line["item"], line["amount"], line["due"]) == ("First patient in", Decimal("50000.0000"), date(2027, 3, 1))
    parsed = responses.read_questionnaire(io.BytesIO(fill("next spring")), rfp=rfp, candidate=candidate)
    assert parsed.errors == [f"Cost breakdown row {row}, column C: give a date (YYYY-MM-DD)."]


def test_a_file_that_unpacks_too_large_is_refused_before_it_is_read(rfp, vendors):
    content = filled(blank(rfp, vendors[0].candidate))
    target = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(content)) as read, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as write:
        for info in read.infolist():
            write.writestr(info, read.read(info))
        write.writestr("xl/media/padding.bin", b"\0" * (responses.MAX_UNCOMPRESSED + 1))
    assert len(target.getvalue()) < 1024 * 1024  # small on the wire
    message = refused(vendors[0], target.getvalue())
    assert "unpacks to more than 50 MB" in message
