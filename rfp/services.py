"""RFPs: create for an approved shortlist, generate packets through the outbox, render them in
workers, record deliveries and proposals. Views, API and tasks are thin callers of these."""

from __future__ import annotations

import contextlib
import hashlib
import logging
from datetime import date
from pathlib import Path
from typing import NoReturn

from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.db.models import Max, Q
from django.utils import timezone

import core.pdf
from accounts.roles import MANAGER, QA
from core import outbox
from core.errors import ServiceError
from rfp import access, rendering
from rfp.models import (
    Delivery,
    Packet,
    Proposal,
    ProposalDocument,
    Question,
    Rfp,
    RfpAttachment,
    RfpTemplate,
)
from scoring import shortlists
from scoring.models import Candidate, Shortlist

logger = logging.getLogger(__name__)

RENDER_TASK = "rfp.tasks.render_packet"
ATTACHMENT_TYPES = {".pdf": (b"%PDF-",), ".docx": (b"PK\x03\x04",), ".xlsx": (b"PK\x03\x04",), ".txt": ()}
PROPOSAL_TYPES = {**ATTACHMENT_TYPES, ".zip": (b"PK\x03\x04",)}
MAX_UPLOAD = 20 * 1024 * 1024


class RfpError(ServiceError):
    """A refused action on an RFP, packet or proposal."""


def _refuse(message: str, field: str | None = None, status: int = 400) -> NoReturn:
    raise RfpError(message, field, status)


def _require_lead(user, rfp_or_shortlist) -> None:
    shortlist = getattr(rfp_or_shortlist, "shortlist", rfp_or_shortlist)
    if not access.can_manage(user, shortlist):
        _refuse("Only the evaluation's lead manages its RFPs.", status=403)
    if closed := access.closed_refusal(rfp_or_shortlist):
        _refuse(closed, status=409)


# --- Templates ------------------------------------------------------------------------------------


def current_template(kind: str) -> RfpTemplate | None:
    return RfpTemplate.objects.filter(kind=kind).order_by("-version").first()


def template_revise(*, kind: str, user, sections: list, questions: list | None = None, note: str = "") -> RfpTemplate:
    """A new version of a kind's template; RFPs keep the version their packets used."""
    if not user.has_perm("rfp.add_rfptemplate"):
        _refuse("Only procurement leads revise RFP templates.", status=403)
    if kind not in RfpTemplate.Kind.values:
        _refuse(f"Kind must be one of {', '.join(RfpTemplate.Kind.values)}.", "kind")
    if not isinstance(sections, list) or not sections:
        _refuse("Give at least one section.", "sections")
    cleaned = []
    for number, section in enumerate(sections, start=1):
        if not isinstance(section, dict) or not str(section.get("title", "")).strip():
            _refuse(f"Section {number} needs a title.", "sections")
        body = str(section.get("body", ""))
        unknown = rendering.unknown_placeholders(body)
        if unknown:
            known = ", ".join("{" + p + "}" for p in rendering.PLACEHOLDERS)
            _refuse(f"Section {number} uses unknown placeholders {sorted(unknown)}; known: {known}.", "sections")
        key = str(section.get("key") or f"section-{number}")
        cleaned.append({"key": key, "title": str(section["title"]).strip(), "body": body})
    previous = current_template(kind)
    with transaction.atomic():
        version = (RfpTemplate.objects.filter(kind=kind).aggregate(v=Max("version"))["v"] or 0) + 1
        return RfpTemplate.objects.create(
            kind=kind,
            version=version,
            name=previous.name if previous else f"{kind} request for proposals",
            sections=cleaned,
            questions=questions if questions is not None else (previous.questions if previous else []),
            change_note=note[:300],
            created_by=user,
        )


# --- RFPs -----------------------------------------------------------------------------------------

DATE_ORDER = [
    ("issue_date", "questions_due", "Questions are due after the RFP is issued."),
    ("questions_due", "proposal_due", "Proposals are due after the questions deadline."),
    ("issue_date", "proposal_due", "The proposal due date must come after the issue date."),
    ("proposal_due", "presentations", "Presentations come after the proposals are in."),
    ("presentations", "award_decision", "The award decision comes after the presentations."),
    ("proposal_due", "award_decision", "The award decision comes after the proposals are in."),
]
FIELDS = [
    "title",
    "sponsor",
    "program_background",
    "scope_notes",
    "confidentiality",
    "issue_date",
    "questions_due",
    "proposal_due",
    "presentations",
    "award_decision",
    "contact_name",
    "contact_email",
    "disclose_weights",
    "co_opener",
]


def co_opener_choices(evaluation):
    """Who may be named second opener: an active colleague who sees the evaluation (its evaluators,
    managers, quality assurance; scoring.access.visible_evaluations), never its lead."""
    sees = Q(groups__name__in=[MANAGER, QA]) | Q(pk__in=evaluation.evaluators.values("pk"))
    return (
        get_user_model()
        .objects.filter(sees, is_active=True)
        .exclude(pk=evaluation.lead_id)
        .distinct()
        .order_by("first_name", "last_name", "username")
    )


def _check_co_opener(evaluation, co_opener) -> None:
    if co_opener is not None and not co_opener_choices(evaluation).filter(pk=co_opener.pk).exists():
        _refuse("The second opener must be an active colleague who sees the evaluation, and not its lead.", "co_opener")


def _check_dates(values: dict) -> None:
    for earlier, later, message in DATE_ORDER:
        if values.get(earlier) and values.get(later) and values[later] <= values[earlier]:
            _refuse(message, later)


def rfp_create(*, shortlist: Shortlist, user, **values) -> Rfp:
    _require_lead(user, shortlist)
    if shortlist.status != Shortlist.Status.APPROVED:
        _refuse(
            f"RFPs go to approved shortlists only; version {shortlist.version} is "
            f"{shortlist.get_status_display().lower()}.",
            status=409,
        )
    unknown = set(values) - set(FIELDS)
    if unknown:
        _refuse(f"Unknown fields: {', '.join(sorted(unknown))}.")
    _check_dates(values)
    _check_co_opener(shortlist.evaluation, values.get("co_opener"))
    return Rfp.objects.create(shortlist=shortlist, created_by=user, **values)


def rfp_update(*, rfp: Rfp, user, **values) -> Rfp:
    """A change makes the next generation a new packet version; the old packets stay."""
    _require_lead(user, rfp)
    unknown = set(values) - set(FIELDS)
    if unknown:
        _refuse(f"Unknown fields: {', '.join(sorted(unknown))}.")
    merged = {f: getattr(rfp, f) for f in FIELDS} | values
    _check_dates(merged)
    if "co_opener" in values and values["co_opener"] != rfp.co_opener:
        if rfp.openings.exists():
            _refuse("The opening of the proposals has begun; the second opener can no longer change.", "co_opener", 409)
        _check_co_opener(rfp.shortlist.evaluation, values["co_opener"])
    for name, value in values.items():
        setattr(rfp, name, value)
    rfp.save()
    return rfp


def _validated_upload(upload, types: dict) -> tuple[str, bytes]:
    name = Path(upload.name or "").name
    extension = Path(name).suffix.lower()
    if extension not in types:
        _refuse(f"Allowed file types: {', '.join(sorted(types))}.", "file")
    if upload.size > MAX_UPLOAD:
        _refuse(f"The file is larger than {MAX_UPLOAD // (1024 * 1024)} MB.", "file")
    content = upload.read()
    if not content:
        _refuse("The file is empty.", "file")
    signatures = types[extension]
    if signatures and not any(content.startswith(s) for s in signatures):
        _refuse(f"The file's content is not a {extension} file.", "file")
    if not signatures and b"\x00" in content[:4096]:
        _refuse("A text file may not contain binary data.", "file")
    return name, content


def attachment_add(*, rfp: Rfp, user, upload) -> RfpAttachment:
    _require_lead(user, rfp)
    name, content = _validated_upload(upload, ATTACHMENT_TYPES)
    attachment = RfpAttachment(
        rfp=rfp, original_name=name, size=len(content), sha256=hashlib.sha256(content).hexdigest(), uploaded_by=user
    )
    attachment.file.save(name, ContentFile(content), save=False)
    attachment.save()
    return attachment


# --- Packets: generation through the outbox -------------------------------------------------------


def program_template(rfp: Rfp) -> RfpTemplate:
    # What the sponsor buys decides the text, not what else the vendor offers.
    kind = rendering.kind_for(rfp.shortlist.evaluation)
    template = current_template(kind)
    if template is None:  # the migrations seed one per kind; a database without them is misconfigured
        _refuse(f"There is no {kind} RFP template; an administrator must add one.", status=409)
    return template


def rfp_generate(*, rfp: Rfp, user) -> list[Packet]:
    """Queue one packet per shortlisted vendor whose inputs changed (new version); reuse the rest.

    The vendors are those the approvers signed for: the chosen candidates of the approved
    snapshot, not the live shortlist entries (an entry added after approval gets no packet). A
    snapshot that no longer matches its hash cannot say whom it chose, so nothing is generated.
    """
    _require_lead(user, rfp)
    rfp = Rfp.objects.select_related("shortlist__evaluation").get(pk=rfp.pk)
    shortlist = rfp.shortlist
    if shortlist.status != Shortlist.Status.APPROVED:
        _refuse("Packets are generated for an approved shortlist only.", status=409)
    if not shortlists.snapshot_intact(shortlist):
        _refuse("The approved snapshot no longer matches its hash; no packet can go out on it.", status=409)
    manifest = shortlists.manifest(shortlist)
    attachments = list(rfp.attachments.values_list("original_name", "sha256"))
    approved = (
        Candidate.objects.filter(
            evaluation=shortlist.evaluation, pk__in=shortlists.chosen_candidate_ids(shortlist.snapshot)
        )
        .select_related("vendor")
        .order_by("vendor__name", "pk")
    )
    packets, queued = [], []
    template = program_template(rfp)
    with transaction.atomic():
        Rfp.objects.select_for_update().get(pk=rfp.pk)  # one generation at a time per RFP
        for candidate in approved:
            data = rendering.inputs(rfp, candidate, template, manifest, attachments)
            inputs_hash = rendering.digest(data)
            existing = Packet.objects.filter(rfp=rfp, candidate=candidate, inputs_hash=inputs_hash).first()
            if existing:
                if existing.status == Packet.Status.FAILED:
                    _requeue(existing)
                    queued.append(existing)
                packets.append(existing)
                continue
            version = (Packet.objects.filter(rfp=rfp, candidate=candidate).aggregate(v=Max("version"))["v"] or 0) + 1
            packet = Packet.objects.create(
                rfp=rfp, candidate=candidate, version=version, template=template, inputs_hash=inputs_hash
            )
            outbox.enqueue_job(PACKETS, packet.pk, key=f"packet:{packet.pk}")
            packets.append(packet)
            queued.append(packet)
    return packets


def is_stuck(packet: Packet) -> bool:
    """Queued or rendering for longer than a task may run: its message was lost (e.g. Redis lost data)."""
    return outbox.is_stuck(PACKETS, packet)


def _requeue(packet: Packet) -> None:
    outbox.requeue(PACKETS, packet.pk)
    packet.status, packet.error = Packet.Status.QUEUED, ""


def packet_retry(*, packet: Packet, user) -> Packet:
    _require_lead(user, packet.rfp)
    if packet.status != Packet.Status.FAILED and not is_stuck(packet):
        _refuse(
            f"Only a failed or stuck packet is retried; this one is {packet.get_status_display().lower()}.", status=409
        )
    with transaction.atomic():
        _requeue(packet)
    return packet


# --- Packets: rendering (in the worker) -------------------------------------------------------------


def packet_claim(packet_id: int, claim: str) -> Packet | None:
    """Take the packet for rendering. A redelivery of the same task (worker lost) may take it
    again; a second message for the same packet (published twice) may not."""
    if not outbox.claim(PACKETS, packet_id, claim):
        return None
    return Packet.objects.select_related("rfp__shortlist__evaluation", "candidate__vendor", "template").get(
        pk=packet_id
    )


def packet_render(packet_id: int, claim: str) -> Packet | None:
    """Make the PDF, the questionnaire and the ZIP, store them, and mark the packet generated."""
    packet = packet_claim(packet_id, claim)
    if packet is None:
        return None  # done already, or another delivery is rendering it
    rfp = packet.rfp
    manifest = shortlists.manifest(rfp.shortlist)
    attachments = list(rfp.attachments.order_by("original_name", "pk"))
    data = rendering.inputs(
        rfp, packet.candidate, packet.template, manifest, [(a.original_name, a.sha256) for a in attachments]
    )
    stem = rendering.file_stem(packet)
    side: dict[str, bytes] = {}

    def meanwhile():  # while the child renders the PDF
        side["xlsx"] = rendering.questionnaire(data, packet=packet)
        for attachment in attachments:
            with attachment.file.open("rb") as handle:
                side[f"attachments/{attachment.original_name}"] = handle.read()

    pdf, pages, _refused = core.pdf.render_pdf(rendering.packet_html(data), meanwhile=meanwhile)
    xlsx = side.pop("xlsx")
    files = [(f"{stem}.pdf", pdf), (f"{stem}-questionnaire.xlsx", xlsx), *side.items()]
    zipped = rendering.bundle(files, timezone.now())
    stored = [packet.pdf, packet.questionnaire, packet.bundle]
    try:
        packet.pdf.save(f"{stem}.pdf", ContentFile(pdf), save=False)
        packet.questionnaire.save(f"{stem}-questionnaire.xlsx", ContentFile(xlsx), save=False)
        packet.bundle.save(f"{stem}.zip", ContentFile(zipped), save=False)
        Packet.objects.filter(pk=packet.pk, status=Packet.Status.RENDERING).update(
            status=Packet.Status.DONE,
            pdf=packet.pdf.name,
            pdf_pages=pages,
            questionnaire=packet.questionnaire.name,
            bundle=packet.bundle.name,
            sha256=hashlib.sha256(zipped).hexdigest(),
            error="",
            finished_at=timezone.now(),
        )
    except Exception:
        # The database or storage failed half-way (the task retries): leave no unreferenced files.
        for field in stored:
            if field.name:
                with contextlib.suppress(OSError):
                    field.storage.delete(field.name)
        raise
    return packet


def packet_fail(packet_id: int, reason: str) -> None:
    Packet.objects.filter(pk=packet_id).exclude(status=Packet.Status.DONE).update(
        status=Packet.Status.FAILED, error=reason[:2000], finished_at=timezone.now()
    )


# Beat's sweep (core.outbox) re-announces packets whose message the broker lost and queues again
# those whose worker died, failing a packet after OUTBOX_MAX_ATTEMPTS claims.
PACKETS = outbox.register(
    outbox.JobSource(
        name="rfp.packet",
        model=Packet,
        task=RENDER_TASK,
        queued=Packet.Status.QUEUED,
        running=Packet.Status.RENDERING,
        fail=packet_fail,
        requeue_fields={"error": ""},
    )
)


def progress(rfp: Rfp) -> dict:
    """Per-packet status of the latest version for each vendor, and the overall share done."""
    latest: dict[int, Packet] = {}
    for packet in rfp.packets.select_related("candidate__vendor", "template").order_by("candidate_id", "-version"):
        latest.setdefault(packet.candidate_id, packet)
    packets = sorted(latest.values(), key=lambda p: p.candidate.vendor.name)
    for packet in packets:
        setattr(packet, "stuck", is_stuck(packet))  # noqa: B010 - shown by the page, not a model field
    done = sum(p.status == Packet.Status.DONE for p in packets)
    failed = sum(p.status == Packet.Status.FAILED for p in packets)
    return {
        "packets": packets,
        "total": len(packets),
        "done": done,
        "failed": failed,
        "percent": round(100 * done / len(packets)) if packets else 0,
        "running": any(p.status in (Packet.Status.QUEUED, Packet.Status.RENDERING) for p in packets),
    }


# --- Distribution and proposals ---------------------------------------------------------------------


def delivery_record(*, packet: Packet, user, recipient: str, sent_on: date) -> Delivery:
    _require_lead(user, packet.rfp)
    if packet.status != Packet.Status.DONE:
        _refuse("Only a generated packet can be sent.", status=409)
    if sent_on > timezone.localdate():
        _refuse("The sending date cannot be in the future.", "sent_on")
    return Delivery.objects.create(packet=packet, recipient=recipient, sent_on=sent_on, recorded_by=user)


def _candidate_of(rfp: Rfp, candidate_id) -> Candidate:
    entry = rfp.shortlist.entries.filter(candidate_id=candidate_id).select_related("candidate__vendor").first()
    if entry is None:
        _refuse("This vendor is not on the RFP's shortlist.", "candidate")
    return entry.candidate


def proposal_record(*, rfp: Rfp, user, candidate_id, received_on: date, price=None, currency="USD", notes=""):
    _require_lead(user, rfp)
    candidate = _candidate_of(rfp, candidate_id)
    if received_on > timezone.localdate():
        _refuse("The received date cannot be in the future.", "received_on")
    if received_on < rfp.issue_date:
        _refuse("A proposal cannot arrive before the RFP was issued.", "received_on")
    if price is not None and price < 0:
        _refuse("The price cannot be negative.", "price")
    try:
        with transaction.atomic():
            return Proposal.objects.create(
                rfp=rfp,
                candidate=candidate,
                received_on=received_on,
                price=price,
                currency=(currency or "USD").upper()[:3],
                notes=notes,
                recorded_by=user,
            )
    except IntegrityError:
        _refuse(f"The proposal of {candidate.vendor.name} is already recorded.", "candidate", status=409)


def proposal_document_add(*, proposal: Proposal, user, upload) -> ProposalDocument:
    _require_lead(user, proposal.rfp)
    name, content = _validated_upload(upload, PROPOSAL_TYPES)
    document = ProposalDocument(
        proposal=proposal,
        original_name=name,
        size=len(content),
        sha256=hashlib.sha256(content).hexdigest(),
        uploaded_by=user,
    )
    document.file.save(name, ContentFile(content), save=False)
    document.save()
    return document


def question_record(*, rfp: Rfp, user, candidate_id, question: str, asked_on: date) -> Question:
    _require_lead(user, rfp)
    candidate = _candidate_of(rfp, candidate_id)
    if not question.strip():
        _refuse("Write the question.", "question")
    if asked_on > timezone.localdate():
        _refuse("The date asked cannot be in the future.", "asked_on")
    return Question.objects.create(
        rfp=rfp, candidate=candidate, question=question.strip(), asked_on=asked_on, recorded_by=user
    )


def question_answer(*, question: Question, user, answer: str, answered_on: date) -> Question:
    _require_lead(user, question.rfp)
    if not answer.strip():
        _refuse("Write the answer.", "answer")
    if answered_on < question.asked_on:
        _refuse("The answer cannot predate the question.", "answered_on")
    question.answer, question.answered_on = answer.strip(), answered_on
    question.save(update_fields=["answer", "answered_on"])
    return question
