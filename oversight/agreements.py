"""Quality agreements: drafting from the partner kind's template, the responsibility matrix, versions,
QA's e-signature, the vendor's countersignature (supplier portal or uploaded signed copy), the PDF,
and the change-control notice period that performance records are checked against.

Services (writes) refuse with OversightError and change nothing then; the reads at the end serve the
pages, the API and the portal.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.db.models import Prefetch, QuerySet
from django.template.loader import render_to_string
from django.utils import timezone

from accounts import signatures
from accounts.models import Signature
from core import pdf, trail
from core.errors import ServiceError
from oversight import defaults
from oversight.models_qa import AgreementLine, Owner, QualityAgreement, VendorSignature
from oversight.qa_access import refuse, require_read, require_write
from oversight.requalification import APPROVED
from vendors.models import Service, Site
from vendors.validators import validate_pdf_document

Status = QualityAgreement.Status
REVIEW_YEARS = 2  # the default review cycle of an agreement
OWNERS = {value for value, _label in Owner.choices}


# --- Reads ---------------------------------------------------------------------------------------------


def eligible(site: Site) -> bool:
    """A quality agreement is for a site that is selected by an award or qualified (approved)."""
    return bool(site.selected_on) or site.qualification in APPROVED


def default_kind(site: Site) -> str:
    codes = {k.code for k in site.vendor.kinds.all()}
    for kind in ("CDMO", "CMO", "CRO"):
        if kind in codes:
            return kind
    return "CMO"


def visible_agreements(user) -> QuerySet[QualityAgreement]:
    require_read(user)
    return QualityAgreement.objects.select_related("site__vendor", "activity", "vendor_signature")


def agreement_detail(user, pk) -> QualityAgreement:
    agreement = (
        visible_agreements(user)
        .prefetch_related(
            Prefetch("lines", queryset=AgreementLine.objects.order_by("position", "pk")),
            Prefetch("signatures", queryset=Signature.objects.order_by("signed_at")),
        )
        .filter(pk=pk)
        .first()
    )
    if agreement is None:
        refuse("No such quality agreement.", status=404)
    return agreement


def sections_of(agreement: QualityAgreement) -> list[dict]:
    """The matrix grouped by section in the guidance's order: [{code, title, lines}] (lines prefetched)."""
    grouped: dict[str, list[AgreementLine]] = {code: [] for code, _t in defaults.SECTIONS}
    for line in agreement.lines.all():
        grouped.setdefault(line.section, []).append(line)
    return [
        {"code": code, "title": defaults.SECTION_TITLES.get(code, code), "lines": lines}
        for code, lines in grouped.items()
    ]


def snapshot(agreement: QualityAgreement) -> dict:
    """What QA signs and the vendor countersigns: the terms and every responsibility with its owner."""
    return {
        "site": agreement.site_id,
        "activity": agreement.activity.code,
        "version": agreement.version,
        "partner_kind": agreement.partner_kind,
        "change_notice_days": agreement.change_notice_days,
        "review_due": agreement.review_due.isoformat(),
        "lines": [
            {"section": line.section, "text": line.text, "owner": line.owner}
            for line in sorted(agreement.lines.all(), key=lambda line: (line.position, line.pk))
        ],
    }


def qa_signature(agreement: QualityAgreement) -> Signature | None:
    return next((s for s in agreement.signatures.all() if s.meaning == Signature.Meaning.APPROVED_FOR_QUALITY), None)


def manifest(agreement: QualityAgreement) -> list[dict]:
    """QA's signature(s), each with whether it still verifies against the agreement as it is now."""
    current = snapshot(agreement)
    return [
        {
            "printed_name": s.printed_name,
            "signed_at": s.signed_at,
            "meaning": s.get_meaning_display(),
            "record_hash": s.record_hash,
            "valid": signatures.is_valid(s, agreement, current),
        }
        for s in agreement.signatures.all()
    ]


def vendor_agreements(vendor_id: int) -> list[QualityAgreement]:
    """The supplier portal: the vendor's agreements QA has signed (to countersign, or signed)."""
    return list(
        QualityAgreement.objects.filter(site__vendor_id=vendor_id, status__in=[Status.SPONSOR_SIGNED, Status.EFFECTIVE])
        .select_related("site", "activity", "vendor_signature")
        .prefetch_related(Prefetch("lines", queryset=AgreementLine.objects.order_by("position", "pk")))
        .order_by("status", "site__name", "activity__name")
    )


@dataclass(frozen=True)
class Breach:
    label: str
    given_on: date
    effective_on: date
    days_given: int
    days_required: int

    def __str__(self) -> str:
        return (
            f"{self.label}: notified {self.given_on:%Y-%m-%d}, effective {self.effective_on:%Y-%m-%d} "
            f"({self.days_given} days' notice; the quality agreement requires {self.days_required})"
        )


def notice_period(site: Site | int, activity: Service | None = None) -> int | None:
    """The change-control notice period (days) of the site's effective agreement(s): the longest one when
    several activities have agreements (or the activity's own). None without an effective agreement."""
    site_id = site.pk if isinstance(site, Site) else site
    agreements = QualityAgreement.objects.filter(site_id=site_id, status=Status.EFFECTIVE)
    if activity is not None:
        agreements = agreements.filter(activity=activity)
    return max(agreements.values_list("change_notice_days", flat=True), default=None)


def notice_breaches(site: Site | int, notifications, activity: Service | None = None) -> list[Breach]:
    """The change notifications given later than the agreement's notice period before the change took effect.

    `notifications`: items with `given_on` and `effective_on` dates (objects or dicts) and an optional
    `label`. Without an effective agreement there is no period to check against: no breaches."""
    required = notice_period(site, activity)
    if required is None:
        return []
    breaches = []
    for i, item in enumerate(notifications, start=1):
        get = item.get if isinstance(item, dict) else lambda name, default=None, item=item: getattr(item, name, default)
        given_on, effective_on = get("given_on"), get("effective_on")
        if not isinstance(given_on, date) or not isinstance(effective_on, date):
            raise ValueError(f"Change notification {i}: give the date notified and the date effective.")
        days = (effective_on - given_on).days
        if days < required:
            breaches.append(Breach(get("label") or f"Change notification {i}", given_on, effective_on, days, required))
    return breaches


def agreement_pdf(agreement: QualityAgreement) -> bytes:
    """The agreement as a PDF (sandboxed WeasyPrint): terms, the matrix, and both parties' signatures."""
    html = render_to_string(
        "oversight/agreement_pdf.html",
        {
            "agreement": agreement,
            "sections": sections_of(agreement),
            "manifest": manifest(agreement),
            "vendor_signature": getattr(agreement, "vendor_signature", None),
            "generated_at": timezone.now(),
        },
    )
    content, _pages, _refused = pdf.render_pdf(html)
    return content


# --- Writes ----------------------------------------------------------------------------------------------


def _clean_lines(lines) -> list[dict]:
    """Every line with a section of the guidance, a text and an owner; the first problem named."""
    if not isinstance(lines, list | tuple) or not lines:
        refuse("The responsibility matrix needs at least one line.", "lines")
    cleaned = []
    for i, line in enumerate(lines, start=1):
        if not isinstance(line, dict):
            refuse(f"Line {i}: give a section, a responsibility and an owner.", "lines")
        section, text = str(line.get("section") or ""), " ".join(str(line.get("text") or "").split())
        owner = str(line.get("owner") or "")
        if section not in defaults.SECTION_TITLES:
            refuse(f"Line {i}: choose a section of the agreement.", "lines")
        if not text:
            refuse(f"Line {i} ({defaults.SECTION_TITLES[section]}): describe the responsibility.", "lines")
        if len(text) > 500:
            refuse(f"Line {i} (“{text[:40]}…”): at most 500 characters.", "lines")
        if owner not in OWNERS:
            refuse(
                f"Line {i} (“{text}”, {defaults.SECTION_TITLES[section]}) has no owner: choose sponsor, vendor or both.",
                "lines",
            )
        cleaned.append({"section": section, "text": text, "owner": owner})
    return cleaned


def _check_terms(review_due, change_notice_days) -> None:
    if not isinstance(review_due, date) or review_due <= timezone.localdate():
        refuse("The review is due on a date in the future.", "review_due")
    if not isinstance(change_notice_days, int) or not 1 <= change_notice_days <= 730:
        refuse("The notice period for changes is 1 to 730 days.", "change_notice_days")


def agreement_create(
    *,
    user,
    site: Site,
    activity: Service,
    partner_kind: str = "",
    review_due: date | None = None,
    change_notice_days: int | None = None,
) -> QualityAgreement:
    """Version 1 for the site and activity, from the partner kind's template (some lines may wait for an owner)."""
    require_write(user)
    if not isinstance(site, Site) or not isinstance(activity, Service):
        refuse("Choose the site and the activity.", "site")
    if not eligible(site):
        refuse(
            f"{site.vendor.name} — {site.name} is neither selected by an award nor qualified: "
            "a quality agreement follows the selection.",
            "site",
            status=409,
        )
    kind = partner_kind or default_kind(site)
    if kind not in defaults.TEMPLATES:
        refuse(f"The partner kind is one of {', '.join(defaults.TEMPLATES)}.", "partner_kind")
    review_due = review_due or timezone.localdate().replace(year=timezone.localdate().year + REVIEW_YEARS)
    notice = defaults.CHANGE_NOTICE_DAYS[kind] if change_notice_days is None else change_notice_days
    _check_terms(review_due, notice)
    if QualityAgreement.objects.filter(site=site, activity=activity).exists():
        refuse(
            f"{site.name} already has a quality agreement for {activity.name}: make a new version of it.",
            "activity",
            status=409,
        )
    with transaction.atomic():
        agreement = QualityAgreement.objects.create(
            site=site,
            activity=activity,
            version=1,
            partner_kind=kind,
            change_notice_days=notice,
            review_due=review_due,
            created_by=user,
        )
        AgreementLine.objects.bulk_create(
            AgreementLine(agreement=agreement, section=section, position=i, text=text, owner=owner)
            for i, (section, text, owner) in enumerate(defaults.template_lines(kind))
        )
    return agreement


def agreement_new_version(*, user, agreement: QualityAgreement) -> QualityAgreement:
    """A draft copying the latest signed version (its terms and lines); the signed one stays in force
    until the new one is effective."""
    require_write(user)
    latest = (
        QualityAgreement.objects.filter(site_id=agreement.site_id, activity_id=agreement.activity_id)
        .order_by("-version")
        .first()
    )
    if latest is None:
        refuse("No such quality agreement.", status=404)
    if latest.status in (Status.DRAFT, Status.SPONSOR_SIGNED):
        refuse(f"Version {latest.version} is still {latest.get_status_display().lower()}: finish it first.", status=409)
    try:
        with transaction.atomic():
            draft = QualityAgreement.objects.create(
                site_id=latest.site_id,
                activity_id=latest.activity_id,
                version=latest.version + 1,
                partner_kind=latest.partner_kind,
                change_notice_days=latest.change_notice_days,
                review_due=max(latest.review_due, timezone.localdate() + timedelta(days=1)),
                previous=latest,
                created_by=user,
            )
            AgreementLine.objects.bulk_create(
                AgreementLine(
                    agreement=draft, section=line.section, position=line.position, text=line.text, owner=line.owner
                )
                for line in latest.lines.order_by("position", "pk")
            )
    except IntegrityError:  # two new versions at once: one wins
        refuse("Another version was started meanwhile: reload the agreement.", status=409)
    return draft


def agreement_update(
    *, user, agreement: QualityAgreement, lines, review_due: date, change_notice_days: int, reason: str = ""
) -> QualityAgreement:
    """Replace the draft's matrix and terms. A line without an owner (or section, or text) refuses the
    whole save with the line named; nothing is written then."""
    require_write(user)
    cleaned = _clean_lines(lines)
    _check_terms(review_due, change_notice_days)
    with transaction.atomic():
        locked = QualityAgreement.objects.select_for_update().get(pk=agreement.pk)
        if locked.status != Status.DRAFT:
            refuse(
                f"Version {locked.version} is {locked.get_status_display().lower()}: make a new version.", status=409
            )
        if reason.strip():
            trail.reason(reason.strip())
        locked.review_due, locked.change_notice_days = review_due, change_notice_days
        locked.save(update_fields=["review_due", "change_notice_days"])
        existing = list(locked.lines.order_by("position", "pk"))
        for i, values in enumerate(cleaned):
            if i < len(existing):  # update in place: the trail shows what changed on each line
                line = existing[i]
                if (line.section, line.text, line.owner, line.position) != (
                    values["section"],
                    values["text"],
                    values["owner"],
                    i,
                ):
                    line.section, line.text, line.owner, line.position = (
                        values["section"],
                        values["text"],
                        values["owner"],
                        i,
                    )
                    line.save()
            else:
                AgreementLine.objects.create(agreement=locked, position=i, **values)
        AgreementLine.objects.filter(pk__in=[line.pk for line in existing[len(cleaned) :]]).delete()
    return locked


def _signable(agreement: QualityAgreement) -> None:
    lines = list(agreement.lines.order_by("position", "pk"))
    for i, line in enumerate(lines, start=1):
        if line.owner not in OWNERS:
            refuse(
                f"Line {i} (“{line.text}”, {defaults.SECTION_TITLES.get(line.section, line.section)}) has no owner: "
                "agree who is responsible before signing.",
                "lines",
            )
    missing = [title for code, title in defaults.SECTIONS if not any(line.section == code for line in lines)]
    if missing:
        refuse(f"The agreement has no responsibility for: {'; '.join(missing)}.", "lines")


def agreement_sign(*, request, user, agreement: QualityAgreement, password: str) -> QualityAgreement:
    """QA signs the draft (password re-entry, meaning "approved for quality", snapshot + SHA-256); it is
    locked from then on and awaits the vendor's countersignature. A refusal is recorded."""
    try:
        return _sign(request, user, agreement, password)
    except ServiceError as error:
        if user.is_authenticated:
            signatures.record_refusal(
                user=user, record=agreement, action="sign quality agreement", reason=error.message
            )
        raise


def _sign(request, user, agreement, password) -> QualityAgreement:
    require_write(user)
    if agreement.status != Status.DRAFT:
        refuse(f"Version {agreement.version} is {agreement.get_status_display().lower()}: nothing to sign.", status=409)
    _signable(agreement)
    if agreement.review_due <= timezone.localdate():
        refuse("The review date has passed: set a new one before signing.", "review_due")
    signatures.reauthenticate(request=request, user=user, password=password, record=agreement)
    with transaction.atomic():
        locked = QualityAgreement.objects.select_for_update().get(pk=agreement.pk)
        if locked.status != Status.DRAFT:
            refuse("The agreement was signed meanwhile.", status=409)
        _signable(locked)
        locked.status, locked.sponsor_signed_at = Status.SPONSOR_SIGNED, timezone.now()
        locked.save(update_fields=["status", "sponsor_signed_at"])
        locked = QualityAgreement.objects.prefetch_related("lines").select_related("activity").get(pk=locked.pk)
        signatures.create(
            user=user, record=locked, snapshot=snapshot(locked), meaning=Signature.Meaning.APPROVED_FOR_QUALITY
        )
    return locked


def _countersign(agreement: QualityAgreement, **values) -> VendorSignature:
    """The vendor's signature on what QA signed, and the agreement in force (its previous version superseded)."""
    with transaction.atomic():
        locked = QualityAgreement.objects.select_for_update().get(pk=agreement.pk)
        if locked.status != Status.SPONSOR_SIGNED:
            refuse("This agreement does not await the vendor's signature.", status=409)
        signed = qa_signature(locked)
        if signed is None:
            refuse("QA's signature is missing.", status=409)
        signature = VendorSignature.objects.create(agreement=locked, agreement_hash=signed.record_hash, **values)
        QualityAgreement.objects.filter(
            site_id=locked.site_id, activity_id=locked.activity_id, status=Status.EFFECTIVE
        ).update(status=Status.SUPERSEDED)
        locked.status, locked.effective_on = Status.EFFECTIVE, timezone.localdate()
        locked.save(update_fields=["status", "effective_on"])
    return signature


def vendor_sign(
    *, agreement_id, vendor_id: int, name: str, title: str, confirm: bool, ip: str | None, identity: str = ""
) -> VendorSignature:
    """The vendor signs in the supplier portal: typed name and title, the confirmation, time and IP."""
    agreement = QualityAgreement.objects.filter(pk=agreement_id, site__vendor_id=vendor_id).first()
    if agreement is None:
        refuse("No such quality agreement for your company.", status=404)
    name, title = " ".join((name or "").split()), " ".join((title or "").split())
    if len(name) < 3:
        refuse("Type your full name.", "name")
    if len(title) < 2:
        refuse("Type your title or role.", "title")
    if not confirm:
        refuse("Confirm that you sign the quality agreement on behalf of your company.", "confirm")
    return _countersign(
        agreement,
        via=VendorSignature.Via.PORTAL,
        signer_name=name[:200],
        signer_title=title[:200],
        signed_at=timezone.now(),
        ip_address=ip or None,
        portal_identity=identity[:300],
    )


def vendor_copy_record(
    *, user, agreement: QualityAgreement, upload, signer_name: str, signer_title: str, signed_on: date
) -> VendorSignature:
    """No portal for this vendor: QA records the vendor-signed copy (PDF, checked like RFP uploads)."""
    require_write(user)
    if upload is None:
        refuse("Attach the vendor-signed copy (PDF).", "file")
    try:
        validate_pdf_document(upload)
    except ValidationError as error:
        refuse(error.messages[0], "file")
    name, title = " ".join((signer_name or "").split()), " ".join((signer_title or "").split())
    if len(name) < 3:
        refuse("Give the name of the vendor's signatory.", "signer_name")
    if len(title) < 2:
        refuse("Give the signatory's title.", "signer_title")
    if not isinstance(signed_on, date) or signed_on > timezone.localdate():
        refuse("The vendor's signing date cannot be in the future.", "signed_on")
    if agreement.sponsor_signed_at and signed_on < timezone.localdate(agreement.sponsor_signed_at):
        refuse("The vendor signed the version QA signed: the date cannot be before QA's signature.", "signed_on")
    upload.seek(0)
    content = upload.read()
    document = ContentFile(content, name="vendor-signed.pdf")
    signed_at = timezone.make_aware(datetime.combine(signed_on, time(12)))
    return _countersign(
        agreement,
        via=VendorSignature.Via.UPLOAD,
        signer_name=name[:200],
        signer_title=title[:200],
        signed_at=signed_at,
        document=document,
        document_name=(getattr(upload, "name", "") or "vendor-signed.pdf")[:255],
        document_sha256=hashlib.sha256(content).hexdigest(),
        recorded_by=user,
    )
