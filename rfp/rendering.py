"""What a packet is made of, and making it: the PDF (WeasyPrint in the limited child with every URL
fetch refused), the response questionnaire (XLSX with drop-down validation) and the ZIP bundle.

User text reaches the PDF as Markdown rendered with raw HTML disabled, then sanitised (nh3) to a
small allow-list without any URL-bearing element; placeholders are filled before rendering, so a
vendor name is Markdown text like any other, never markup.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import zipfile

import nh3
from django.template.loader import render_to_string
from markdown_it import MarkdownIt
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.worksheet.datavalidation import DataValidation

from rfp.defaults import PLACEHOLDERS
from rfp.models import Packet, Rfp, RfpTemplate

PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")
_markdown = MarkdownIt("commonmark", {"html": False, "linkify": False}).disable(["image"])
# No a/img/link: a packet PDF has no business fetching or pointing anywhere.
ALLOWED_TAGS = {"p", "ul", "ol", "li", "strong", "em", "code", "pre", "blockquote", "h3", "h4", "br", "hr"}
ZIP_TIME = (2020, 1, 1, 0, 0, 0)  # fixed, so that equal contents give an equal ZIP


def unknown_placeholders(text: str) -> set[str]:
    return set(PLACEHOLDER.findall(text)) - set(PLACEHOLDERS)


def fill(text: str, values: dict[str, str]) -> str:
    return PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), text)


def markdown(text: str) -> str:
    """Markdown to HTML that is safe to put into the PDF template unescaped."""
    return nh3.clean(_markdown.render(text or ""), tags=ALLOWED_TAGS, attributes={}, url_schemes=set())


def kind_of(vendor_kinds: set[str]) -> str:
    """The template a vendor gets: its partner kind (CDMO + CRO is integrated)."""
    if {"CDMO", "CRO"} <= vendor_kinds:
        return RfpTemplate.Kind.INTEGRATED
    for kind in ("CDMO", "CMO", "CRO"):
        if kind in vendor_kinds:
            return kind
    return RfpTemplate.Kind.CDMO


def _date(value) -> str:
    return value.strftime("%d %B %Y") if value else "to be announced"


def inputs(rfp: Rfp, candidate, template: RfpTemplate, manifest: list[dict], attachments: list[tuple]) -> dict:
    """Everything a packet is made from, as JSON: its SHA-256 decides whether a packet must be re-made."""
    shortlist = rfp.shortlist
    evaluation = shortlist.evaluation
    vendor = candidate.vendor
    snapshot = shortlist.snapshot or {}
    values = {
        "sponsor": rfp.sponsor,
        "program": evaluation.name,
        "vendor": vendor.name,
        "kind": template.get_kind_display(),
        "modality": str(evaluation.modality or "not specified"),
        "phase": str(evaluation.phase or "not specified"),
        "dosage_form": str(evaluation.dosage_form or "not specified"),
        "markets": ", ".join(evaluation.target_agencies) or "to be confirmed",
        "issue_date": _date(rfp.issue_date),
        "questions_due": _date(rfp.questions_due),
        "proposal_due": _date(rfp.proposal_due),
        "presentations": _date(rfp.presentations),
        "award_decision": _date(rfp.award_decision),
        "contact_name": rfp.contact_name,
        "contact_email": rfp.contact_email,
        "rfp_id": f"RFP-{rfp.pk:05d}",
    }
    sections = [{"key": s["key"], "title": s["title"], "body": fill(s["body"], values)} for s in template.sections]
    extra = {
        "background": rfp.program_background,
        "scope": rfp.scope_notes,
        "confidentiality": rfp.confidentiality,
    }
    for section in sections:
        if extra.get(section["key"]):
            section["body"] += "\n\n" + fill(extra[section["key"]], values)
    return {
        "rfp": {"id": rfp.pk, "title": rfp.title, "reference": values["rfp_id"]},
        "values": values,
        "template": {"id": template.pk, "kind": template.kind, "version": template.version},
        "sections": sections,
        "criteria": [
            {"name": c["name"], "weight": c["weight"] if rfp.disclose_weights else None}
            for c in snapshot.get("criteria", [])
            if c.get("weight")
        ],
        "questions": template.questions,
        "approval": {
            "version": shortlist.version,
            "hash": shortlist.snapshot_hash,
            "signatures": [
                {
                    "name": s["printed_name"],
                    "at": s["signed_at"].strftime("%Y-%m-%d %H:%M:%S"),
                    "meaning": s["meaning"],
                    "valid": s["valid"],
                }
                for s in manifest
            ],
        },
        "attachments": [{"name": name, "sha256": digest} for name, digest in attachments],
    }


def digest(data: dict) -> str:
    return hashlib.sha256(json.dumps(data, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def packet_html(data: dict) -> str:
    sections = [{**s, "html": markdown(s["body"])} for s in data["sections"]]
    return render_to_string("rfp/packet_pdf.html", {"data": data, "sections": sections})


def questionnaire(data: dict) -> bytes:
    """The response questionnaire: questions grouped by criterion, answer columns, drop-down compliance."""
    book = Workbook()
    sheet = book.active
    sheet.title = "Questionnaire"
    sheet.append([f"{data['rfp']['reference']} — {data['rfp']['title']}"])
    sheet.append([f"Vendor: {data['values']['vendor']}. Return by {data['values']['proposal_due']}."])
    sheet.append([])
    header = ["No.", "Criterion", "Question", "Compliance", "Answer", "Supporting document"]
    sheet.append(header)
    for cell in sheet[4]:
        cell.font = Font(bold=True, color="FFFFFF")
        cell.fill = PatternFill("solid", fgColor="0F2742")
    sheet["A1"].font = Font(bold=True, size=13)
    compliance = DataValidation(
        type="list",
        formula1='"Yes,Partly,No,Not applicable"',
        allow_blank=True,
        showErrorMessage=True,
        errorTitle="Compliance",
        error="Choose Yes, Partly, No or Not applicable.",
    )
    sheet.add_data_validation(compliance)
    groups: dict[str, list[str]] = {}
    for item in data["questions"]:
        groups.setdefault(item["criterion"], []).append(item["question"])
    number = 0
    for criterion, questions in groups.items():
        for question in questions:
            number += 1
            # Text cells only: a question starting with "=" must not become a formula.
            sheet.append([number, criterion, question.lstrip("=+-@"), None, None, None])
            row = sheet.max_row
            compliance.add(f"D{row}")
            for column in "CE":
                sheet[f"{column}{row}"].alignment = Alignment(wrap_text=True, vertical="top")
    for column, width in zip("ABCDEF", (6, 28, 70, 16, 70, 28), strict=True):
        sheet.column_dimensions[column].width = width
    sheet.freeze_panes = "A5"
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def bundle(files: list[tuple[str, bytes]]) -> bytes:
    """A ZIP whose bytes depend only on the names and contents given."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in files:
            info = zipfile.ZipInfo(name, date_time=ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, content)
    return buffer.getvalue()


def file_stem(packet: Packet) -> str:
    vendor = re.sub(r"[^A-Za-z0-9]+", "-", packet.candidate.vendor.name).strip("-")[:60] or "vendor"
    return f"RFP-{packet.rfp_id:05d}-{vendor}-v{packet.version}"
