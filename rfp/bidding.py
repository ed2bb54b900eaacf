"""An RFP's exchange with its vendors through the supplier portal: invitations and the portal's
sign-in (a per-person link plus a one-time code sent to the same address), intent to bid,
packet downloads, questions and answers, sealed uploads before the deadline, and the opening of
the proposals by two sponsor users, each re-authenticating and signing what was received.

Sealing: until both openings exist, nothing on the sponsor's side reads, lists or counts what a
vendor uploaded; `submissions` gives only who submitted and when.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import shlex
import subprocess
import zipfile
from datetime import date, datetime, time, timedelta
from pathlib import PurePosixPath, PureWindowsPath
from typing import Any, NoReturn

from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.db.models import Max, Q
from django.urls import reverse
from django.utils import timezone

from accounts import notifications, signatures
from accounts.models import Notification, Signature
from core import outbox
from core.errors import ServiceError
from rfp import access, responses
from rfp.models import (
    Invitation,
    Packet,
    PacketDownload,
    Participation,
    Proposal,
    ProposalDocument,
    ProposalOpening,
    Question,
    Rfp,
    SealedUpload,
)
from scoring import shortlists
from scoring.models import Candidate
from vendors.models import Contact

logger = logging.getLogger(__name__)

CODE_LIFETIME = timedelta(minutes=10)
CODE_RESEND_AFTER = timedelta(seconds=30)
LINK_RESEND_AFTER = timedelta(seconds=60)
MAX_CODE_FAILURES = 5
LOCKOUT = timedelta(minutes=30)
# The link stays usable (for a new sign-in) a while after the deadline: vendors read answers and
# what they submitted; revoking ends it at once.
INVITATION_GRACE = timedelta(days=30)
UPLOAD_TYPES: dict[str, set[str]] = {
    SealedUpload.Part.PROPOSAL.value: {".pdf", ".docx", ".xlsx"},
    SealedUpload.Part.QUESTIONNAIRE.value: {".xlsx"},
}
CONTENT_TYPES = {
    ".pdf": "application/pdf",
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
OOXML_PART = {".docx": "word/document.xml", ".xlsx": "xl/workbook.xml"}


class PortalError(ServiceError):
    """A refused portal or bidding action."""


def _refuse(message: str, field: str | None = None, status: int = 400) -> NoReturn:
    raise PortalError(message, field, status)


def _now() -> datetime:
    return timezone.now()


def max_upload() -> int:
    return int(getattr(settings, "PORTAL_MAX_UPLOAD_MB", 100)) * 1024 * 1024


# --- Deadlines ------------------------------------------------------------------------------------


def end_of(day: date) -> datetime:
    """A due date means until the end of that day, in the site's time zone."""
    return timezone.make_aware(datetime.combine(day + timedelta(days=1), time.min))


def proposal_deadline(rfp: Rfp) -> datetime:
    return end_of(rfp.proposal_due)


def questions_deadline(rfp: Rfp) -> datetime:
    return end_of(rfp.questions_due)


def vendor_deadline(rfp: Rfp, participation: Participation | None) -> datetime:
    deadline = proposal_deadline(rfp)
    if participation is not None and participation.extended_until and participation.extended_until > deadline:
        return participation.extended_until
    return deadline


def last_deadline(rfp: Rfp) -> datetime:
    """When the last vendor's time is up (extensions included): the proposals open after it."""
    extended = rfp.participations.aggregate(m=Max("extended_until"))["m"]
    deadline = proposal_deadline(rfp)
    return max(deadline, extended) if extended else deadline


def _participation(rfp: Rfp, candidate: Candidate) -> Participation:
    participation, _ = Participation.objects.get_or_create(rfp=rfp, candidate=candidate)
    return participation


# --- Invitations (the lead's side) ----------------------------------------------------------------


def _require_lead(user, rfp: Rfp) -> None:
    if not access.can_manage(user, rfp.shortlist):
        _refuse("Only the evaluation's lead manages the RFP's invitations.", status=403)
    if closed := access.closed_refusal(rfp):
        _refuse(closed, status=409)


def invitable_candidates(rfp: Rfp):
    """The vendors the approvers chose: the approved snapshot's candidates."""
    return (
        Candidate.objects.filter(
            evaluation_id=rfp.shortlist.evaluation_id, pk__in=shortlists.chosen_candidate_ids(rfp.shortlist.snapshot)
        )
        .select_related("vendor")
        .order_by("vendor__name", "pk")
    )


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _code_hash(invitation_id: int, code: str) -> str:
    return hmac.new(settings.SECRET_KEY.encode(), f"{invitation_id}:{code}".encode(), hashlib.sha256).hexdigest()


def _portal_url(path: str) -> str:
    return f"{settings.SITE_URL}{path}"


def _send(subject: str, body: str, to: str) -> bool:
    try:
        send_mail(subject, body, None, [to])
    except Exception:  # the SMTP server is down: the record stays, the lead sends the link again
        logger.exception("Could not e-mail %s", to)
        return False
    return True


def _send_link(invitation: Invitation, token: str) -> None:
    """E-mail the link; the token itself is never stored (only its SHA-256)."""
    rfp = invitation.rfp
    link = _portal_url(reverse("portal:link", args=[token]))
    body = (
        f"Dear {invitation.name},\n\n"
        f"{rfp.sponsor} invites {invitation.candidate.vendor.name} to respond to its request for proposals "
        f"{rfp.reference} “{rfp.title}”.\n\n"
        f"Open the supplier portal with this personal link (do not forward it; it works for you only):\n{link}\n\n"
        f"We will send a one-time code to this address when you open it. Questions are due by "
        f"{rfp.questions_due:%d %B %Y}, proposals by {rfp.proposal_due:%d %B %Y}.\n\n"
        f"Contact: {rfp.contact_name} <{rfp.contact_email}>"
    )
    # Sent at once, not through the outbox: a queued message would keep the secret link in the database.
    if _send(f"Request for proposals: {rfp.title}", body, invitation.email):
        invitation.link_sent_at = _now()
        Invitation.objects.filter(pk=invitation.pk).update(link_sent_at=invitation.link_sent_at)


def invite(*, rfp: Rfp, user, candidate_id, contact_id=None, name: str = "", email: str = "") -> Invitation:
    """Invite one person of a chosen vendor: a register contact, or a name and address typed in."""
    _require_lead(user, rfp)
    if is_opened(rfp):
        _refuse("The proposals are opened; nobody else can be invited.", status=409)
    candidate = invitable_candidates(rfp).filter(pk=candidate_id).first()
    if candidate is None:
        _refuse("This vendor is not among the vendors the approved shortlist chose.", "candidate")
    if contact_id:
        contact = Contact.objects.filter(pk=contact_id, vendor_id=candidate.vendor_id).first()
        if contact is None:
            _refuse("This contact does not belong to the vendor.", "contact")
        if not contact.email:
            _refuse(f"{contact.name} has no e-mail address in the register; add one first.", "contact")
        name, email = contact.name, contact.email
    else:
        contact = None
    name, email = (name or "").strip(), (email or "").strip().lower()
    if not email:
        _refuse("Choose a contact or give an e-mail address.", "email")
    if not name:
        _refuse("Give the person's name.", "name")
    token = secrets.token_urlsafe(32)
    try:
        with transaction.atomic():
            invitation = Invitation.objects.create(
                rfp=rfp,
                candidate=candidate,
                contact=contact,
                name=name[:200],
                email=email,
                token_hash=_token_hash(token),
                expires_at=proposal_deadline(rfp) + INVITATION_GRACE,
                created_by=user,
            )
            _participation(rfp, candidate)
    except IntegrityError:
        _refuse(f"{email} is already invited for {candidate.vendor.name}; send the link again instead.", "email", 409)
    invitation.rfp = rfp
    _send_link(invitation, token)
    invitation.token = token  # type: ignore[attr-defined]  # for the caller only (seeds, tests); never stored
    return invitation


def _active_or_refuse(invitation: Invitation) -> None:
    if invitation.revoked_at:
        _refuse("This invitation was withdrawn by the sponsor.", status=403)
    if invitation.expires_at <= _now():
        _refuse(f"This invitation expired on {timezone.localtime(invitation.expires_at):%d %B %Y}.", status=403)


def invitation_resend(*, invitation: Invitation, user) -> Invitation:
    """A new link (the old one stops working), e.g. when the e-mail was lost or the link spent."""
    _require_lead(user, invitation.rfp)
    _active_or_refuse(invitation)
    token = secrets.token_urlsafe(32)
    Invitation.objects.filter(pk=invitation.pk).update(token_hash=_token_hash(token), link_used_at=None)
    invitation.refresh_from_db()
    _send_link(invitation, token)
    invitation.token = token  # type: ignore[attr-defined]
    return invitation


def invitation_revoke(*, invitation: Invitation, user) -> Invitation:
    _require_lead(user, invitation.rfp)
    if invitation.revoked_at:
        _refuse("This invitation is already withdrawn.", status=409)
    invitation.revoked_at, invitation.revoked_by = _now(), user
    invitation.code_hash = ""
    invitation.save(update_fields=["revoked_at", "revoked_by", "code_hash"])
    return invitation


# --- The portal's sign-in -------------------------------------------------------------------------


def link_invitation(token: str) -> Invitation:
    """The invitation an e-mailed link opens, or a refusal that says why."""
    invitation = (
        Invitation.objects.select_related("rfp", "candidate__vendor")
        .filter(token_hash=_token_hash(token or ""))
        .first()
    )
    if invitation is None:
        _refuse("This link is not valid. Ask the sponsor's contact for a new invitation.", status=404)
    _active_or_refuse(invitation)
    if invitation.link_used_at:
        _refuse("This link was already used to sign in. Request a new link on the portal's sign-in page.", status=410)
    return invitation


def _locked(invitation: Invitation) -> bool:
    return bool(invitation.locked_until and invitation.locked_until > _now())


def _lock_message(invitation: Invitation) -> str:
    until = timezone.localtime(invitation.locked_until)
    return f"Too many wrong codes: signing in is locked until {until:%H:%M} ({until:%Z}). Try again then."


def code_send(*, token: str) -> Invitation:
    """A new one-time code to the invited address (a new code voids the previous one)."""
    invitation = link_invitation(token)
    if _locked(invitation):
        _refuse(_lock_message(invitation), status=429)
    if invitation.code_sent_at and _now() - invitation.code_sent_at < CODE_RESEND_AFTER:
        _refuse("A code was sent less than 30 seconds ago; check your inbox.", status=429)
    code = f"{secrets.randbelow(1_000_000):06d}"
    Invitation.objects.filter(pk=invitation.pk).update(code_hash=_code_hash(invitation.pk, code), code_sent_at=_now())
    body = (
        f"Your one-time code for the {invitation.rfp.sponsor} supplier portal is {code}.\n\n"
        f"It is valid for {int(CODE_LIFETIME.total_seconds() // 60)} minutes. If you did not ask for it, ignore this e-mail."
    )
    if not _send("Your supplier portal code", body, invitation.email):
        _refuse("The code could not be e-mailed just now; try again in a minute.", status=503)
    invitation.refresh_from_db()
    return invitation


def code_verify(*, token: str, code: str) -> Invitation:
    """Check the code; the link is spent by a successful sign-in. A wrong code counts: the fifth
    locks signing in for LOCKOUT (the count is written even though the call refuses)."""
    invitation = link_invitation(token)
    if _locked(invitation):
        _refuse(_lock_message(invitation), "code", 429)
    if not invitation.code_hash or not invitation.code_sent_at:
        _refuse("Ask for a code first.", "code")
    if _now() - invitation.code_sent_at > CODE_LIFETIME:
        _refuse("This code has expired; ask for a new one.", "code")
    given = "".join((code or "").split())
    if not hmac.compare_digest(_code_hash(invitation.pk, given), invitation.code_hash):
        failures = invitation.code_failures + 1
        changes: dict[str, Any] = {"code_failures": failures}
        if failures >= MAX_CODE_FAILURES:
            changes.update(code_hash="", code_failures=0, locked_until=_now() + LOCKOUT)
        Invitation.objects.filter(pk=invitation.pk).update(**changes)
        if failures >= MAX_CODE_FAILURES:
            invitation.locked_until = changes["locked_until"]
            _refuse(_lock_message(invitation), "code", 429)
        left = MAX_CODE_FAILURES - failures
        _refuse(f"The code is not correct; {left} attempt{'s' if left != 1 else ''} left.", "code")
    now = _now()
    invitation.link_used_at = invitation.last_signed_in_at = now
    invitation.first_signed_in_at = invitation.first_signed_in_at or now
    invitation.code_hash, invitation.code_failures, invitation.locked_until = "", 0, None
    invitation.save(
        update_fields=[
            "link_used_at",
            "last_signed_in_at",
            "first_signed_in_at",
            "code_hash",
            "code_failures",
            "locked_until",
        ]
    )
    return invitation


LINKS_TASK = "rfp.tasks.send_sign_in_links"


def link_request(*, email: str) -> None:
    """Ask for a new sign-in link. The links go out from a worker, so the answer takes as long and
    says the same whether or not the address is invited (the page tells nobody who is)."""
    email = (email or "").strip().lower()
    if not email or "@" not in email or len(email) > 254:
        _refuse("Give the e-mail address you were invited at.", "email")
    minute = _now().strftime("%Y%m%d%H%M")
    outbox.enqueue_on_commit(
        LINKS_TASK, email, key=f"sign-in-links:{hashlib.sha256(email.encode()).hexdigest()}:{minute}"
    )


def send_sign_in_links(email: str) -> int:
    """A new link to every active invitation of this address (the worker's part of link_request);
    a new token each, generated here, so no secret waits in a queue. Returns how many were sent."""
    now = _now()
    sent = 0
    invitations = Invitation.objects.select_related("rfp", "candidate__vendor").filter(
        email__iexact=email, revoked_at=None, expires_at__gt=now
    )
    for invitation in invitations:
        if invitation.link_sent_at and now - invitation.link_sent_at < LINK_RESEND_AFTER:
            continue
        token = secrets.token_urlsafe(32)
        Invitation.objects.filter(pk=invitation.pk).update(token_hash=_token_hash(token), link_used_at=None)
        _send_link(invitation, token)
        sent += 1
    return sent


def session_invitation(invitation_id) -> Invitation | None:
    """The invitation a portal session is bound to, while it is still active."""
    if not invitation_id:
        return None
    invitation = (
        Invitation.objects.select_related("rfp__shortlist", "candidate__vendor")
        .filter(pk=invitation_id, revoked_at=None, expires_at__gt=_now(), link_used_at__isnull=False)
        .first()
    )
    return invitation


# --- What the vendor does in the portal -----------------------------------------------------------


def vendor_packet(invitation: Invitation) -> Packet | None:
    """The newest generated packet of the invitation's vendor."""
    return (
        Packet.objects.filter(rfp_id=invitation.rfp_id, candidate_id=invitation.candidate_id, status=Packet.Status.DONE)
        .select_related("candidate__vendor")
        .order_by("-version")
        .first()
    )


def packet_download(*, invitation: Invitation, packet_id, part: str) -> Packet:
    if part not in ("pdf", "questionnaire", "bundle"):
        _refuse("Unknown part of the packet.", status=404)
    packet = (
        Packet.objects.filter(
            pk=packet_id, rfp_id=invitation.rfp_id, candidate_id=invitation.candidate_id, status=Packet.Status.DONE
        )
        .select_related("candidate__vendor")
        .first()
    )
    if packet is None:
        _refuse("No such packet.", status=404)
    PacketDownload.objects.create(invitation=invitation, packet=packet, part=part)
    return packet


def participation_of(invitation: Invitation) -> Participation:
    """The vendor's standing (made with its first invitation; never written by a read)."""
    found = Participation.objects.filter(rfp_id=invitation.rfp_id, candidate_id=invitation.candidate_id).first()
    return found or _participation(invitation.rfp, invitation.candidate)


def intent_declare(*, invitation: Invitation, intent: str, reason: str = "") -> Participation:
    participation = participation_of(invitation)
    if intent not in (Participation.Intent.BID, Participation.Intent.DECLINE):
        _refuse("Say whether you intend to bid or decline.", "intent")
    if _now() >= vendor_deadline(invitation.rfp, participation):
        _refuse("The proposal deadline has passed.", "intent", 409)
    reason = (reason or "").strip()
    if intent == Participation.Intent.DECLINE and not reason:
        _refuse("Tell the sponsor why you decline; it helps them plan.", "reason")
    participation.intent, participation.intent_reason = intent, reason[:2000]
    participation.intent_at, participation.intent_by = _now(), invitation
    participation.save(update_fields=["intent", "intent_reason", "intent_at", "intent_by"])
    _notify_lead(
        invitation.rfp,
        Notification.Kind.RFP_INTENT,
        f"{invitation.candidate.vendor.name} {'intends to bid' if intent == 'bid' else 'declined'}: "
        f"{invitation.rfp.title}",
        reason,
    )
    return participation


def _notify_lead(rfp: Rfp, kind: str, subject: str, body: str = "") -> None:
    notifications.notify([rfp.shortlist.evaluation.lead], kind, subject, body, url=reverse("rfp:detail", args=[rfp.pk]))


def question_ask(*, invitation: Invitation, question: str) -> Question:
    text = (question or "").strip()
    if not text:
        _refuse("Write the question.", "question")
    if len(text) > 5000:
        _refuse("Keep a question under 5,000 characters; ask several if needed.", "question")
    rfp = invitation.rfp
    if _now() >= questions_deadline(rfp):
        _refuse(
            f"Questions closed on {rfp.questions_due:%d %B %Y}; contact {rfp.contact_name} ({rfp.contact_email}).",
            "question",
            409,
        )
    created = Question.objects.create(
        rfp=rfp,
        candidate=invitation.candidate,
        asked_on=timezone.localdate(),
        asked_at=_now(),
        asked_by=invitation,
        question=text,
    )
    _notify_lead(
        rfp, Notification.Kind.RFP_QUESTION, f"New question from {invitation.candidate.vendor.name}: {rfp.title}", text
    )
    return created


def vendor_questions(invitation: Invitation) -> list[Question]:
    """The vendor's own questions (answered or not) and the answers published to every vendor;
    another vendor's question reaches it without its asker."""
    return list(
        Question.objects.filter(rfp_id=invitation.rfp_id)
        .filter(Q(candidate_id=invitation.candidate_id) | (Q(visibility=Question.Visibility.ALL) & ~Q(answer="")))
        .order_by("asked_on", "pk")
    )


def question_answer(*, question: Question, user, answer: str, visibility: str = Question.Visibility.ALL) -> Question:
    _require_lead(user, question.rfp)
    text = (answer or "").strip()
    if not text:
        _refuse("Write the answer.", "answer")
    if visibility not in Question.Visibility.values:
        _refuse("Choose who sees the answer.", "visibility")
    if question.answer:
        _refuse(
            f"This question was already answered on {question.answered_on:%d %B %Y}; an answer, once sent, stays. "
            "Publish a clarification as the answer to a new question.",
            status=409,
        )
    with transaction.atomic():
        question.answer, question.visibility = text, visibility
        question.answered_on, question.answered_at, question.answered_by = timezone.localdate(), _now(), user
        question.save(update_fields=["answer", "visibility", "answered_on", "answered_at", "answered_by"])
    rfp = question.rfp
    audience = Invitation.objects.filter(rfp=rfp, revoked_at=None, link_used_at__isnull=False)
    if visibility == Question.Visibility.PRIVATE:
        audience = audience.filter(candidate_id=question.candidate_id)
    link = _portal_url(reverse("portal:sign-in"))
    for email in sorted(set(audience.values_list("email", flat=True))):
        _send(
            f"New answer published: {rfp.title}",
            f"{rfp.sponsor} answered a question on {rfp.reference}. Read it in the supplier portal: {link}",
            email,
        )
    return question


# --- Sealed uploads -------------------------------------------------------------------------------


def _checked_name(raw: str) -> tuple[str, str]:
    name = raw or ""
    if "\x00" in name or any(ord(c) < 32 for c in name):
        _refuse("The file name contains control characters.", "file")
    if PurePosixPath(name).name != name or PureWindowsPath(name).name != name or name in (".", ".."):
        _refuse("The file name may not contain folders (/ or \\).", "file")
    if not name.strip() or len(name) > 200:
        _refuse("Give the file a name of at most 200 characters.", "file")
    extension = PurePosixPath(name).suffix.lower()
    return name, extension


def _sniff(upload, extension: str) -> None:
    """The content must be what the extension says: a PDF, or an Office Open XML package."""
    upload.seek(0)
    head = upload.read(8)
    upload.seek(0)
    if extension == ".pdf":
        if not head.startswith(b"%PDF-"):
            _refuse("The file's content is not a PDF.", "file")
        return
    if not head.startswith(b"PK\x03\x04"):
        _refuse(f"The file's content is not a {extension} document.", "file")
    try:
        with zipfile.ZipFile(upload) as package:
            names = set(package.namelist())
    except (zipfile.BadZipFile, OSError, ValueError):
        _refuse(f"The {extension} file is damaged.", "file")
    finally:
        upload.seek(0)
    if "[Content_Types].xml" not in names or OOXML_PART[extension] not in names:
        _refuse(f"The file's content is not a {extension} document.", "file")


def _scan(upload) -> None:
    """The virus-scan hook: UPLOAD_SCAN_COMMAND (e.g. "clamdscan --no-summary -") reads the file on
    stdin; exit 0 = clean, 1 = infected, anything else = could not scan (refused too)."""
    command = getattr(settings, "UPLOAD_SCAN_COMMAND", "")
    if not command:
        return
    upload.seek(0)
    try:
        upload.fileno()  # a large upload waits in a temporary file: the scanner reads it from there
        feed: dict[str, Any] = {"stdin": upload}
    except (AttributeError, OSError, ValueError):  # a small one is in memory (FILE_UPLOAD_MAX_MEMORY_SIZE)
        feed = {"input": upload.read()}
    try:
        result = subprocess.run(shlex.split(command), capture_output=True, timeout=120, check=False, **feed)  # noqa: S603
    except (OSError, subprocess.TimeoutExpired):
        logger.exception("Upload scan failed to run")
        result = None
    upload.seek(0)
    if result is None or result.returncode not in (0, 1):
        _refuse("The file could not be checked for viruses just now; try again later.", "file", 503)
    if result.returncode == 1:
        logger.warning("Upload refused by the virus scanner: %s", result.stdout[:500])
        _refuse("The virus scanner refused this file.", "file")


def _digest(upload) -> str:
    sha = hashlib.sha256()
    upload.seek(0)
    for chunk in upload.chunks():
        sha.update(chunk)
    upload.seek(0)
    return sha.hexdigest()


def upload_add(*, invitation: Invitation, part: str, upload) -> SealedUpload:
    """Store a proposal file or the filled questionnaire, sealed; before the vendor's deadline only.
    Read in chunks: a large file is never held in memory whole."""
    rfp = invitation.rfp
    if part not in UPLOAD_TYPES:
        _refuse("Say whether this is a proposal document or the filled questionnaire.", "part")
    participation = participation_of(invitation)
    deadline = vendor_deadline(rfp, participation)
    if _now() >= deadline:
        _refuse(
            f"The deadline for proposals was {timezone.localtime(deadline):%d %B %Y %H:%M %Z}; "
            f"uploads are closed. Ask {rfp.contact_name} ({rfp.contact_email}) for an extension.",
            "file",
            409,
        )
    if participation.intent == Participation.Intent.DECLINE:
        _refuse("You declined this RFP; declare your intent to bid before uploading.", "file", 409)
    if upload is None:
        _refuse("Choose a file.", "file")
    name, extension = _checked_name(upload.name)
    if extension not in UPLOAD_TYPES[part]:
        allowed = ", ".join(sorted(UPLOAD_TYPES[part]))
        _refuse(f"A {SealedUpload.Part(part).label.lower()} must be one of: {allowed}.", "file")
    if not upload.size:
        _refuse("The file is empty.", "file")
    if upload.size > max_upload():
        _refuse(f"The file is larger than {max_upload() // (1024 * 1024)} MB.", "file")
    _sniff(upload, extension)
    _scan(upload)
    parsed = None
    if part == SealedUpload.Part.QUESTIONNAIRE:
        # Read before storing: a questionnaire that is not ours, broken or wrongly filled is refused whole.
        parsed = responses.read_questionnaire(upload, rfp=rfp, candidate=invitation.candidate)
        upload.seek(0)
        if parsed.errors:
            _refuse_questionnaire(parsed)
    sha256 = _digest(upload)
    sealed = SealedUpload(
        rfp=rfp,
        candidate=invitation.candidate,
        uploaded_by=invitation,
        part=part,
        original_name=name,
        content_type=CONTENT_TYPES[extension],
        size=upload.size,
        sha256=sha256,
    )
    with transaction.atomic():
        sealed.file.save("sealed", upload, save=False)
        try:
            sealed.save()
            if parsed is not None:
                _store_response(parsed, upload=sealed)
        except Exception:
            sealed.file.storage.delete(str(sealed.file.name))
            raise
        if not participation.intent:
            Participation.objects.filter(pk=participation.pk).update(
                intent=Participation.Intent.BID, intent_at=_now(), intent_by=invitation
            )
    _notify_lead(
        rfp, Notification.Kind.RFP_SUBMISSION, f"{invitation.candidate.vendor.name} submitted to {rfp.title} (sealed)"
    )
    return sealed


def own_uploads(invitation: Invitation) -> list[SealedUpload]:
    """What the vendor itself submitted (its own view is never sealed from it)."""
    return list(SealedUpload.objects.filter(rfp_id=invitation.rfp_id, candidate_id=invitation.candidate_id))


def extension_grant(*, rfp: Rfp, user, candidate_id, until: datetime, reason: str) -> Participation:
    _require_lead(user, rfp)
    if is_opened(rfp) or rfp.openings.exists():
        _refuse("The opening of the proposals has begun; deadlines can no longer move.", status=409)
    candidate = invitable_candidates(rfp).filter(pk=candidate_id).first()
    if candidate is None:
        _refuse("This vendor is not among the vendors the approved shortlist chose.", "candidate")
    reason = (reason or "").strip()
    if not reason:
        _refuse("Record why the extension is granted.", "reason")
    if timezone.is_naive(until):
        until = timezone.make_aware(until)
    participation = _participation(rfp, candidate)
    if until <= vendor_deadline(rfp, participation):
        _refuse("An extension must end after the vendor's current deadline.", "until")
    if until <= _now():
        _refuse("An extension must end in the future.", "until")
    participation.extended_until, participation.extension_reason, participation.extended_by = until, reason[:300], user
    participation.save(update_fields=["extended_until", "extension_reason", "extended_by"])
    emails = Invitation.objects.filter(rfp=rfp, candidate=candidate, revoked_at=None).values_list("email", flat=True)
    for email in sorted(set(emails)):
        _send(
            f"Deadline extended: {rfp.title}",
            f"{rfp.sponsor} extended your proposal deadline for {rfp.reference} to "
            f"{timezone.localtime(until):%d %B %Y %H:%M %Z}.",
            email,
        )
    return participation


# --- What the sponsor sees, and the opening -------------------------------------------------------


def submissions(rfp: Rfp) -> dict[int, datetime]:
    """Per candidate, when it last submitted: all the sponsor learns before the opening."""
    rows = SealedUpload.objects.filter(rfp=rfp).values("candidate_id").annotate(last=Max("uploaded_at"))
    return {row["candidate_id"]: row["last"] for row in rows}


def opener_ids(rfp: Rfp) -> set[int]:
    """Who opens: the evaluation's lead and the colleague named on the RFP (never the same person)."""
    lead_id = rfp.shortlist.evaluation.lead_id
    return {lead_id, rfp.co_opener_id} if rfp.co_opener_id and rfp.co_opener_id != lead_id else set()


def is_opened(rfp: Rfp) -> bool:
    """Open once both openers have each opened."""
    needed = opener_ids(rfp)
    return bool(needed) and needed <= set(rfp.openings.values_list("opened_by_id", flat=True))


def opening_manifest(rfp: Rfp) -> dict:
    uploads = (
        SealedUpload.objects.filter(rfp=rfp)
        .select_related("candidate__vendor")
        .order_by("candidate__vendor__name", "uploaded_at", "pk")
    )
    received = [
        {
            "upload": u.pk,
            "vendor": u.candidate.vendor.name,
            "part": u.part,
            "name": u.original_name,
            "size": u.size,
            "sha256": u.sha256,
            "uploaded_at": u.uploaded_at.isoformat(timespec="seconds"),
        }
        for u in uploads
    ]
    submitted = {u.candidate_id for u in uploads}
    silent = [c.vendor.name for c in invitable_candidates(rfp) if c.pk not in submitted]
    return {
        "rfp": rfp.reference,
        "deadline": last_deadline(rfp).isoformat(timespec="seconds"),
        "received": received,
        "no_submission": silent,
    }


def can_open(user, rfp: Rfp) -> bool:
    """The lead (who is told to name a second opener if none is) or the named second opener."""
    return user.pk in {rfp.shortlist.evaluation.lead_id, rfp.co_opener_id}


def open_proposals(*, rfp: Rfp, user, password: str, request=None) -> ProposalOpening:
    """One opener's e-signed opening. The proposals become readable once both openers have opened."""
    if not access.visible_rfps(user).filter(pk=rfp.pk).exists() and rfp.co_opener_id != user.pk:
        _refuse("No such RFP.", status=404)
    if not rfp.co_opener_id:
        _refuse("Name the second opener on the RFP first: proposals are opened by two people.", status=409)
    if not can_open(user, rfp):
        _refuse("Only the evaluation's lead and the named second opener open the proposals.", status=403)
    deadline = last_deadline(rfp)
    if _now() < deadline:
        _refuse(
            f"The proposals stay sealed until the deadline has passed "
            f"({timezone.localtime(deadline):%d %B %Y %H:%M %Z}).",
            status=409,
        )
    previous = rfp.openings.filter(opened_by=user).first()
    if previous:
        _refuse(
            f"You opened these proposals on {timezone.localtime(previous.opened_at):%d %B %Y %H:%M}; "
            "the second opening must be by the other opener.",
            status=409,
        )
    # Outside the transaction: a wrong password is counted by the lockout and must stay recorded.
    signatures.reauthenticate(request=request, user=user, password=password, record=rfp)
    manifest = opening_manifest(rfp)
    try:
        with transaction.atomic():
            signature = signatures.create(
                user=user, record=rfp, snapshot={"opening": manifest}, meaning=Signature.Meaning.OPENED
            )
            return ProposalOpening.objects.create(
                rfp=rfp, opened_by=user, opened_at=signature.signed_at, manifest=manifest, signature=signature
            )
    except IntegrityError:
        _refuse("You have already opened these proposals.", status=409)


def sealed_upload(*, rfp: Rfp, user, upload_id) -> SealedUpload:
    """A submitted file, for a sponsor user who sees the RFP, once the proposals are opened."""
    if not access.visible_rfps(user).filter(pk=rfp.pk).exists():
        _refuse("No such RFP.", status=404)
    if not is_opened(rfp):
        _refuse("The proposals are sealed until the lead and the second opener have opened them.", status=403)
    upload = SealedUpload.objects.filter(rfp=rfp, pk=upload_id).select_related("candidate__vendor").first()
    if upload is None:
        _refuse("No such file.", status=404)
    return upload


def opened_uploads(rfp: Rfp) -> list[SealedUpload]:
    if not is_opened(rfp):
        return []
    return list(SealedUpload.objects.filter(rfp=rfp).select_related("candidate__vendor"))


def _refuse_questionnaire(parsed) -> NoReturn:
    more = len(parsed.errors) - 10
    listed = " ".join(f"{e.rstrip('.')}." for e in parsed.errors[:10])
    _refuse(listed + (f" And {more} more." if more > 0 else ""), "file")


def _store_response(parsed, **source) -> None:
    """Store in a savepoint: two submissions racing for the same version number become a refusal."""
    try:
        with transaction.atomic():
            responses.store(parsed, **source)
    except IntegrityError:
        _refuse("Another copy of this questionnaire arrived at the same moment; send it again.", "file", 409)


def mailed_questionnaire_add(*, proposal: Proposal, user, upload) -> ProposalDocument:
    """The lead's copy of a filled questionnaire that came with a proposal received by mail: read and
    stored like a portal upload (a new version of the vendor's response). A mailed proposal is kept
    sealed like the portal's: its questionnaire is recorded only once the proposals are open."""
    rfp = proposal.rfp
    _require_lead(user, rfp)
    if _now() < last_deadline(rfp) or (rfp.co_opener_id and not is_opened(rfp)):
        _refuse(
            "Keep the mailed proposal sealed: record its questionnaire after the deadline"
            + (", once both openers have opened the proposals." if rfp.co_opener_id else "."),
            "file",
            409,
        )
    participation = Participation.objects.filter(rfp=rfp, candidate_id=proposal.candidate_id).first()
    # The last day on which it counted as in time (a deadline is the end of its day).
    deadline = timezone.localdate(vendor_deadline(rfp, participation) - timedelta(microseconds=1))
    if proposal.received_on > deadline:
        _refuse(
            f"This proposal was received on {proposal.received_on:%d %B %Y}, after the deadline of "
            f"{deadline:%d %B %Y}: a late questionnaire is not taken into the comparison.",
            "file",
            409,
        )
    if upload is None:
        _refuse("Choose a file.", "file")
    name, extension = _checked_name(upload.name)
    if extension != ".xlsx":
        _refuse("The filled questionnaire must be the .xlsx file of the vendor's packet.", "file")
    if upload.size > max_upload():
        _refuse(f"The file is larger than {max_upload() // (1024 * 1024)} MB.", "file")
    _sniff(upload, extension)
    _scan(upload)
    parsed = responses.read_questionnaire(upload, rfp=rfp, candidate=proposal.candidate)
    if parsed.errors:
        _refuse_questionnaire(parsed)
    upload.seek(0)
    document = ProposalDocument(
        proposal=proposal, original_name=name, size=upload.size, sha256=_digest(upload), uploaded_by=user
    )
    with transaction.atomic():
        document.file.save(name, upload, save=False)
        try:
            document.save()
            _store_response(parsed, document=document)
        except Exception:
            document.file.storage.delete(str(document.file.name))
            raise
    return document


# --- Reminders (beat) -----------------------------------------------------------------------------

REMINDERS = [("proposal-3d", timedelta(days=3)), ("proposal-1d", timedelta(days=1))]


def send_reminders(now: datetime | None = None) -> int:
    """E-mail invited vendors that have not submitted (and not declined) 3 days and 1 day before
    their deadline; each reminder once per vendor (Participation.reminders_sent)."""
    now = now or _now()
    sent = 0
    submitted = set(SealedUpload.objects.values_list("rfp_id", "candidate_id").distinct())
    rows = Participation.objects.select_related("rfp").exclude(intent=Participation.Intent.DECLINE)
    for participation in rows.filter(rfp__proposal_due__gte=timezone.localdate(now) - timedelta(days=1)):
        rfp = participation.rfp
        if (rfp.pk, participation.candidate_id) in submitted:
            continue
        deadline = vendor_deadline(rfp, participation)
        due = [key for key, ahead in REMINDERS if now < deadline <= now + ahead]
        due = [key for key in due[-1:] if key not in participation.reminders_sent]
        if not due:
            continue
        emails = set(
            Invitation.objects.filter(
                rfp=rfp, candidate_id=participation.candidate_id, revoked_at=None, expires_at__gt=now
            ).values_list("email", flat=True)
        )
        for email in sorted(emails):
            _send(
                f"Reminder: proposals due {timezone.localtime(deadline):%d %B %Y}: {rfp.title}",
                f"{rfp.sponsor}'s {rfp.reference} closes on {timezone.localtime(deadline):%d %B %Y %H:%M %Z}. "
                f"Upload your proposal in the supplier portal: {_portal_url(reverse('portal:sign-in'))}",
                email,
            )
            sent += 1
        # Several reminders due at once (a late invitation): only the nearest is sent, all are marked.
        marked = sorted(set(participation.reminders_sent) | {k for k, a in REMINDERS if deadline <= now + a})
        Participation.objects.filter(pk=participation.pk).update(reminders_sent=marked)
    return sent
