"""State changes of audits, findings and CAPA: permission and state checks, then one write."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import NoReturn

from django.conf import settings
from django.db import transaction
from django.db.models import Max, Prefetch
from django.utils import timezone
from django_fsm import TransitionNotAllowed

from accounts import signatures
from accounts.models import Signature
from audits import access, signals
from audits.models import (
    AREAS,
    SIGNED_STATES,
    Audit,
    AuditAmendment,
    AuditReport,
    Capa,
    Finding,
    FindingAttachment,
    OutcomeActivity,
    QualificationOutcome,
)
from audits.report import REPORTS
from audits.selectors import REPORT_PARTS, audit_snapshot
from core import outbox, trail
from core.errors import ServiceError
from vendors import services as vendor_services
from vendors.models import Service


class AuditError(ServiceError):
    """A refused action on an audit, finding or CAPA."""


def _refuse(message: str, field: str | None = None, status: int = 400) -> NoReturn:
    raise AuditError(message, field, status)


def audit_create(
    *, user, site, type: str, planned_start: date, planned_end: date, co_auditors=(), scope=(), agenda: str = ""
) -> Audit:
    if not user.has_perm("audits.add_audit"):
        _refuse("Only auditors plan audits.", status=403)
    if planned_end < planned_start:
        _refuse("The audit cannot end before it starts.", "planned_end")
    unknown = set(scope) - {key for key, _ in AREAS}
    if unknown:
        _refuse(f"Unknown areas: {', '.join(sorted(unknown))}.", "scope")
    with transaction.atomic():
        audit = Audit.objects.create(
            site=site,
            type=type,
            planned_start=planned_start,
            planned_end=planned_end,
            lead_auditor=user,
            scope=list(scope),
            agenda=agenda,
        )
        audit.co_auditors.set(co_auditors)
    return audit


ACTIONS = {
    "start": "start the audit",
    "draft_report": "mark the report drafted",
    "reopen": "reopen the audit",
    "close": "close the audit",
}


def close_blockers(audit: Audit) -> list[str]:
    """Why a signed audit cannot be closed yet: an end date to come, CAPAs still open (empty: it can be)."""
    reasons = []
    if audit.actual_end is None:
        reasons.append("The audit has no actual end date.")
    elif audit.actual_end > timezone.localdate():
        reasons.append(f"The audit ends on {audit.actual_end:%Y-%m-%d}; close it after that.")
    open_capas = (
        Capa.objects.filter(finding__audit_id=audit.pk)
        .exclude(status__in=Capa.DONE)
        .order_by("finding__number")
        .values_list("finding__number", "status")
    )
    if open_capas:
        labels = dict(Capa.Status.choices)
        listed = ", ".join(f"CAPA #{number} ({labels[status].lower()})" for number, status in open_capas)
        reasons.append(f"Every CAPA must be verified effective or closed first; still open: {listed}.")
    return reasons


def audit_transition(*, audit: Audit, user, action: str) -> Audit:
    if action not in ACTIONS:
        _refuse(f"Unknown action “{action}”; allowed: {', '.join(ACTIONS)}.", "action")
    if audit.lead_auditor_id != user.pk:
        _refuse(f"Only the lead auditor can {ACTIONS[action]}.", status=403)
    with transaction.atomic():
        # The row lock also serializes closing with CAPA updates (capa_update takes the same lock).
        audit = Audit.objects.select_for_update().get(pk=audit.pk)
        try:
            getattr(audit, action)()
        except TransitionNotAllowed:
            _refuse(f"You cannot {ACTIONS[action]} while it is {audit.get_status_display().lower()}.", status=409)
        if audit.actual_start and audit.actual_start > timezone.localdate():
            _refuse("An audit cannot start in the future.", status=409)
        if action == "close":
            blockers = close_blockers(audit)
            if blockers:
                _refuse(f"You cannot close the audit yet. {' '.join(blockers)}", status=409)
        audit.save()
    return audit


def finding_add(
    *,
    audit: Audit,
    user,
    severity: str,
    area: str,
    description: str,
    regulation_reference: str = "",
    capa_required: bool = True,
    capa_due_date: date | None = None,
    capa_owner: str = "",
    confirm_past_due_date: bool = False,
) -> Finding:
    """Record a finding (numbered within the audit), with its CAPA when one is required. A CAPA due date
    in the past makes the CAPA overdue at once: it is accepted only when confirmed."""
    if not access.can_edit(user, audit):
        _refuse("Only the audit's auditors record findings.", status=403)
    if audit.is_locked:
        _refuse("The report is signed: it is a record now; add an amendment instead.", status=409)
    if audit.status not in (Audit.Status.IN_PROGRESS, Audit.Status.REPORT_DRAFTED):
        _refuse(
            f"Findings are recorded once the audit has started; it is {audit.get_status_display().lower()}.", status=409
        )
    if severity not in Finding.Severity.values:
        _refuse(f"Severity must be one of {', '.join(Finding.Severity.values)}.", "severity")
    if area not in {key for key, _ in AREAS}:
        _refuse("Choose a quality-system area.", "area")
    if not description.strip():
        _refuse("Describe the finding.", "description")
    if capa_required:
        if capa_due_date is None:
            _refuse("A CAPA needs a due date.", "capa_due_date")
        if audit.actual_start and capa_due_date < audit.actual_start:
            _refuse("The CAPA cannot be due before the audit took place.", "capa_due_date")
        _check_past_due_date(capa_due_date, confirm_past_due_date)
    with transaction.atomic():
        audit = Audit.objects.select_for_update().get(pk=audit.pk)
        number = (audit.findings.aggregate(n=Max("number"))["n"] or 0) + 1
        finding = Finding.objects.create(
            audit=audit,
            number=number,
            severity=severity,
            area=area,
            regulation_reference=regulation_reference.strip(),
            description=description.strip(),
            capa_required=capa_required,
        )
        if capa_required and capa_due_date is not None:  # checked above: a CAPA has a due date
            Capa.objects.create(finding=finding, due_date=capa_due_date, owner=capa_owner.strip())
    return finding


def _check_past_due_date(due: date, confirmed: bool) -> None:
    """A due date in the past is refused unless the auditor confirms it (the CAPA is overdue at once)."""
    today = timezone.localdate()
    if due < today and not confirmed:
        _refuse(
            f"The CAPA due date {due:%Y-%m-%d} is {(today - due).days} day{'s' if (today - due).days != 1 else ''} "
            "in the past: the CAPA will be overdue as soon as it is saved. Confirm that this date is intended "
            "(e.g. the vendor's committed date has already passed), or choose a later date.",
            "confirm_past_due_date",
        )


# Evidence files: what auditors attach, checked by extension and by the file's first bytes.
ATTACHMENT_TYPES = {
    ".pdf": (b"%PDF",),
    ".png": (b"\x89PNG",),
    ".jpg": (b"\xff\xd8\xff",),
    ".jpeg": (b"\xff\xd8\xff",),
    ".docx": (b"PK\x03\x04",),
    ".xlsx": (b"PK\x03\x04",),
    ".txt": (),
    ".csv": (),
}
ATTACHMENT_MAX_BYTES = 20 * 1024 * 1024


def _check_upload(upload, field: str) -> None:
    """An evidence file: an allowed extension, 1 byte to 20 MB, and content that matches the extension."""
    extension = Path(upload.name).suffix.lower()
    if extension not in ATTACHMENT_TYPES:
        _refuse(f"Attach {', '.join(sorted(ATTACHMENT_TYPES))} files only.", field)
    if upload.size == 0 or upload.size > ATTACHMENT_MAX_BYTES:
        _refuse("Attachments must be between 1 byte and 20 MB.", field)
    head = upload.read(8)
    upload.seek(0)
    signatures = ATTACHMENT_TYPES[extension]
    if signatures and not any(head.startswith(sig) for sig in signatures):
        _refuse(f"The file's content is not a {extension} file.", field)
    if not signatures and b"\x00" in upload.read(4096):
        _refuse("A text attachment must not contain binary data.", field)
    upload.seek(0)


def attachment_add(*, finding, user, upload):
    if not access.can_edit(user, finding.audit):
        _refuse("Only the audit's auditors attach evidence.", status=403)
    _check_upload(upload, "upload")
    return FindingAttachment.objects.create(
        finding=finding, file=upload, original_name=Path(upload.name).name[:255], size=upload.size, uploaded_by=user
    )


# The signed outcome -> the site's row(s) on the approved-supplier list (vendors.SiteQualification).
OUTCOME_TO_QUALIFICATION = {
    "approved": "approved",
    "approved_with_conditions": "approved_with_conditions",
    "not_approved": "disqualified",
}


def _add_months(day: date, months: int) -> date:
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    return day.replace(year=year, month=month, day=min(day.day, 28))


# Reads of signed outcomes (QA's decisions): what a signature covers and the history the page shows.


def outcome_snapshot(outcome: QualificationOutcome) -> dict:
    """What QA signs: the decision and what it declares, the activities (none: the whole site), the
    conditions, why it supersedes the previous one, and the report signature it was decided on."""
    return {
        "audit": outcome.audit_id,
        "report_hash": outcome.report_hash,
        "outcome": outcome.outcome,
        "meaning": outcome.meaning_label,
        "activities": sorted(service.code for service in outcome.activities.all()),
        "note": outcome.note,
        "reason": outcome.reason,
        "supersedes": outcome.supersedes_id,
        "decided_by": outcome.decided_by_id,
    }


def outcomes_prefetch(lookup: str = "outcomes") -> Prefetch:
    """Prefetch an audit's signed outcomes with their activities and signatures (history in fixed queries)."""
    return Prefetch(
        lookup,
        queryset=QualificationOutcome.objects.select_related("decided_by").prefetch_related(
            "activities", Prefetch("signatures", queryset=Signature.objects.select_related("signer"))
        ),
    )


def outcome_history(audit: Audit) -> list[dict]:
    """QA's signed outcomes of the audit, oldest first, each with its signer, meaning, time, reason and
    whether its signature still verifies. Reads `audit.outcomes` (prefetched with `outcomes_prefetch`)."""
    outcomes = list(audit.outcomes.all())
    history = []
    for index, outcome in enumerate(outcomes):
        signature = next(iter(outcome.signatures.all()), None)
        activities = list(outcome.activities.all())
        history.append(
            {
                "id": outcome.pk,
                "outcome": outcome.outcome,
                "outcome_label": outcome.get_outcome_display(),
                "activities": [service.code for service in activities],
                "activity_names": [service.name for service in activities],
                "note": outcome.note,
                "reason": outcome.reason,
                "supersedes": outcome.supersedes_id,
                "current": index == len(outcomes) - 1,
                "printed_name": signature.printed_name if signature else "",
                "username": signature.signer.username if signature else "",
                "meaning": outcome.meaning_label,
                "signed_at": signature.signed_at if signature else outcome.created_at,
                "valid": signature is not None and signatures.is_valid(signature, outcome, outcome_snapshot(outcome)),
            }
        )
    return history


def report_signature(audit: Audit) -> Signature | None:
    """The lead auditor's signature of the report (the newest, should there be several)."""
    return (
        signatures.signatures_for(audit)
        .filter(meaning=Signature.Meaning.AUTHORED)
        .order_by("-signed_at", "-pk")
        .first()
    )


def outcome_sign(
    *,
    request,
    audit: Audit,
    user,
    outcome: str,
    password: str,
    activities=(),
    note: str = "",
    reason: str = "",
) -> QualificationOutcome:
    """QA signs the qualification outcome of a signed report (re-entering the password), for the whole site
    or for the activities named. Append-only: a new outcome supersedes the latest one and gives its reason.
    The site's qualification and the approved-supplier list follow it; the vendor's register status does not
    (a person changes it). A refusal is recorded (after the rollback), like every refused signature."""
    try:
        return _sign_outcome(request, audit, user, outcome, password, activities, note, reason)
    except ServiceError as error:  # the service's refusals and a wrong password alike
        signatures.record_refusal(user=user, record=audit, action="sign qualification outcome", reason=error.message)
        raise


def _sign_outcome(request, audit, user, outcome, password, activities, note, reason) -> QualificationOutcome:
    if not access.can_sign_outcome(user):
        _refuse("Only quality assurance signs the qualification outcome.", status=403)
    if not access.is_independent(user, audit):
        _refuse(
            "QA decides independently of the audit: a member of its audit team cannot sign its outcome.", status=403
        )
    if outcome not in OUTCOME_TO_QUALIFICATION:
        _refuse(f"Outcome must be one of {', '.join(OUTCOME_TO_QUALIFICATION)}.", "outcome")
    if audit.status not in SIGNED_STATES:
        _refuse(
            "The qualification outcome is signed after the lead auditor has signed the report; "
            f"this one is {audit.get_status_display().lower()}.",
            status=409,
        )
    activities = list(dict.fromkeys(activities))
    if any(not isinstance(service, Service) or service.pk is None for service in activities):
        _refuse("Choose the activities from the list of services.", "activities")
    latest = audit.outcomes.order_by("-created_at", "-pk").first()
    if latest is not None and not reason.strip():
        _refuse(
            f"An outcome was signed on {latest.created_at:%Y-%m-%d}: give the reason the new one supersedes it.",
            "reason",
        )
    signed_report = report_signature(audit)
    if signed_report is None or not signatures.is_valid(signed_report, audit, audit_snapshot(audit)):
        _refuse("The report's signature does not verify: the record changed after signing.", status=409)
    # A wrong password raises SignatureError (a refusal under "password"), outside any transaction.
    signatures.reauthenticate(request=request, user=user, password=password, record=audit)
    if reason.strip():
        trail.reason(reason.strip())
    with transaction.atomic():
        locked = Audit.objects.select_for_update().get(pk=audit.pk)
        if locked.outcomes.order_by("-created_at", "-pk").first() != latest:
            _refuse("Another outcome was signed meanwhile: reload the audit and decide again.", status=409)
        decision = QualificationOutcome.objects.create(
            audit=locked,
            outcome=outcome,
            note=note.strip(),
            reason=reason.strip() if latest is not None else "",
            supersedes=latest,
            report_hash=signed_report.record_hash,
            decided_by=user,
        )
        OutcomeActivity.objects.bulk_create(OutcomeActivity(outcome=decision, service=s) for s in activities)
        decision = QualificationOutcome.objects.prefetch_related("activities").get(pk=decision.pk)
        signatures.create(user=user, record=decision, snapshot=outcome_snapshot(decision), meaning=decision.meaning)
        _qualify_site(locked, decision, activities, user)
    return decision


def _qualify_site(audit: Audit, decision: QualificationOutcome, activities: list, user) -> None:
    """The site follows its latest signed outcome: its qualification, and requalification due after
    REQUALIFICATION_MONTHS (half for conditional approval, none when not approved); the approved-supplier
    list gets one row per activity named (or one site-wide row). The vendor's register status is not
    touched: a person changes it."""
    outcome = decision.outcome
    months = settings.REQUALIFICATION_MONTHS // (2 if outcome == "approved_with_conditions" else 1)
    due = _add_months(audit.actual_end or timezone.localdate(), months) if outcome != "not_approved" else None
    site = audit.site
    site.qualification = outcome
    site.requalification_due = due
    site.save(update_fields=["qualification", "requalification_due", "updated_at"])
    for activity in activities or [None]:
        vendor_services.record_site_qualification(
            site=site,
            activity=activity,
            status=OUTCOME_TO_QUALIFICATION[outcome],
            user=user,
            decided_on=timezone.localdate(),
            requalification_due=due,
            note=decision.note,
            source=f"Audit #{audit.pk}, signed outcome #{decision.pk}",
        )
    # Layers above (oversight's risk-based interval) may move the due date; same transaction.
    signals.site_qualified.send(sender=Audit, site=site, audit=audit, outcome=outcome, due=due, user=user)


VERIFICATION_NOTE_MIN = 20


def _meaningful(text: str) -> bool:
    """A note that says something: at least VERIFICATION_NOTE_MIN characters, three words, not one
    character repeated (“ok”, “done”, “verified”, “xxxxxxxxxxxxxxxxxxxx” are not evidence)."""
    text = " ".join(text.split())
    return len(text) >= VERIFICATION_NOTE_MIN and len(text.split()) >= 3 and len(set(text.replace(" ", ""))) > 3


def capa_update(*, capa: Capa, user, confirm_past_due_date: bool = False, evidence=None, **changes) -> Capa:
    """Vendor response, owner, due date and status. A due date moved into the past needs confirming.
    Verifying effectiveness asks for evidence: a verification note (required) and optionally a file (kept
    with the finding's evidence and linked from the CAPA); it records who verified and when."""
    audit = capa.finding.audit
    if not access.can_edit(user, audit):
        _refuse("Only the audit's auditors update its CAPAs.", status=403)
    allowed = {"vendor_response", "owner", "due_date", "status", "completed_on", "verification_note"}
    unknown = set(changes) - allowed
    if unknown:
        _refuse(f"Cannot change {', '.join(sorted(unknown))}.", sorted(unknown)[0])
    status = changes.get("status", capa.status)
    if status not in Capa.Status.values:
        _refuse(f"Status must be one of {', '.join(Capa.Status.values)}.", "status")
    due = changes.get("due_date", capa.due_date)
    if audit.actual_start and due < audit.actual_start:
        _refuse("The CAPA cannot be due before the audit took place.", "due_date")
    if due != capa.due_date:
        _check_past_due_date(due, confirm_past_due_date)
    completed = changes.get("completed_on", capa.completed_on)
    if completed and completed > timezone.localdate():
        _refuse("A CAPA cannot be completed in the future.", "completed_on")
    verifying = status == Capa.Status.VERIFIED and capa.status != Capa.Status.VERIFIED
    note = " ".join(str(changes.get("verification_note", "")).split()) if verifying else ""
    if verifying and not _meaningful(note):
        _refuse(
            "Describe how effectiveness was verified: what you checked (records, a re-inspection, trend data) "
            f"and what showed the CAPA worked, in at least {VERIFICATION_NOTE_MIN} characters.",
            "verification_note",
        )
    if not verifying and " ".join(str(changes.get("verification_note", capa.verification_note)).split()) != (
        capa.verification_note
    ):
        _refuse(
            "The verification note is recorded when the CAPA is verified effective, and then kept as it was.",
            "verification_note",
        )
    if evidence is not None:
        if not verifying:
            _refuse("Verification evidence is attached when the CAPA is verified effective.", "verification_evidence")
        _check_upload(evidence, "verification_evidence")
    changes.pop("verification_note", None)
    previous = capa.status
    for field, value in changes.items():
        setattr(capa, field, value)
    if status in (Capa.Status.IMPLEMENTED, *Capa.DONE) and capa.completed_on is None:
        capa.completed_on = timezone.localdate()
    if verifying:
        capa.verified_by, capa.verified_at, capa.verification_note = user, timezone.now(), note
    elif previous == Capa.Status.VERIFIED and status not in Capa.DONE:
        # Found not effective after all: the CAPA is worked on again and verified again later (the trail
        # keeps the earlier verification).
        capa.verified_by, capa.verified_at, capa.verification_note, capa.verification_evidence = None, None, "", None
    with transaction.atomic():
        # Follow-up goes on after signing (a signed audit's CAPAs still change) until the audit is closed;
        # the audit's row lock keeps this from racing with closing it.
        current = Audit.objects.select_for_update().filter(pk=audit.pk).values_list("status", flat=True).first()
        if current == Audit.Status.CLOSED:
            _refuse("The audit is closed; its CAPAs are final. Add an amendment instead.", status=409)
        if verifying:
            capa.verification_evidence = (
                FindingAttachment.objects.create(
                    finding=capa.finding,
                    file=evidence,
                    original_name=Path(evidence.name).name[:255],
                    size=evidence.size,
                    uploaded_by=user,
                )
                if evidence is not None
                else None
            )
            trail.reason(f"Verified effective: {note}")
        capa.save()
    return capa


# The recommendation and what it must not ignore: findings that put patients or compliance at risk.
SERIOUS = (Finding.Severity.CRITICAL, Finding.Severity.MAJOR)


def open_serious_capas(audit: Audit) -> list[Capa]:
    """CAPAs of the audit's critical and major findings not yet verified effective or closed, overdue first."""
    return list(
        Capa.objects.filter(finding__audit_id=audit.pk, finding__severity__in=SERIOUS)
        .exclude(status__in=Capa.DONE)
        .select_related("finding")
        .order_by("due_date", "finding__number")
    )


def serious_capa_warning(capas: list[Capa]) -> str:
    """“CAPA of finding #2 (major) is overdue since 2026-11-08; …”: what a recommendation of approval ignores."""
    parts = []
    for capa in capas:
        label = f"finding #{capa.finding.number} ({capa.finding.get_severity_display().lower()})"
        if capa.is_overdue:
            parts.append(f"the CAPA of {label} is overdue since {capa.due_date:%Y-%m-%d}")
        else:
            parts.append(f"the CAPA of {label} is {capa.get_status_display().lower()}, due {capa.due_date:%Y-%m-%d}")
    return "; ".join(parts)


def _check_approval_risks(audit: Audit, recommended: str, confirmed: bool) -> None:
    if recommended != "approved" or confirmed:
        return
    capas = open_serious_capas(audit)
    if capas:
        _refuse(
            f"You recommend “Approved” although {serious_capa_warning(capas)}. Confirm that approval without "
            "conditions is intended, or recommend approval with conditions.",
            "confirm_open_capas",
        )


REPORT_FIELDS = REPORT_PARTS  # what report_update writes, and what a signature covers of it


def report_update(*, audit: Audit, user, confirm_open_capas: bool = False, **changes) -> Audit:
    """The report the lead auditor writes before signing it: scope statement, executive summary, attendees
    (sponsor and vendor side), distribution list and the recommended outcome (with its conditions when
    conditional). Recommending “Approved” while a critical or major CAPA is open needs confirming. Locked
    once signed (an amendment corrects it)."""
    if not access.is_lead(user, audit):
        _refuse("Only the lead auditor writes the report.", status=403)
    unknown = set(changes) - set(REPORT_FIELDS)
    if unknown:
        _refuse(f"Cannot change {', '.join(sorted(unknown))}.", sorted(unknown)[0])
    if not changes:
        _refuse(f"Send at least one of {', '.join(REPORT_FIELDS)}.")
    audit = Audit.objects.get(pk=audit.pk)  # what is stored now (the form may have been drawn long ago)
    if audit.is_locked:
        _refuse("The report is signed: it is a record now; add an amendment instead.", status=409)
    values = {field: str(changes.get(field, getattr(audit, field))).strip() for field in REPORT_FIELDS}
    recommended = values["recommended_outcome"]
    if recommended not in {"", *OUTCOME_TO_QUALIFICATION}:
        _refuse(f"The recommended outcome must be one of {', '.join(OUTCOME_TO_QUALIFICATION)}.", "recommended_outcome")
    if recommended == "approved_with_conditions" and not values["recommendation_conditions"]:
        _refuse("State the conditions of the recommended approval.", "recommendation_conditions")
    if values["recommendation_conditions"] and recommended != "approved_with_conditions":
        _refuse(
            "Conditions go with a recommendation of approval with conditions; clear them or change the recommendation.",
            "recommendation_conditions",
        )
    if recommended != audit.recommended_outcome:  # confirmed when chosen; signing asks again
        _check_approval_risks(audit, recommended, confirm_open_capas)
    with transaction.atomic():
        locked = Audit.objects.select_for_update().get(pk=audit.pk)
        if locked.is_locked:
            _refuse("The report was signed meanwhile; add an amendment instead.", status=409)
        for field, value in values.items():
            setattr(locked, field, value)
        locked.save(update_fields=[*REPORT_FIELDS, "updated_at"])
    return locked


def audit_sign(*, request, audit: Audit, user, password: str, confirm_open_capas: bool = False):
    """The lead auditor signs the drafted report (re-entering the password); it becomes a record. The report
    needs the recommended outcome first; a recommendation of “Approved” with a critical or major CAPA still
    open is signed only when confirmed. A refusal is recorded (after the rollback), like every refused
    signature."""
    try:
        return _sign(request, audit, user, password, confirm_open_capas)
    except ServiceError as error:  # the service's refusals and a wrong password alike
        signatures.record_refusal(user=user, record=audit, action="sign audit report", reason=error.message)
        raise


def _sign(request, audit: Audit, user, password: str, confirm_open_capas: bool):
    if audit.lead_auditor_id != user.pk:
        _refuse("Only the lead auditor signs the report.", status=403)
    if audit.status != Audit.Status.REPORT_DRAFTED:
        _refuse(f"Only a drafted report can be signed; this one is {audit.get_status_display().lower()}.", status=409)
    recommended = Audit.objects.filter(pk=audit.pk).values_list("recommended_outcome", flat=True).first()
    if not recommended:
        _refuse(
            "Record the recommended outcome in the report before signing it: approved, approved with "
            "conditions or not approved.",
            status=409,
        )
    _check_approval_risks(audit, recommended, confirm_open_capas)
    # A wrong password raises SignatureError (a refusal under "password"), outside any transaction.
    signatures.reauthenticate(request=request, user=user, password=password, record=audit)
    with transaction.atomic():
        audit = Audit.objects.select_for_update().get(pk=audit.pk)
        if audit.status != Audit.Status.REPORT_DRAFTED:
            _refuse("The report was signed meanwhile.", status=409)
        if not audit.recommended_outcome:
            _refuse("The recommended outcome was cleared meanwhile: record it again.", status=409)
        signature = signatures.create(
            user=user, record=audit, snapshot=audit_snapshot(audit), meaning=Signature.Meaning.AUTHORED
        )
        audit.sign_report()
        audit.save()
    return signature


def amendment_add(*, audit: Audit, user, reason: str, text: str):
    """A correction of the signed report, with its reason. The qualification outcome is not amended:
    QA signs a new outcome that supersedes the previous one (`outcome_sign`)."""
    if not access.can_edit(user, audit):
        _refuse("Only the audit's auditors amend its report.", status=403)
    if not audit.is_locked:
        _refuse("Amendments are for signed reports; edit the draft directly.", status=409)
    if not reason.strip() or not text.strip():
        _refuse("An amendment needs a reason and its text.", "reason" if not reason.strip() else "text")
    trail.reason(reason.strip())
    return AuditAmendment.objects.create(audit=audit, reason=reason.strip(), text=text.strip(), author=user)


def report_request(*, audit: Audit, user):
    """Queue the report PDF; the worker renders it after the transaction commits."""
    if not access.can_edit(user, audit):
        _refuse("Only the audit's auditors generate its report.", status=403)
    if audit.status not in (Audit.Status.REPORT_DRAFTED, Audit.Status.SIGNED, Audit.Status.CLOSED):
        _refuse("Draft the report before generating its PDF.", status=409)
    with transaction.atomic():  # the report and its outbox message, together
        report = AuditReport.objects.create(audit=audit, requested_by=user)
        outbox.enqueue_job(REPORTS, report.pk)
    return report
