import pghistory
import pgtrigger
from django.conf import settings
from django.contrib.contenttypes.fields import GenericRelation
from django.db import models
from django.urls import reverse
from django.utils import timezone
from django_fsm import FSMField, transition

from accounts.models import Signature
from core import records, trail
from core.errors import Kind, ServiceError
from core.models import QueuedJob
from vendors.models import Service, Site

SIGNED_STATES = ["signed", "closed"]
OUTCOMES = [
    ("approved", "Approved"),
    ("approved_with_conditions", "Approved with conditions"),
    ("not_approved", "Not approved"),
]

# Quality-system areas auditors classify findings by (domain brief), with the areas of a sterile-products
# audit: EU GMP Annex 1 (sterility assurance, aseptic processing, the contamination control strategy),
# Annex 15 (qualification and validation), Chapter 7 (outsourced activities), Chapter 8 (complaints and
# recalls). The codes are stored on findings and audit scopes: add new ones, never rename one.
AREAS = [
    ("quality_management", "Quality management"),
    ("deviations_capa", "Deviations and CAPA"),
    ("change_control", "Change control"),
    ("data_integrity", "Data integrity"),
    ("documentation", "Documentation"),
    ("training", "Training"),
    ("facilities_equipment", "Facilities and equipment"),
    ("materials", "Materials"),
    ("production", "Production"),
    ("laboratory_controls", "Laboratory controls"),
    ("packaging_labelling", "Packaging and labelling"),
    ("sterility_assurance", "Sterility assurance and aseptic processing (Annex 1, contamination control strategy)"),
    ("validation", "Qualification and validation"),
    ("outsourced_activities", "Outsourced activities"),
    ("complaints_recalls", "Complaints and recalls"),
]

# How EU GMP / PIC/S inspectorates classify a deficiency (EMA "Classification of GMP deficiencies",
# PIC/S PI 040), shown wherever an auditor chooses a finding's severity.
SEVERITY_DEFINITIONS = {
    "critical": "Critical: has produced, or may result in a significant risk of producing, a product that is "
    "harmful to the patient.",
    "major": "Major: not critical, but has produced or may produce a product that does not comply with its "
    "marketing authorisation; or a major deviation from GMP; or a combination of several other deficiencies "
    "none of which alone is major.",
    "minor": "Minor (other): neither critical nor major, but a departure from good manufacturing practice.",
    "observation": "Observation / recommendation: not a deficiency; a suggestion for improvement.",
}
SEVERITY_HELP = " ".join(SEVERITY_DEFINITIONS.values())


@pghistory.track()
class Audit(models.Model):
    class Type(models.TextChoices):
        QUALIFICATION = "qualification", "Qualification"
        ROUTINE = "routine", "Routine re-audit"
        FOR_CAUSE = "for_cause", "For-cause"
        REMOTE = "remote", "Remote / desktop"

    class Status(models.TextChoices):
        PLANNED = "planned", "Planned"
        IN_PROGRESS = "in_progress", "In progress"
        REPORT_DRAFTED = "report_drafted", "Report drafted"
        SIGNED = "signed", "Signed"
        CLOSED = "closed", "Closed"

    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="audits")
    type = models.CharField(max_length=20, choices=Type.choices)
    planned_start = models.DateField()
    planned_end = models.DateField()
    actual_start = models.DateField(null=True, blank=True)
    actual_end = models.DateField(null=True, blank=True)
    lead_auditor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="led_audits")
    co_auditors = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="co_audits")
    scope = models.JSONField(default=list, blank=True, help_text="Quality-system areas covered.")
    agenda = models.TextField(blank=True)
    # The report the lead auditor writes and signs: what was covered, what was found, who took part, who
    # receives it, and what the audit team recommends. QA's signed qualification outcome stays the decision.
    scope_description = models.TextField(
        "scope statement",
        blank=True,
        help_text="The activities, products, lines, systems and documents the audit covered (and any exclusions).",
    )
    summary = models.TextField("executive summary", blank=True)
    attendees_sponsor = models.TextField(
        "attendees for the sponsor", blank=True, help_text="One per line: name, function (e.g. Lead auditor)."
    )
    attendees_vendor = models.TextField(
        "attendees for the vendor", blank=True, help_text="One per line: name, function (e.g. Head of QA)."
    )
    distribution = models.TextField(
        "distribution list", blank=True, help_text="One recipient per line: name, function, organisation."
    )
    recommended_outcome = models.CharField(
        "recommended outcome",
        max_length=25,
        blank=True,
        choices=OUTCOMES,
        help_text="The audit team's recommendation; quality assurance signs the qualification outcome.",
    )
    recommendation_conditions = models.TextField(
        "conditions of the recommendation",
        blank=True,
        help_text="Required when approval is recommended with conditions.",
    )
    status = FSMField(default=Status.PLANNED, choices=Status.choices, protected=True)
    outcome = models.CharField(
        "qualification outcome",
        max_length=25,
        blank=True,
        choices=OUTCOMES,
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-planned_start", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(planned_end__gte=models.F("planned_start")), name="audit_planned_order"
            ),
        ]
        # The database refuses what the model refuses, whatever the path (QuerySet.update, raw SQL):
        # a signed audit changes only from signed to closed; a change of outcome is an amendment.
        triggers = records.locked_when(
            name="audit_signed", statuses=SIGNED_STATES, may_change=["updated_at"], transitions={"signed": ["closed"]}
        )

    def __str__(self) -> str:
        return f"{self.get_type_display()} audit of {self.site} ({self.planned_start:%Y-%m-%d})"

    def save(self, *args, **kwargs):
        # A signed report is a record: only its status may still change (to closed); edits, and a
        # change of the qualification outcome, are amendments.
        if self.pk is not None:
            stored = Audit.objects.filter(pk=self.pk).values().first()
            if stored and stored["status"] in (self.Status.SIGNED, self.Status.CLOSED):
                changed = [
                    f.attname
                    for f in self._meta.concrete_fields
                    if f.attname not in ("status", "updated_at") and stored[f.attname] != getattr(self, f.attname)
                ]
                if changed:
                    raise RecordLocked(
                        f"The audit report is signed; {', '.join(changed)} cannot change. Add an amendment."
                    )
        super().save(*args, **kwargs)

    def get_absolute_url(self) -> str:
        return reverse("audits:detail", args=[self.pk])

    @property
    def reference(self) -> str:
        """The audit's reference on its report and in correspondence: AUD-<year planned>-<number>, never
        reused (from the primary key) and fixed once the audit exists."""
        if self.pk is None:
            return ""
        return f"AUD-{self.planned_start:%Y}-{self.pk:04d}"

    @transition(field=status, source=Status.PLANNED, target=Status.IN_PROGRESS)
    def start(self):
        self.actual_start = self.actual_start or timezone.localdate()

    @transition(field=status, source=Status.IN_PROGRESS, target=Status.REPORT_DRAFTED)
    def draft_report(self):
        self.actual_end = self.actual_end or timezone.localdate()

    @transition(field=status, source=Status.REPORT_DRAFTED, target=Status.IN_PROGRESS)
    def reopen(self):
        pass

    @transition(field=status, source=Status.REPORT_DRAFTED, target=Status.SIGNED)
    def sign_report(self):
        """The lead auditor's electronic signature makes the report a record (see audits.services)."""

    @transition(field=status, source=Status.SIGNED, target=Status.CLOSED)
    def close(self):
        """CAPA follow-up is complete: every CAPA verified effective or closed (checked in audits.services)."""

    @property
    def is_locked(self) -> bool:
        return self.status in (self.Status.SIGNED, self.Status.CLOSED)

    @property
    def current_outcome(self) -> str:
        """The latest outcome QA signed (after the report was signed); for audits decided under the former
        rule, the outcome recorded before signing, or as the newest amendment that changed it."""
        signed = list(self.outcomes.all())  # ordered by signing time; prefetched on lists
        if signed:
            return signed[-1].outcome
        changed = [a.outcome for a in self.amendments.all() if a.outcome]
        return changed[-1] if changed else self.outcome

    def get_current_outcome_display(self) -> str:
        return dict(self._meta.get_field("outcome").choices).get(self.current_outcome, "")


class RecordLocked(ServiceError):
    """An edit of a signed record, refused at the model level whatever the path (UI, API, admin, shell):
    a refusal of kind locked (409 through the API, a message on a page)."""

    kind = Kind.LOCKED


@pghistory.track()
class Finding(models.Model):
    class Severity(models.TextChoices):
        CRITICAL = "critical", "Critical"
        MAJOR = "major", "Major"
        MINOR = "minor", "Minor"
        OBSERVATION = "observation", "Observation / recommendation"

    audit = models.ForeignKey(Audit, on_delete=models.PROTECT, related_name="findings")
    number = models.PositiveSmallIntegerField()
    severity = models.CharField(max_length=12, choices=Severity.choices, help_text=SEVERITY_HELP)
    area = models.CharField("quality-system area", max_length=30, choices=AREAS)
    regulation_reference = models.CharField(
        max_length=120, blank=True, help_text="E.g. 21 CFR 211.192, EU GMP Chapter 5."
    )
    description = models.TextField()
    capa_required = models.BooleanField("CAPA required", default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["audit", "number"]
        constraints = [models.UniqueConstraint(fields=["audit", "number"], name="finding_number_unique")]
        triggers = [
            records.LockedWithParent(
                name="finding_signed",
                parent_table="audits_audit",
                parent_column="audit_id",
                statuses=SIGNED_STATES,
                what="the signed audit's finding",
            )
        ]

    def __str__(self) -> str:
        return f"Finding {self.number} ({self.get_severity_display()})"

    def save(self, *args, **kwargs):
        if Audit.objects.filter(pk=self.audit_id, status__in=[Audit.Status.SIGNED, Audit.Status.CLOSED]).exists():
            raise RecordLocked("The audit report is signed; findings cannot change. Add an amendment.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise RecordLocked("Findings are records and are never deleted.")


@pghistory.track()
class Capa(models.Model):
    class Status(models.TextChoices):
        OPEN = "open", "Open"
        IN_PROGRESS = "in_progress", "In progress"
        IMPLEMENTED = "implemented", "Implemented"
        VERIFIED = "verified", "Verified effective"
        CLOSED = "closed", "Closed"

    DONE = (Status.VERIFIED, Status.CLOSED)

    finding = models.OneToOneField(Finding, on_delete=models.PROTECT, related_name="capa")
    vendor_response = models.TextField(blank=True)
    owner = models.CharField(max_length=200, blank=True, help_text="Person at the vendor responsible.")
    due_date = models.DateField()
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.OPEN)
    completed_on = models.DateField(null=True, blank=True)
    verified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    verified_at = models.DateTimeField(null=True, blank=True)
    verification_note = models.TextField(
        blank=True, help_text="How effectiveness was verified: what was checked, and what showed it worked."
    )
    verification_evidence = models.ForeignKey(
        "FindingAttachment",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="The file that shows the CAPA effective (kept with the finding's evidence).",
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["due_date", "pk"]
        verbose_name = "CAPA"
        verbose_name_plural = "CAPAs"
        # Follow-up goes on after signing; closing the audit makes its CAPAs final. Never deleted.
        triggers = [
            records.LockedWithParent(
                name="capa_closed",
                parent_table="audits_audit",
                parent_column="finding_id",
                via=("audits_finding", "audit_id"),
                statuses=["closed"],
                what="the closed audit's CAPA",
            ),
            pgtrigger.Protect(name="capa_no_delete", operation=pgtrigger.Delete),
        ]

    def __str__(self) -> str:
        return f"CAPA for {self.finding}"

    def save(self, *args, **kwargs):
        # CAPA follow-up goes on after the report is signed; closing the audit ends it.
        if Audit.objects.filter(findings=self.finding_id, status=Audit.Status.CLOSED).exists():
            raise RecordLocked("The audit is closed; its CAPAs are final. Add an amendment.")
        super().save(*args, **kwargs)

    @property
    def is_overdue(self) -> bool:
        return self.status not in self.DONE and self.due_date < timezone.localdate()


@pghistory.track()
class FindingAttachment(models.Model):
    """Evidence for a finding, kept through the storage API and only ever served as a download."""

    finding = models.ForeignKey(Finding, on_delete=models.PROTECT, related_name="attachments")
    file = models.FileField(upload_to="findings/%Y/%m/")
    original_name = models.CharField(max_length=255)
    size = models.PositiveIntegerField()
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    uploaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["uploaded_at", "pk"]
        # Evidence is added (CAPA evidence after signing too), never changed or removed.
        triggers = [records.immutable("finding_attachment_immutable")]

    def __str__(self) -> str:
        return self.original_name

    def get_absolute_url(self) -> str:
        return reverse("audits:attachment", args=[self.pk])


@pghistory.track(pghistory.InsertEvent())
class AuditAmendment(models.Model):
    """A correction or addition to a signed report; the original stays as it was signed."""

    audit = models.ForeignKey(Audit, on_delete=models.PROTECT, related_name="amendments")
    reason = models.TextField()
    text = models.TextField()
    # Former rule: an amendment could change the qualification outcome. Kept for those records; a change of
    # outcome is now a superseding QualificationOutcome signed by QA.
    outcome = models.CharField("new qualification outcome", max_length=25, blank=True, choices=OUTCOMES)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "pk"]
        triggers = [records.immutable("amendment_immutable")]

    def __str__(self) -> str:
        return f"Amendment {self.pk} to {self.audit}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise RecordLocked("Amendments cannot be changed.")
        super().save(*args, **kwargs)


@pghistory.track(pghistory.InsertEvent())
class QualificationOutcome(models.Model):
    """QA's signed decision on the audited site, after the lead auditor signed the report.

    Append-only: a later signed outcome (with its reason) supersedes it; both stay. The electronic
    signature (accounts.Signature, record = this row) binds the decision, the activities, the note,
    the reason and the hash of the signed report QA decided on.
    """

    audit = models.ForeignKey(Audit, on_delete=models.PROTECT, related_name="outcomes")
    outcome = models.CharField("qualification outcome", max_length=25, choices=OUTCOMES)
    activities = models.ManyToManyField(
        Service,
        through="OutcomeActivity",
        blank=True,
        related_name="+",
        help_text="The activities the outcome applies to; none: the whole site.",
    )
    note = models.TextField("conditions or remarks", blank=True)
    reason = models.TextField(blank=True, help_text="Why it supersedes the previous outcome.")
    supersedes = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="superseded_by"
    )
    report_hash = models.CharField(max_length=64, help_text="Hash of the report signature QA decided on.")
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    signatures = GenericRelation(Signature)  # one: QA's, made with the row

    MEANINGS = {
        "approved": (Signature.Meaning.APPROVED_FOR_QUALITY, "Approved for quality"),
        "approved_with_conditions": (Signature.Meaning.APPROVED_FOR_QUALITY, "Approved for quality"),
        "not_approved": (Signature.Meaning.REJECTED, "Rejected"),
    }

    class Meta:
        ordering = ["created_at", "pk"]
        triggers = [records.immutable("qualification_outcome_immutable")]

    def __str__(self) -> str:
        return f"{self.get_outcome_display()} ({self.audit})"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise RecordLocked("A signed outcome cannot change; sign a new outcome that supersedes it.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise RecordLocked("Signed outcomes are records and are never deleted.")

    @property
    def meaning(self) -> str:
        """The signature's meaning code (accounts.Signature.Meaning)."""
        return self.MEANINGS[self.outcome][0]

    @property
    def meaning_label(self) -> str:
        """What the signer declares: "Approved for quality" or "Rejected"."""
        return self.MEANINGS[self.outcome][1]


class OutcomeActivity(models.Model):
    """An activity a signed outcome applies to (written with the outcome, never changed)."""

    outcome = models.ForeignKey(QualificationOutcome, on_delete=models.PROTECT, related_name="activity_links")
    service = models.ForeignKey(Service, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["outcome", "service__group", "service__position", "service__name"]
        constraints = [models.UniqueConstraint(fields=["outcome", "service"], name="outcome_activity_once")]
        triggers = [records.immutable("outcome_activity_immutable")]

    def __str__(self) -> str:
        return f"{self.service} ({self.outcome})"


@pghistory.track()
class AuditReport(QueuedJob):
    """A rendered PDF of an audit report, generated by a worker (through core.outbox: claim, attempts,
    queued_at, started_at) and kept with its checksum."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Waiting for a worker"
        RENDERING = "rendering", "Rendering"
        DONE = "done", "Ready"
        FAILED = "failed", "Failed"

    audit = models.ForeignKey(Audit, on_delete=models.PROTECT, related_name="reports")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    file = models.FileField(upload_to="audit-reports/%Y/%m/", blank=True)
    sha256 = models.CharField(max_length=64, blank=True)
    pages = models.PositiveSmallIntegerField(default=0)
    error = models.TextField(blank=True)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"Report PDF of {self.audit} ({self.get_status_display()})"

    def get_absolute_url(self) -> str:
        return reverse("audits:report", args=[self.pk])


trail.track_links(Audit.co_auditors, app_label="audits")
# Link tables are auto-created, so their trigger is registered here and installed after migrate.
records.LockedWithParent(
    name="co_auditors_signed",
    parent_table="audits_audit",
    parent_column="audit_id",
    statuses=SIGNED_STATES,
    what="the signed audit's team",
).register(Audit.co_auditors.through)
