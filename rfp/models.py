"""RFPs for an approved shortlist: versioned templates per partner kind, per-vendor packets rendered
by workers (dispatched through core.outbox), deliveries, and the proposals that come back."""

from __future__ import annotations

import uuid

import pghistory
from django.conf import settings
from django.contrib.contenttypes.fields import GenericRelation
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django_fsm import FSMField, transition

from core import records
from core.models import QueuedJob
from scoring.models import Candidate, ProgramStep, Shortlist


@pghistory.track()
class RfpTemplate(models.Model):
    """One version of the RFP text for a partner kind; a revision is a new row, old ones stay."""

    class Kind(models.TextChoices):
        CRO = "CRO", "CRO (research and clinical services)"
        CMO = "CMO", "CMO (manufacturing)"
        CDMO = "CDMO", "CDMO (development and manufacturing)"
        INTEGRATED = "INTEGRATED", "Integrated (CDMO + CRO)"

    kind = models.CharField(max_length=10, choices=Kind.choices)
    version = models.PositiveSmallIntegerField()
    name = models.CharField(max_length=200)
    # [{"key": "scope", "title": "Scope of work", "body": "Markdown with {placeholders}"}, ...]
    sections = models.JSONField()
    # [{"criterion": "Quality systems", "question": "..."}, ...]: the response questionnaire
    questions = models.JSONField(default=list, blank=True)
    change_note = models.CharField(max_length=300, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["kind", "-version"]
        constraints = [models.UniqueConstraint(fields=["kind", "version"], name="rfp_template_version_unique")]

    def __str__(self) -> str:
        return f"{self.name} v{self.version}"


@pghistory.track()
class Rfp(models.Model):
    """The request for proposals sent to every vendor of an approved shortlist."""

    shortlist = models.ForeignKey(Shortlist, on_delete=models.PROTECT, related_name="rfps")
    title = models.CharField(max_length=200)
    sponsor = models.CharField("sponsor (your company)", max_length=200)
    program_background = models.TextField(help_text="Markdown: molecule, modality, phase, dosage form, markets.")
    scope_notes = models.TextField(blank=True, help_text="Markdown added to every vendor's scope of work.")
    confidentiality = models.TextField(
        blank=True, help_text="Markdown; e.g. that the CDA signed on a date governs this RFP."
    )
    issue_date = models.DateField()
    questions_due = models.DateField()
    proposal_due = models.DateField()
    presentations = models.DateField(null=True, blank=True)
    award_decision = models.DateField(null=True, blank=True)
    contact_name = models.CharField(max_length=200)
    contact_email = models.EmailField()
    disclose_weights = models.BooleanField(
        default=False, help_text="Print the criteria weights in the evaluation-criteria section."
    )
    co_opener = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="second opener",
        help_text="The sponsor colleague who opens the sealed proposals with you after the due date.",
    )
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # Set when an award is approved (rfp.awards): the RFP is over, nothing more goes out on it.
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("rfp:detail", args=[self.pk])

    @property
    def reference(self) -> str:
        """How the RFP is named to vendors and in files: RFP-00042."""
        return f"RFP-{self.pk:05d}"


@pghistory.track(pghistory.InsertEvent())
class RfpAttachment(models.Model):
    """A document every packet carries (e.g. the CDA); bytes are immutable once uploaded."""

    rfp = models.ForeignKey(Rfp, on_delete=models.PROTECT, related_name="attachments")
    file = models.FileField(upload_to="rfp-attachments/%Y/%m/")
    original_name = models.CharField(max_length=255)
    size = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    uploaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["original_name", "pk"]
        triggers = [records.immutable("rfp_attachment_immutable")]

    def __str__(self) -> str:
        return self.original_name


@pghistory.track()
class Packet(QueuedJob):
    """One vendor's packet (PDF + questionnaire XLSX + attachments, as a ZIP), one version per change
    of its inputs; regenerating unchanged inputs reuses the stored files. Rendered by a worker through
    the outbox (claim, attempts, queued_at, started_at: core.models.QueuedJob)."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RENDERING = "rendering", "Rendering"
        DONE = "done", "Generated"
        FAILED = "failed", "Failed"

    rfp = models.ForeignKey(Rfp, on_delete=models.PROTECT, related_name="packets")
    candidate = models.ForeignKey(Candidate, on_delete=models.PROTECT, related_name="+")
    version = models.PositiveSmallIntegerField()
    template = models.ForeignKey(RfpTemplate, on_delete=models.PROTECT, related_name="+")
    inputs_hash = models.CharField(max_length=64, help_text="SHA-256 of everything the packet is made from.")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    error = models.TextField(blank=True)
    pdf = models.FileField(upload_to="packets/%Y/%m/", blank=True)
    pdf_pages = models.PositiveSmallIntegerField(default=0)
    questionnaire = models.FileField(upload_to="packets/%Y/%m/", blank=True)
    bundle = models.FileField(upload_to="packets/%Y/%m/", blank=True)
    sha256 = models.CharField(max_length=64, blank=True, help_text="Of the ZIP bundle.")
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["rfp", "candidate__vendor__name", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["rfp", "candidate", "version"], name="packet_version_unique"),
            # The same inputs are never rendered twice for one vendor.
            models.UniqueConstraint(fields=["rfp", "candidate", "inputs_hash"], name="packet_inputs_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.rfp} — {self.candidate.vendor.name} v{self.version}"


@pghistory.track(pghistory.InsertEvent())
class Delivery(models.Model):
    """A record that a packet version was sent: when, to whom, by whom."""

    packet = models.ForeignKey(Packet, on_delete=models.PROTECT, related_name="deliveries")
    sent_on = models.DateField()
    recipient = models.EmailField()
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-sent_on", "-pk"]
        triggers = [records.immutable("delivery_immutable")]

    def __str__(self) -> str:
        return f"{self.recipient} {self.sent_on}"


@pghistory.track()
class Proposal(models.Model):
    """What a vendor sent back."""

    rfp = models.ForeignKey(Rfp, on_delete=models.PROTECT, related_name="proposals")
    candidate = models.ForeignKey(Candidate, on_delete=models.PROTECT, related_name="proposals")
    received_on = models.DateField()
    price = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    currency = models.CharField(max_length=3, default="USD")
    notes = models.TextField(blank=True)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["candidate__vendor__name"]
        constraints = [models.UniqueConstraint(fields=["rfp", "candidate"], name="proposal_once_per_vendor")]

    def __str__(self) -> str:
        return f"Proposal of {self.candidate.vendor.name}"


@pghistory.track(pghistory.InsertEvent())
class ProposalDocument(models.Model):
    proposal = models.ForeignKey(Proposal, on_delete=models.PROTECT, related_name="documents")
    file = models.FileField(upload_to="proposals/%Y/%m/")
    original_name = models.CharField(max_length=255)
    size = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    uploaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["uploaded_at", "pk"]
        triggers = [records.immutable("proposal_document_immutable")]

    def __str__(self) -> str:
        return self.original_name


@pghistory.track()
class Question(models.Model):
    """The questions-and-answers log of one vendor during the RFP."""

    class Visibility(models.TextChoices):
        ALL = "all", "Published to every invited vendor (asker not named)"
        PRIVATE = "private", "Answered to the asking vendor only"

    rfp = models.ForeignKey(Rfp, on_delete=models.PROTECT, related_name="questions")
    candidate = models.ForeignKey(Candidate, on_delete=models.PROTECT, related_name="+")
    asked_on = models.DateField()
    question = models.TextField()
    answer = models.TextField(blank=True)
    answered_on = models.DateField(null=True, blank=True)
    visibility = models.CharField(max_length=10, choices=Visibility.choices, default=Visibility.ALL)
    # Asked through the portal (asked_by) or typed in by the lead for a question received otherwise.
    asked_by = models.ForeignKey(
        "Invitation", on_delete=models.PROTECT, null=True, blank=True, related_name="questions"
    )
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    asked_at = models.DateTimeField(null=True, blank=True)
    answered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["asked_on", "pk"]

    def __str__(self) -> str:
        return self.question[:60]


# --- The supplier portal: invitations, participation, downloads, sealed uploads, the opening ------


@pghistory.track(exclude=["token_hash", "code_hash"])
class Invitation(models.Model):
    """One vendor contact's way into the portal for one RFP. The e-mailed link is a secret known only
    by its SHA-256 here; it opens a sign-in that also needs a one-time code sent to the same address,
    and it is spent by that sign-in (a new link is requested from the portal's sign-in page)."""

    rfp = models.ForeignKey(Rfp, on_delete=models.PROTECT, related_name="invitations")
    candidate = models.ForeignKey(Candidate, on_delete=models.PROTECT, related_name="+")
    contact = models.ForeignKey("vendors.Contact", on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    name = models.CharField(max_length=200)
    email = models.EmailField()
    token_hash = models.CharField(max_length=64, unique=True)
    link_sent_at = models.DateTimeField(null=True, blank=True)
    link_used_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField()
    code_hash = models.CharField(max_length=64, blank=True)
    code_sent_at = models.DateTimeField(null=True, blank=True)
    code_failures = models.PositiveSmallIntegerField(default=0)
    locked_until = models.DateTimeField(null=True, blank=True)
    first_signed_in_at = models.DateTimeField(null=True, blank=True)
    last_signed_in_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["candidate__vendor__name", "email", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["rfp", "candidate", "email"],
                condition=models.Q(revoked_at=None),
                name="invitation_active_once",
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} <{self.email}>"


@pghistory.track()
class Participation(models.Model):
    """A shortlisted vendor's standing in one RFP: intent to bid, and a deadline extension."""

    class Intent(models.TextChoices):
        UNDECLARED = "", "Not declared"
        BID = "bid", "Intends to bid"
        DECLINE = "decline", "Declined"

    rfp = models.ForeignKey(Rfp, on_delete=models.PROTECT, related_name="participations")
    candidate = models.ForeignKey(Candidate, on_delete=models.PROTECT, related_name="+")
    intent = models.CharField(max_length=10, choices=Intent.choices, blank=True, default="")
    intent_reason = models.TextField(blank=True)
    intent_at = models.DateTimeField(null=True, blank=True)
    intent_by = models.ForeignKey(Invitation, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    extended_until = models.DateTimeField(null=True, blank=True)
    extension_reason = models.CharField(max_length=300, blank=True)
    extended_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    # Keys of the deadline reminders already e-mailed ("proposal-3d", ...): each goes out once.
    reminders_sent = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["candidate__vendor__name"]
        constraints = [models.UniqueConstraint(fields=["rfp", "candidate"], name="participation_once")]

    def __str__(self) -> str:
        return f"{self.candidate} in {self.rfp}"


@pghistory.track(pghistory.InsertEvent())
class PacketDownload(models.Model):
    invitation = models.ForeignKey(Invitation, on_delete=models.PROTECT, related_name="downloads")
    packet = models.ForeignKey(Packet, on_delete=models.PROTECT, related_name="downloads")
    part = models.CharField(max_length=20)
    downloaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-downloaded_at", "-pk"]
        triggers = [records.immutable("packet_download_immutable")]

    def __str__(self) -> str:
        return f"{self.packet} ({self.part})"


def sealed_path(instance, filename: str) -> str:
    # No vendor or file name in the stored path: a listing of the storage tells nothing of the content.
    return f"sealed/{instance.rfp_id}/{uuid.uuid4().hex}"


# Who uploaded and when is in the trail from the start; what (name, size, digest) only in the opening record.
@pghistory.track(
    pghistory.InsertEvent(),
    fields=["rfp", "candidate", "uploaded_by", "part", "uploaded_at"],
    model_name="SealedUploadEvent",
)
class SealedUpload(models.Model):
    """A file a vendor submitted through the portal: unreadable by the sponsor until the opening."""

    class Part(models.TextChoices):
        PROPOSAL = "proposal", "Proposal document"
        QUESTIONNAIRE = "questionnaire", "Filled questionnaire"

    rfp = models.ForeignKey(Rfp, on_delete=models.PROTECT, related_name="sealed_uploads")
    candidate = models.ForeignKey(Candidate, on_delete=models.PROTECT, related_name="+")
    uploaded_by = models.ForeignKey(Invitation, on_delete=models.PROTECT, related_name="uploads")
    part = models.CharField(max_length=20, choices=Part.choices)
    file = models.FileField(upload_to=sealed_path)
    original_name = models.CharField(max_length=255)
    content_type = models.CharField(max_length=100)
    size = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64)
    uploaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["uploaded_at", "pk"]
        triggers = [records.immutable("sealed_upload_immutable")]

    def __str__(self) -> str:
        return f"Upload {self.pk}"


@pghistory.track(pghistory.InsertEvent())
class ProposalOpening(models.Model):
    """One sponsor user's e-signed opening of an RFP's sealed proposals; two different users open."""

    rfp = models.ForeignKey(Rfp, on_delete=models.PROTECT, related_name="openings")
    opened_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    opened_at = models.DateTimeField()
    # What was received and when, with each file's SHA-256: the signed content.
    manifest = models.JSONField()
    signature = models.ForeignKey(
        "accounts.Signature", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["opened_at", "pk"]
        constraints = [models.UniqueConstraint(fields=["rfp", "opened_by"], name="opening_once_per_user")]
        triggers = [records.immutable("proposal_opening_immutable")]

    def __str__(self) -> str:
        return f"Opening of {self.rfp} by {self.opened_by}"


@pghistory.track(
    pghistory.InsertEvent(),
    fields=["rfp", "candidate", "upload", "document", "version", "created_at"],
    model_name="QuestionnaireResponseEvent",
)
class QuestionnaireResponse(models.Model):
    """What rfp.responses read from a vendor's filled questionnaire (a sealed upload): sealed like
    the file (nothing of it is shown to the sponsor before the opening). A re-submission is a new
    version; the earlier ones are kept."""

    rfp = models.ForeignKey(Rfp, on_delete=models.PROTECT, related_name="questionnaire_responses")
    candidate = models.ForeignKey(Candidate, on_delete=models.PROTECT, related_name="+")
    # Either the vendor's sealed portal upload or, for a proposal received by mail, the lead's document.
    upload = models.OneToOneField(
        SealedUpload, on_delete=models.PROTECT, null=True, blank=True, related_name="questionnaire_response"
    )
    document = models.OneToOneField(
        ProposalDocument, on_delete=models.PROTECT, null=True, blank=True, related_name="questionnaire_response"
    )
    version = models.PositiveSmallIntegerField()
    checksum = models.CharField(max_length=64, help_text="The question set's HMAC from the file's _check sheet.")
    packet_version = models.PositiveSmallIntegerField(null=True, blank=True)
    pricing_model = models.CharField(max_length=40, blank=True)
    currency = models.CharField(max_length=10, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["rfp", "candidate", "version"]
        constraints = [
            models.UniqueConstraint(fields=["rfp", "candidate", "version"], name="questionnaire_response_version"),
            models.CheckConstraint(
                condition=Q(upload__isnull=True) ^ Q(document__isnull=True), name="questionnaire_response_one_source"
            ),
        ]
        triggers = [records.immutable("questionnaire_response_immutable")]

    def __str__(self) -> str:
        return f"Questionnaire response {self.pk} (v{self.version})"


@pghistory.track(pghistory.InsertEvent(), fields=["response", "number"], model_name="QuestionnaireAnswerEvent")
class QuestionnaireAnswer(models.Model):
    """One question's answer in a returned questionnaire."""

    class Compliance(models.TextChoices):
        YES = "yes", "Yes"
        PARTLY = "partly", "Partly"
        NO = "no", "No"
        NOT_APPLICABLE = "n/a", "Not applicable"

    response = models.ForeignKey(QuestionnaireResponse, on_delete=models.PROTECT, related_name="answers")
    number = models.PositiveSmallIntegerField()
    criterion = models.TextField()
    question = models.TextField()
    compliance = models.CharField(max_length=10, choices=Compliance.choices, blank=True)
    answer = models.TextField(blank=True)
    document = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ["response", "number"]
        constraints = [models.UniqueConstraint(fields=["response", "number"], name="questionnaire_answer_once")]
        triggers = [records.immutable("questionnaire_answer_immutable")]

    def __str__(self) -> str:
        return f"Answer {self.number}"


@pghistory.track(pghistory.InsertEvent(), fields=["response", "section", "row"], model_name="PriceLineEvent")
class PriceLine(models.Model):
    """One filled line of the returned questionnaire's cost sheet: a line of the cost breakdown
    (section "breakdown") or of a pricing section (FTE roles, milestones, per batch, ...). Which
    figures a line has depends on its section (rfp.rendering.pricing_layout)."""

    response = models.ForeignKey(QuestionnaireResponse, on_delete=models.PROTECT, related_name="price_lines")
    section = models.CharField(max_length=20)
    row = models.PositiveIntegerField(help_text="The row on the cost sheet.")
    item = models.CharField(max_length=255, blank=True)
    basis = models.CharField(max_length=40, blank=True)
    unit = models.CharField(max_length=255, blank=True)
    currency = models.CharField(max_length=10, blank=True)
    notes = models.CharField(max_length=255, blank=True)
    rate = models.DecimalField(max_digits=18, decimal_places=4, null=True, blank=True)
    quantity = models.DecimalField(max_digits=18, decimal_places=4, null=True, blank=True)
    per_year = models.DecimalField(max_digits=18, decimal_places=4, null=True, blank=True)
    years = models.DecimalField(max_digits=18, decimal_places=4, null=True, blank=True)
    months = models.DecimalField(max_digits=18, decimal_places=4, null=True, blank=True)
    percent = models.DecimalField(max_digits=18, decimal_places=4, null=True, blank=True)
    amount = models.DecimalField(max_digits=18, decimal_places=4, null=True, blank=True)
    due = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["response", "row"]
        constraints = [models.UniqueConstraint(fields=["response", "row"], name="price_line_once")]
        triggers = [records.immutable("price_line_immutable")]

    def __str__(self) -> str:
        return f"{self.section} line {self.row}"


# --- The award: proposed by the lead, approved with signatures, notified to every vendor ------------

AWARD_LOCKED = ["submitted", "approved", "rejected", "returned"]


@pghistory.track()
class Award(models.Model):
    """The lead's proposal of which vendor(s) win the RFP, frozen at submission (snapshot + SHA-256) for
    the approvers' signatures, as a shortlist is. A returned or rejected award stays; the lead proposes
    again as a new version."""

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        SUBMITTED = "submitted", "Awaiting approval"
        APPROVED = "approved", "Approved"
        REJECTED = "rejected", "Rejected"
        RETURNED = "returned", "Returned for changes"

    rfp = models.ForeignKey(Rfp, on_delete=models.PROTECT, related_name="awards")
    version = models.PositiveSmallIntegerField()
    status = FSMField(default=Status.DRAFT, choices=Status.choices, protected=True)
    signatures = GenericRelation("accounts.Signature")
    rationale = models.TextField(help_text="Why these vendors: scores, costs, compliance, risks.")
    required_approvals = models.PositiveSmallIntegerField(default=1, validators=[MinValueValidator(1)])
    proposed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    # What the approvers see and sign: scores, ranks, program costs and compliance at submission.
    snapshot = models.JSONField(null=True, blank=True)
    snapshot_hash = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["rfp", "-version"]
        constraints = [models.UniqueConstraint(fields=["rfp", "version"], name="award_version_unique")]
        # Once submitted, only the decision may still change it (whatever the path, raw SQL included).
        triggers = records.locked_when(
            name="award_submitted",
            statuses=AWARD_LOCKED,
            may_change=["decided_at"],
            transitions={"submitted": ["approved", "rejected", "returned"]},
        )

    def __str__(self) -> str:
        return f"{self.rfp} award v{self.version}"

    def get_absolute_url(self) -> str:
        return reverse("rfp:award", args=[self.rfp_id, self.pk])

    @transition(field=status, source=Status.DRAFT, target=Status.SUBMITTED)
    def submit(self):
        pass

    @transition(field=status, source=Status.SUBMITTED, target=Status.APPROVED)
    def approve(self):
        pass

    @transition(field=status, source=Status.SUBMITTED, target=Status.REJECTED)
    def reject(self):
        pass

    @transition(field=status, source=Status.SUBMITTED, target=Status.RETURNED)
    def return_for_changes(self):
        pass


@pghistory.track()
class AwardLine(models.Model):
    """One awarded vendor and what it is awarded (a program step, and/or the scope in words)."""

    award = models.ForeignKey(Award, on_delete=models.PROTECT, related_name="lines")
    candidate = models.ForeignKey(Candidate, on_delete=models.PROTECT, related_name="+")
    step = models.ForeignKey(ProgramStep, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    scope = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["award", "pk"]
        constraints = [models.UniqueConstraint(fields=["award", "candidate"], name="award_line_once")]
        triggers = [
            records.LockedWithParent(
                name="award_line_submitted",
                parent_table="rfp_award",
                parent_column="award_id",
                statuses=AWARD_LOCKED,
                what="the submitted award's line",
            )
        ]

    def __str__(self) -> str:
        return f"{self.candidate}: {self.scope or 'whole scope'}"


@pghistory.track(pghistory.InsertEvent())
class AwardDecision(models.Model):
    """One approver's signed decision; the signature binds it to the award's snapshot."""

    class Decision(models.TextChoices):
        APPROVE = "approve", "Approve"
        REJECT = "reject", "Reject"
        RETURN = "return", "Return for changes"

    award = models.ForeignKey(Award, on_delete=models.PROTECT, related_name="decisions")
    signature = models.OneToOneField("accounts.Signature", on_delete=models.PROTECT, related_name="+")
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    decision = models.CharField(max_length=8, choices=Decision.choices)
    comment = models.TextField(blank=True)

    class Meta:
        ordering = ["pk"]
        constraints = [models.UniqueConstraint(fields=["award", "decided_by"], name="award_decision_once")]
        triggers = [records.immutable("award_decision_immutable")]

    def __str__(self) -> str:
        return self.get_decision_display()


@pghistory.track()
class AwardNotice(QueuedJob):
    """The letter to one vendor of the RFP once the award is approved: an award notice to the winners,
    a regret notice to the others. Rendered to PDF by a worker (core.outbox), then shown in the
    vendor's portal and e-mailed to its signed-in contacts."""

    class Kind(models.TextChoices):
        AWARD = "award", "Award notice"
        REGRET = "regret", "Regret notice"

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RENDERING = "rendering", "Rendering"
        DONE = "done", "Generated"
        FAILED = "failed", "Failed"

    award = models.ForeignKey(Award, on_delete=models.PROTECT, related_name="notices")
    candidate = models.ForeignKey(Candidate, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    error = models.TextField(blank=True)
    pdf = models.FileField(upload_to="notices/%Y/%m/", blank=True)
    pdf_pages = models.PositiveSmallIntegerField(default=0)
    sha256 = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    emailed_at = models.DateTimeField(null=True, blank=True)
    emailed_to = models.TextField(blank=True, help_text="The addresses the notice was e-mailed to.")

    class Meta:
        ordering = ["award", "candidate__vendor__name"]
        constraints = [models.UniqueConstraint(fields=["award", "candidate"], name="award_notice_once")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} to {self.candidate.vendor.name}"


# --- Total program cost (issue 17, item 4): the lead's horizon and exchange rates (rfp/costs.py) -----


@pghistory.track()
class ProgramHorizon(models.Model):
    """What the lead normalises every proposal to: the program's years and volumes and one currency.
    A field left empty is not assumed: the lines that need it are listed as missing."""

    rfp = models.OneToOneField(Rfp, on_delete=models.PROTECT, related_name="horizon")
    years = models.DecimalField(max_digits=5, decimal_places=2, help_text="How many years the program runs.")
    batches_per_year = models.DecimalField(
        max_digits=9, decimal_places=2, null=True, blank=True, help_text="GMP batches the program needs a year."
    )
    campaigns_per_year = models.DecimalField(max_digits=9, decimal_places=2, null=True, blank=True)
    fte_months_per_year = models.DecimalField(
        "FTE-months per year",
        max_digits=9,
        decimal_places=2,
        null=True,
        blank=True,
        help_text="CRO effort the program needs; FTE lines are rescaled to it. Or give an effort factor.",
    )
    effort_factor = models.DecimalField(
        max_digits=6,
        decimal_places=3,
        null=True,
        blank=True,
        help_text="Multiplies the vendors' own FTE and time-and-materials effort (1 = as quoted).",
    )
    volume_per_year = models.DecimalField(
        max_digits=14, decimal_places=3, null=True, blank=True, help_text="Quantity needed a year (take-or-pay)."
    )
    volume_unit = models.CharField(max_length=40, blank=True)
    needs_development = models.BooleanField("needs development", default=False)
    needs_tech_transfer = models.BooleanField("needs technology transfer", default=False)
    base_currency = models.CharField(max_length=3, default="USD")
    notes = models.TextField(blank=True)
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "program horizon"

    def __str__(self) -> str:
        return f"Horizon of {self.rfp}"


@pghistory.track()
class ExchangeRate(models.Model):
    """One unit of `currency` in the RFP's base currency, as of a date; one rate per currency."""

    rfp = models.ForeignKey(Rfp, on_delete=models.PROTECT, related_name="exchange_rates")
    currency = models.CharField(max_length=3)
    rate = models.DecimalField(max_digits=18, decimal_places=8)
    as_of = models.DateField()
    source = models.CharField(max_length=200, blank=True, help_text="Where the rate comes from (e.g. ECB reference).")
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["currency"]
        constraints = [models.UniqueConstraint(fields=["rfp", "currency"], name="exchange_rate_once")]

    def __str__(self) -> str:
        return f"{self.currency} {self.rate}"
