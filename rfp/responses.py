"""Reading a vendor's filled questionnaire (issue 17, item 2).

`read_questionnaire(file, rfp=, candidate=)` opens the returned XLSX read-only, identifies the question
set by the HMAC on the hidden "_check" sheet (rfp.rendering.checksum: the RFP, the vendor, the numbered
questions and the pricing layout), and reads every answer and every filled price line. Every problem is
reported with its sheet, row and column; the caller stores nothing when there is one. `store(parsed,
upload=)` writes what was read as the next version of the vendor's response (rfp.bidding.upload_add
calls both for a questionnaire upload, in the upload's transaction).

What is stored stays sealed like the file: nothing here shows it to the sponsor.
"""

from __future__ import annotations

import hmac
import zipfile
import zlib
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from xml.etree import ElementTree

from django.db.models import Max
from openpyxl import load_workbook

from rfp import rendering
from rfp.models import PriceLine, ProposalDocument, QuestionnaireAnswer, QuestionnaireResponse, Rfp, SealedUpload

MAX_UNCOMPRESSED = 50 * 1024 * 1024  # what the XLSX may unpack to (a zip bomb is refused before reading)
MAX_ROWS = 5000  # rows read from the questionnaire sheet
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # an encrypted (password-protected) Office file
COMPLIANCE = {
    "yes": QuestionnaireAnswer.Compliance.YES,
    "partly": QuestionnaireAnswer.Compliance.PARTLY,
    "no": QuestionnaireAnswer.Compliance.NO,
    "not applicable": QuestionnaireAnswer.Compliance.NOT_APPLICABLE,
}
MAX_NUMBER = Decimal("1e13")
DAMAGED = "The questionnaire file is damaged: it is not a readable XLSX workbook."
BROKEN = (
    ElementTree.ParseError,
    zipfile.BadZipFile,
    zlib.error,
    EOFError,
    KeyError,
    OSError,
    ValueError,
)  # the price fields hold 14 digits before the point


@dataclass
class Parsed:
    """What a returned questionnaire holds; `errors` empty when it may be stored."""

    errors: list[str] = field(default_factory=list)
    checksum: str = ""
    packet_version: int | None = None
    pricing_model: str = ""
    currency: str = ""
    answers: list[dict[str, Any]] = field(default_factory=list)
    price_lines: list[dict[str, Any]] = field(default_factory=list)

    def refuse(self, message: str) -> Parsed:
        self.errors.append(message)
        return self


def _position(sheet: str, row: int, column: str) -> str:
    return f"{sheet} row {row}, column {column}"


def _open(file, parsed: Parsed):
    """The workbook, or None with the reason in `parsed.errors`."""
    file.seek(0)
    head = file.read(8)
    file.seek(0)
    if head.startswith(OLE_MAGIC):
        parsed.refuse(
            "The questionnaire is password-protected or encrypted; save it without a password and upload again."
        )
        return None
    try:
        with zipfile.ZipFile(file) as package:
            size = sum(info.file_size for info in package.infolist())
    except (zipfile.BadZipFile, OSError, ValueError):
        parsed.refuse(DAMAGED)
        return None
    finally:
        file.seek(0)
    if size > MAX_UNCOMPRESSED:
        parsed.refuse(f"The questionnaire unpacks to more than {MAX_UNCOMPRESSED // (1024 * 1024)} MB; it is refused.")
        return None
    try:
        return load_workbook(file, read_only=True, data_only=True)
    except Exception:  # openpyxl raises many kinds on a broken package (KeyError, XML errors, ...)
        parsed.refuse(DAMAGED)
        return None


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def _number(value: Any) -> Decimal | str | None:
    """A number >= 0, None when empty, or the reason it is not one."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool | datetime | date):
        return "give a number"
    if isinstance(value, str):
        cleaned = value.strip().replace(",", "").replace(" ", "")
        try:
            value = Decimal(cleaned)
        except InvalidOperation:
            return "give a number"
    number = Decimal(str(value))
    if not number.is_finite():
        return "give a number"
    if number < 0:
        return "give a number of zero or more"
    if number >= MAX_NUMBER:
        return "the number is too large"
    return number.quantize(Decimal("0.0001"))


def _date(value: Any) -> date | str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    return "give a date (YYYY-MM-DD)"


def _identity(book, parsed: Parsed, rfp: Rfp, candidate) -> dict | None:
    if rendering.CHECK_SHEET not in book.sheetnames:
        parsed.refuse("This is not a questionnaire of ours: its identification sheet is missing.")
        return None
    values = {}
    for row in book[rendering.CHECK_SHEET].iter_rows(min_row=1, max_row=20, max_col=2, values_only=True):
        if row and row[0] is not None:
            values[str(row[0])] = row[1] if len(row) > 1 else None
    expected = {"rfp", "rfp_id", "vendor", "kind", "packet_id", "packet_version", "checksum"}
    if not expected <= set(values):
        parsed.refuse("This is not a questionnaire of ours: its identification sheet is incomplete.")
        return None
    reference = rfp.reference
    if str(values["rfp_id"]) != str(rfp.pk):
        parsed.refuse(f"This questionnaire belongs to {_text(values['rfp'])}, not to {reference}.")
        return None
    if _text(values["vendor"]) != candidate.vendor.name:
        parsed.refuse("This questionnaire was sent to another vendor; upload the one from your own packet.")
        return None
    return values


def _answers(book, parsed: Parsed) -> list[tuple[int, str, str]]:
    """Read the questions (for the checksum) and the answers; errors with their positions."""
    name = rendering.QUESTIONNAIRE_SHEET
    if name not in book.sheetnames:
        parsed.refuse(f'The "{name}" sheet is missing.')
        return []
    questions = []
    rows = book[name].iter_rows(min_row=5, max_row=4 + MAX_ROWS, max_col=6, values_only=True)
    for row_number, row in enumerate(rows, start=5):
        cells = (list(row) + [None] * 6)[:6]
        if cells[0] is None and cells[2] is None:
            break
        number, criterion, question = cells[0], _text(cells[1]), _text(cells[2])
        if not isinstance(number, int | float) or isinstance(number, bool):
            parsed.refuse(f"{_position(name, row_number, 'A')}: the question number was changed.")
            continue
        questions.append((int(number), criterion, question))
        compliance = _text(cells[3])
        choice = COMPLIANCE.get(compliance.lower()) if compliance else ""
        if choice is None:
            parsed.refuse(f"{_position(name, row_number, 'D')}: choose Yes, Partly, No or Not applicable.")
        answer, document = _text(cells[4]), _text(cells[5])
        if len(answer) > rendering.ANSWER_LENGTH:
            parsed.refuse(f"{_position(name, row_number, 'E')}: at most {rendering.ANSWER_LENGTH} characters.")
        if len(document) > rendering.DOCUMENT_LENGTH:
            parsed.refuse(f"{_position(name, row_number, 'F')}: at most {rendering.DOCUMENT_LENGTH} characters.")
        parsed.answers.append(
            {
                "number": int(number),
                "criterion": criterion,
                "question": question,
                "compliance": choice or "",
                "answer": answer,
                "document": document,
            }
        )
    return questions


def _cell_value(kind: str, value: Any, where: str, parsed: Parsed, *, bases=()) -> Any:
    if kind == "number":
        number = _number(value)
        if isinstance(number, str):
            parsed.refuse(f"{where}: {number}.")
            return None
        return number
    if kind == "date":
        day = _date(value)
        if isinstance(day, str):
            parsed.refuse(f"{where}: {day}.")
            return None
        return day
    text = _text(value)
    if kind == "basis" and text and text not in bases:
        parsed.refuse(f"{where}: choose a pricing basis from the list.")
    elif kind == "currency" and text and (len(text) != 3 or not text.isalpha()):
        parsed.refuse(f"{where}: give a three-letter currency code (e.g. USD).")
    elif len(text) > rendering.LABEL_LENGTH:
        parsed.refuse(f"{where}: at most {rendering.LABEL_LENGTH} characters.")
    return text.upper() if kind == "currency" else text


def _prices(book, parsed: Parsed, layout: dict, bases: list[str]) -> None:
    name = rendering.COST_SHEET
    if name not in book.sheetnames:
        parsed.refuse(f'The "{name}" sheet is missing.')
        return
    sheet = book[name]
    last = max(s["last"] for s in layout["sections"])
    grid = {
        number: (list(row) + [None] * 8)[:8]
        for number, row in enumerate(sheet.iter_rows(min_row=1, max_row=last, max_col=8, values_only=True), start=1)
    }

    def cell(row: int, letter: str) -> Any:
        return grid.get(row, [None] * 8)[ord(letter) - ord("A")]

    model = _text(cell(layout["model_row"], "B"))
    if model and model not in layout["models"]:
        parsed.refuse(f"{_position(name, layout['model_row'], 'B')}: choose a pricing model from the list.")
    parsed.pricing_model = model
    parsed.currency = _cell_value(
        "currency", cell(layout["currency_row"], "B"), _position(name, layout["currency_row"], "B"), parsed
    )
    for row in range(rendering.COST_FIRST, rendering.COST_LAST + 1):
        line: dict[str, Any] = {"section": "breakdown", "row": row}
        for letter, (field_name, kind) in rendering.COST_FIELDS.items():
            line[field_name] = _cell_value(kind, cell(row, letter), _position(name, row, letter), parsed, bases=bases)
        if line["quantity"] is not None or line["rate"] is not None:  # a suggested item left unpriced is no line
            parsed.price_lines.append(line)
    for section in layout["sections"]:
        for row in range(section["first"], section["last"] + 1):
            line = {"section": section["key"], "row": row}
            for index, (_title, field_name, kind) in enumerate(section["columns"]):
                letter = chr(ord("A") + index)
                line[field_name] = _cell_value(kind, cell(row, letter), _position(name, row, letter), parsed)
            figures = [line[f] for _t, f, k in section["columns"] if k != "text"]
            if any(value is not None for value in figures):
                parsed.price_lines.append(line)


def read_questionnaire(file, *, rfp: Rfp, candidate) -> Parsed:
    """Read a returned questionnaire for `candidate` of `rfp`; nothing is stored here."""
    parsed = Parsed()
    book = _open(file, parsed)
    if book is None:
        return parsed
    try:
        return _read(book, parsed, rfp, candidate)
    except BROKEN:  # read-only sheets are parsed as they are read: a broken part shows up here
        return Parsed(errors=[DAMAGED])
    finally:
        book.close()


def _read(book, parsed: Parsed, rfp: Rfp, candidate) -> Parsed:
    identity = _identity(book, parsed, rfp, candidate)
    if identity is None:
        return parsed
    layout = rendering.pricing_layout(str(identity["kind"]))
    questions = _answers(book, parsed)
    expected = rendering.checksum(identity, questions, layout)
    if not hmac.compare_digest(expected, _text(identity["checksum"])):
        parsed.errors = [
            "The questionnaire does not match the one we sent: its questions or its identification were "
            "changed. Fill in the questionnaire of your packet without editing the questions."
        ]
        return parsed
    parsed.checksum = expected
    version = identity["packet_version"]
    parsed.packet_version = int(version) if isinstance(version, int | float) else None
    bases = rendering.PRICING_BASES.get(layout["kind"], rendering.PRICING_BASES["CDMO"])
    _prices(book, parsed, layout, bases)
    return parsed


def store(
    parsed: Parsed, *, upload: SealedUpload | None = None, document: ProposalDocument | None = None
) -> QuestionnaireResponse:
    """The next version of the vendor's response, with its answers and price lines, from the vendor's
    sealed upload or the lead's copy of a proposal received by mail (inside the caller's transaction;
    the unique version constraint settles races: the caller turns them into a refusal)."""
    if parsed.errors:
        raise ValueError("A questionnaire with errors is never stored.")
    if upload is not None:
        rfp_id, candidate_id = upload.rfp_id, upload.candidate_id
    elif document is not None:
        rfp_id, candidate_id = document.proposal.rfp_id, document.proposal.candidate_id
    else:
        raise ValueError("A questionnaire response comes from an upload or a proposal document.")
    latest = QuestionnaireResponse.objects.filter(rfp_id=rfp_id, candidate_id=candidate_id).aggregate(
        latest=Max("version")
    )["latest"]
    response = QuestionnaireResponse.objects.create(
        rfp_id=rfp_id,
        candidate_id=candidate_id,
        upload=upload,
        document=document,
        version=(latest or 0) + 1,
        checksum=parsed.checksum,
        packet_version=parsed.packet_version,
        pricing_model=parsed.pricing_model,
        currency=parsed.currency,
    )
    QuestionnaireAnswer.objects.bulk_create(QuestionnaireAnswer(response=response, **a) for a in parsed.answers)
    PriceLine.objects.bulk_create(PriceLine(response=response, **line) for line in parsed.price_lines)
    return response
