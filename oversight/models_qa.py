"""Quality agreements (FDA 2016 guidance, "Contract Manufacturing Arrangements for Drugs: Quality
Agreements") and risk-based requalification. Imported by oversight.models (Django finds them there).

A signed agreement is a record: once QA has signed, the database refuses changes to its lines and
terms (core.records triggers); the vendor's signature and the risk rows are append-only."""

from __future__ import annotations

import pghistory
from django.conf import settings
from django.contrib.contenttypes.fields import GenericRelation
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.urls import reverse

from core import records
from vendors.models import Service, Site

# Signed by the sponsor's QA (awaiting the vendor), effective (both signed), superseded by a newer version.
AGREEMENT_LOCKED = ["sponsor_signed", "effective", "superseded"]


class Owner(models.TextChoices):
    SPONSOR = "sponsor", "Sponsor"
    VENDOR = "vendor", "Vendor"
    BOTH = "both", "Both"


@pghistory.track()
class QualityAgreement(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        SPONSOR_SIGNED = "sponsor_signed", "Signed by QA, awaiting the vendor"
        EFFECTIVE = "effective", "Effective"
        SUPERSEDED = "superseded", "Superseded"

    class PartnerKind(models.TextChoices):
        CMO = "CMO", "CMO"
        CDMO = "CDMO", "CDMO"
        CRO = "CRO", "CRO"

    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="quality_agreements")
    activity = models.ForeignKey(Service, on_delete=models.PROTECT, related_name="+")
    version = models.PositiveSmallIntegerField()
    partner_kind = models.CharField(max_length=4, choices=PartnerKind.choices)
    status = models.CharField(max_length=15, choices=Status.choices, default=Status.DRAFT)
    previous = models.ForeignKey("self", on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    change_notice_days = models.PositiveSmallIntegerField(
        "change-control notice period (days)",
        default=90,
        validators=[MinValueValidator(1), MaxValueValidator(730)],
        help_text="How many days before a change takes effect the vendor must notify the sponsor.",
    )
    review_due = models.DateField("review due")
    signatures = GenericRelation("accounts.Signature")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    sponsor_signed_at = models.DateTimeField(null=True, blank=True)
    effective_on = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["site", "activity", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["site", "activity", "version"], name="quality_agreement_version_unique"),
            # One version in the works at a time per site and activity.
            models.UniqueConstraint(
                fields=["site", "activity"],
                condition=models.Q(status__in=["draft", "sponsor_signed"]),
                name="quality_agreement_one_open",
            ),
        ]
        # Once QA signed, only the vendor's countersignature (status, effective_on) and the later
        # supersession may change it, whatever the path.
        triggers = records.locked_when(
            name="quality_agreement_signed",
            statuses=AGREEMENT_LOCKED,
            may_change=["effective_on"],
            transitions={"sponsor_signed": ["effective", "superseded"], "effective": ["superseded"]},
        )

    def __str__(self) -> str:
        return f"Quality agreement {self.reference}"

    def get_absolute_url(self) -> str:
        return reverse("oversight:agreement", args=[self.pk])

    @property
    def reference(self) -> str:
        return f"QA-{self.site_id}-{self.activity.code}-v{self.version}"

    @property
    def is_draft(self) -> bool:
        return self.status == self.Status.DRAFT


@pghistory.track()
class AgreementLine(models.Model):
    """One responsibility of the matrix: what, in which section, and who owns it."""

    agreement = models.ForeignKey(QualityAgreement, on_delete=models.PROTECT, related_name="lines")
    section = models.CharField(max_length=30)
    position = models.PositiveSmallIntegerField(default=0)
    text = models.CharField(max_length=500)
    owner = models.CharField(max_length=7, choices=Owner.choices, blank=True)

    class Meta:
        ordering = ["agreement", "position", "pk"]
        triggers = [
            records.LockedWithParent(
                name="agreement_line_signed",
                parent_table="oversight_qualityagreement",
                parent_column="agreement_id",
                statuses=AGREEMENT_LOCKED,
                what="the signed quality agreement's responsibility line",
            )
        ]

    def __str__(self) -> str:
        return self.text


@pghistory.track(pghistory.InsertEvent())
class VendorSignature(models.Model):
    """The vendor's countersignature: typed in the supplier portal (name, title, confirmation, time, IP)
    or the vendor-signed copy uploaded by the sponsor."""

    class Via(models.TextChoices):
        PORTAL = "portal", "Supplier portal"
        UPLOAD = "upload", "Signed copy uploaded by the sponsor"

    agreement = models.OneToOneField(QualityAgreement, on_delete=models.PROTECT, related_name="vendor_signature")
    via = models.CharField(max_length=6, choices=Via.choices)
    signer_name = models.CharField(max_length=200)
    signer_title = models.CharField(max_length=200)
    signed_at = models.DateTimeField()
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    portal_identity = models.CharField(max_length=300, blank=True, help_text="The invitation the portal session holds.")
    document = models.FileField(upload_to="quality-agreements/%Y/%m/", blank=True)
    document_name = models.CharField(max_length=255, blank=True)
    document_sha256 = models.CharField(max_length=64, blank=True)
    # The sha256 of the agreement's snapshot the vendor saw when signing (the one QA signed).
    agreement_hash = models.CharField(max_length=64)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        triggers = [records.immutable("vendor_signature_immutable")]

    def __str__(self) -> str:
        return f"{self.signer_name}, {self.signer_title} ({self.get_via_display()})"


@pghistory.track(pghistory.InsertEvent())
class RiskMatrix(models.Model):
    """A version of the score -> audit interval matrix QA edits: bands [{"low", "high", "months",
    "label"}] covering 0..100 without gap or overlap. Append-only: the newest version applies."""

    version = models.PositiveSmallIntegerField(unique=True)
    bands = models.JSONField()
    note = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-version"]
        verbose_name_plural = "risk matrices"
        triggers = [records.immutable("risk_matrix_immutable")]

    def __str__(self) -> str:
        return f"Risk matrix v{self.version}"


@pghistory.track(pghistory.InsertEvent())
class RiskAssessment(models.Model):
    """A change of a site's risk: the score, its interval and due date, and why (append-only)."""

    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="risk_assessments")
    score = models.PositiveSmallIntegerField(validators=[MaxValueValidator(100)])
    band = models.CharField(max_length=60)
    interval_months = models.PositiveSmallIntegerField()
    basis_date = models.DateField(help_text="The last qualification the interval counts from.")
    due = models.DateField("requalification due")
    previous_due = models.DateField(null=True, blank=True)
    factors = models.JSONField(default=dict)
    reasons = models.JSONField(default=list)
    trigger = models.CharField(max_length=200)
    matrix = models.ForeignKey(RiskMatrix, on_delete=models.PROTECT, related_name="+")
    assessed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["site", "-created_at", "-pk"]
        indexes = [models.Index(fields=["site", "-created_at"], name="risk_assessment_site_latest")]
        triggers = [records.immutable("risk_assessment_immutable")]

    def __str__(self) -> str:
        return f"{self.site}: risk {self.score} ({self.band}), due {self.due:%Y-%m-%d}"
