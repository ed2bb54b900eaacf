from decimal import Decimal

import pghistory
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator, RegexValidator
from django.db import models
from django.db.models.functions import Lower
from django.urls import reverse
from django.utils import timezone
from django_countries.fields import CountryField

from core import trail
from core.models import QueuedJob
from vendors.validators import validate_pdf_document


class Term(models.Model):
    """A controlled-vocabulary term; the lists are seeded by migrations from the domain brief."""

    code = models.SlugField(max_length=60, unique=True)
    name = models.CharField(max_length=120)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        abstract = True
        ordering = ["position", "name"]

    def __str__(self) -> str:
        return self.name


class Kind(Term):
    """CRO, CMO or CDMO; a vendor holds one or several (an integrated CDMO + CRO holds two)."""


class Service(Term):
    class Group(models.TextChoices):
        RESEARCH_CLINICAL = "research_clinical", "Research & clinical"
        DEVELOPMENT = "development", "Development"
        MANUFACTURING = "manufacturing", "Manufacturing"
        REGULATORY_QUALITY = "regulatory_quality", "Regulatory & quality"

    group = models.CharField(max_length=30, choices=Group.choices)

    class Meta(Term.Meta):
        ordering = ["group", "position", "name"]


class Modality(Term):
    class Meta(Term.Meta):
        verbose_name_plural = "modalities"


class DosageForm(Term):
    pass


class Phase(Term):
    pass


@pghistory.track()
class Vendor(models.Model):
    class Status(models.TextChoices):
        PROSPECT = "prospect", "Prospect"
        UNDER_QUALIFICATION = "under_qualification", "Under qualification"
        APPROVED = "approved", "Approved"
        CONDITIONALLY_APPROVED = "conditionally_approved", "Conditionally approved"
        DISQUALIFIED = "disqualified", "Disqualified"

    name = models.CharField(max_length=200)
    legal_name = models.CharField(max_length=255, blank=True)
    kinds = models.ManyToManyField(Kind, related_name="vendors")
    country = CountryField(verbose_name="headquarters country")
    website = models.URLField(blank=True)
    description = models.TextField(blank=True)
    status = models.CharField(
        "qualification status", max_length=30, choices=Status.choices, default=Status.PROSPECT, db_index=True
    )
    services = models.ManyToManyField(Service, blank=True, related_name="vendors")
    modalities = models.ManyToManyField(Modality, blank=True, related_name="vendors")
    dosage_forms = models.ManyToManyField(DosageForm, blank=True, related_name="vendors")
    phases = models.ManyToManyField(Phase, blank=True, related_name="vendors")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(Lower("name"), name="vendor_name_unique_ci")]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("vendors:detail", args=[self.pk])

    def validate_constraints(self, exclude=None):
        # Say which field clashes instead of Django's generic constraint message.
        if Vendor.objects.filter(name__iexact=self.name).exclude(pk=self.pk).exists():
            raise ValidationError({"name": f"A vendor named “{self.name}” already exists."})
        super().validate_constraints(exclude=exclude)


@pghistory.track()
class Contact(models.Model):
    vendor = models.ForeignKey(Vendor, on_delete=models.PROTECT, related_name="contacts")
    name = models.CharField(max_length=200)
    title = models.CharField("role or title", max_length=200, blank=True)
    email = models.EmailField(blank=True)
    phone = models.CharField(max_length=50, blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


@pghistory.track()
class Site(models.Model):
    class QualityRegime(models.TextChoices):
        GLP = "GLP", "GLP (good laboratory practice)"
        GCP = "GCP", "GCP (good clinical practice)"
        CGMP = "cGMP", "cGMP (current good manufacturing practice)"

    class ScaleUnit(models.TextChoices):
        LITRE = "L", "L (reactor volume)"
        KILOGRAM = "kg", "kg"
        GRAM = "g", "g"

    vendor = models.ForeignKey(Vendor, on_delete=models.PROTECT, related_name="sites")
    name = models.CharField(max_length=200)
    address = models.TextField(blank=True)
    country = CountryField()
    fei_number = models.CharField(
        "FDA FEI number",
        max_length=10,
        blank=True,
        validators=[RegexValidator(r"^\d{7,10}$", "An FEI number has 7 to 10 digits.")],
    )
    quality_regime = models.CharField(max_length=4, choices=QualityRegime.choices)
    scale_min = models.DecimalField(
        "minimum batch size",
        max_digits=12,
        decimal_places=3,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0"))],
    )
    scale_max = models.DecimalField(
        "maximum batch size",
        max_digits=12,
        decimal_places=3,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0"))],
    )
    scale_unit = models.CharField(max_length=2, choices=ScaleUnit.choices, blank=True)
    capabilities = models.ManyToManyField(Service, blank=True, related_name="sites")
    certifications = models.TextField(blank=True, help_text="One per line, e.g. ISO 9001:2015, EU GMP certificate.")
    qualification = models.CharField(
        max_length=25,
        blank=True,
        help_text="Outcome of the latest qualification audit.",
        choices=[
            ("approved", "Approved"),
            ("approved_with_conditions", "Approved with conditions"),
            ("not_approved", "Not approved"),
        ],
    )
    requalification_due = models.DateField(null=True, blank=True)
    # Set by an approved award (rfp): the site was selected for a program; shown as "Selected".
    selected_on = models.DateField(null=True, blank=True)
    selected_for = models.CharField(max_length=300, blank=True, help_text="The award that selected the site.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["vendor__name", "name"]
        constraints = [
            models.UniqueConstraint("vendor", Lower("name"), name="site_name_unique_per_vendor_ci"),
            models.UniqueConstraint(fields=["fei_number"], condition=~models.Q(fei_number=""), name="site_fei_unique"),
            models.CheckConstraint(
                condition=models.Q(scale_min__isnull=True)
                | models.Q(scale_max__isnull=True)
                | models.Q(scale_min__lte=models.F("scale_max")),
                name="site_scale_min_le_max",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("vendors:site", args=[self.pk])

    @property
    def certification_list(self) -> list[str]:
        return [line.strip() for line in self.certifications.splitlines() if line.strip()]

    def clean(self):
        errors = {}
        has_scale = self.scale_min is not None or self.scale_max is not None
        if has_scale and not self.scale_unit:
            errors["scale_unit"] = "Give the unit of the batch sizes (L, kg or g)."
        if self.scale_min is not None and self.scale_max is not None and self.scale_min > self.scale_max:
            errors["scale_max"] = "The maximum batch size must not be smaller than the minimum."
        if errors:
            raise ValidationError(errors)

    def validate_constraints(self, exclude=None):
        if (
            self.vendor_id
            and Site.objects.filter(vendor_id=self.vendor_id, name__iexact=self.name).exclude(pk=self.pk).exists()
        ):
            raise ValidationError({"name": f"This vendor already has a site named “{self.name}”."})
        if self.fei_number and Site.objects.filter(fei_number=self.fei_number).exclude(pk=self.pk).exists():
            raise ValidationError({"fei_number": f"FEI {self.fei_number} already belongs to another site."})
        super().validate_constraints(exclude=exclude)


class Agency(models.TextChoices):
    """The authorities whose inspections and certificates the register records."""

    FDA = "FDA", "FDA"
    EMA = "EMA", "EU national authority (EMA-coordinated)"
    MHRA = "MHRA", "MHRA"
    PMDA = "PMDA", "PMDA"
    HC = "HC", "Health Canada"
    ANVISA = "ANVISA", "ANVISA"
    NMPA = "NMPA", "NMPA"
    TGA = "TGA", "TGA"
    SWISSMEDIC = "SWISSMEDIC", "Swissmedic"
    WHO = "WHO", "WHO prequalification"
    OTHER = "other", "Other"


@pghistory.track()
class RegulatoryInspection(models.Model):
    Agency = Agency

    class InspectionType(models.TextChoices):
        PRE_APPROVAL = "pre_approval", "Pre-approval / pre-licence (PAI/PLI)"
        SURVEILLANCE = "surveillance", "Surveillance (routine)"
        FOR_CAUSE = "for_cause", "For cause"
        REMOTE = "remote", "Remote regulatory assessment"

    class Classification(models.TextChoices):
        # FDA's three outcomes; other agencies' outcomes map onto them (e.g. an EU GMP
        # certificate ~ NAI, a statement of non-compliance ~ OAI).
        NAI = "NAI", "NAI — no action indicated"
        VAI = "VAI", "VAI — voluntary action indicated"
        OAI = "OAI", "OAI — official action indicated"

    class Source(models.TextChoices):
        MANUAL = "manual", "Entered manually"
        FDA_DASHBOARD = "fda_dashboard", "FDA Data Dashboard"
        AGENCY_DATABASE = "agency_database", "Agency database (EudraGMDP, MHRA, PMDA)"
        IMPORT = "import", "File import"

    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="inspections")
    agency = models.CharField(max_length=10, choices=Agency.choices)
    inspection_type = models.CharField(max_length=20, choices=InspectionType.choices, blank=True)
    end_date = models.DateField("inspection end date")
    classification = models.CharField(max_length=3, choices=Classification.choices)
    agency_classification = models.CharField(
        "agency's own wording", max_length=120, blank=True, help_text="E.g. “GMP certificate issued”."
    )
    form_483_observations = models.PositiveSmallIntegerField(
        "Form 483 observations",
        null=True,
        blank=True,
        help_text="FDA inspections only; empty when the number is not known.",
    )
    warning_letter = models.BooleanField(default=False)
    notes = models.TextField(blank=True)
    source = models.CharField(max_length=20, choices=Source.choices, default=Source.MANUAL)
    source_id = models.CharField(
        max_length=60, blank=True, help_text="The source's identifier, e.g. FDA Inspection ID."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-end_date", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["source", "source_id"], condition=~models.Q(source_id=""), name="inspection_source_id_unique"
            ),
        ]
        indexes = [models.Index(fields=["site", "-end_date"])]

    def __str__(self) -> str:
        return f"{self.agency} {self.end_date:%Y-%m-%d} {self.classification}"

    def clean(self):
        if self.end_date and self.end_date > timezone.localdate():
            raise ValidationError({"end_date": "An inspection's end date cannot be in the future."})
        if self.form_483_observations is not None and self.agency and self.agency != Agency.FDA:
            label = dict(Agency.choices).get(self.agency, self.agency)
            raise ValidationError(
                {
                    "form_483_observations": "Form 483 observations are an FDA record; "
                    f"leave the count empty for {label}."
                }
            )

    @property
    def observations_label(self) -> str:
        """ "3 obs." / "obs. unknown" for FDA inspections (never a made-up zero); "" for other agencies."""
        if self.agency != Agency.FDA:
            return ""
        if self.form_483_observations is None:
            return "obs. unknown"
        return f"{self.form_483_observations} obs."


def _not_in_future(day, field: str, what: str) -> dict:
    if day and day > timezone.localdate():
        return {field: f"{what} cannot be in the future."}
    return {}


@pghistory.track()
class WarningLetter(models.Model):
    """An FDA warning letter to a site (and its close-out letter when FDA closed it)."""

    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="warning_letters")
    issued_on = models.DateField("issued on")
    subject = models.CharField(max_length=300)
    reference = models.CharField(max_length=60, blank=True, help_text="E.g. the MARCS-CMS number.")
    closed_on = models.DateField("close-out letter date", null=True, blank=True)
    document = models.FileField(
        upload_to="regulatory/warning_letters/%Y/", blank=True, validators=[validate_pdf_document]
    )
    notes = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-issued_on", "-pk"]
        indexes = [models.Index(fields=["site", "-issued_on"])]

    def __str__(self) -> str:
        return f"FDA warning letter {self.issued_on:%Y-%m-%d}: {self.subject}"

    @property
    def is_open(self) -> bool:
        return self.closed_on is None

    def clean(self):
        errors = _not_in_future(self.issued_on, "issued_on", "A warning letter's issue date")
        if self.issued_on and self.closed_on and self.closed_on < self.issued_on:
            errors["closed_on"] = "The close-out letter cannot be dated before the warning letter."
        if not errors:
            errors = _not_in_future(self.closed_on, "closed_on", "The close-out letter date")
        if errors:
            raise ValidationError(errors)


@pghistory.track()
class ImportAlert(models.Model):
    """An FDA import alert that lists the site (its products detained without physical examination)."""

    class Status(models.TextChoices):
        ACTIVE = "active", "Active (site listed)"
        REMOVED = "removed", "Removed from the alert"

    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="import_alerts")
    number = models.CharField("import alert number", max_length=20, help_text="E.g. 66-40.")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    listed_on = models.DateField("listed on")
    removed_on = models.DateField("removed on", null=True, blank=True)
    reason = models.TextField(blank=True)
    document = models.FileField(
        upload_to="regulatory/import_alerts/%Y/", blank=True, validators=[validate_pdf_document]
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-listed_on", "-pk"]
        indexes = [models.Index(fields=["site", "status"])]

    def __str__(self) -> str:
        return f"FDA import alert {self.number} ({self.get_status_display().lower()})"

    def clean(self):
        errors = _not_in_future(self.listed_on, "listed_on", "The listing date")
        if self.removed_on:
            if self.status != self.Status.REMOVED:
                errors["removed_on"] = "Give a removal date only for a site removed from the alert."
            elif self.listed_on and self.removed_on < self.listed_on:
                errors["removed_on"] = "The site cannot be removed from the alert before it was listed."
            else:
                errors |= _not_in_future(self.removed_on, "removed_on", "The removal date")
        if errors:
            raise ValidationError(errors)


@pghistory.track()
class GmpCertificate(models.Model):
    """A GMP certificate, or a statement of non-compliance, issued to the site by an authority
    (EudraGMDP for the EU authorities)."""

    class Kind(models.TextChoices):
        CERTIFICATE = "certificate", "GMP certificate"
        NON_COMPLIANCE = "non_compliance", "Statement of non-compliance"

    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="gmp_certificates")
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.CERTIFICATE)
    authority = models.CharField(max_length=10, choices=Agency.choices)
    number = models.CharField("certificate or statement number", max_length=60)
    eudragmdp_reference = models.CharField("EudraGMDP reference", max_length=60, blank=True)
    issued_on = models.DateField("issued on")
    valid_until = models.DateField("valid until", null=True, blank=True)
    notes = models.TextField(blank=True)
    document = models.FileField(
        upload_to="regulatory/gmp_certificates/%Y/", blank=True, validators=[validate_pdf_document]
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-issued_on", "-pk"]
        verbose_name = "GMP certificate or statement"
        verbose_name_plural = "GMP certificates and statements"
        indexes = [models.Index(fields=["site", "kind"])]

    def __str__(self) -> str:
        return f"{self.get_authority_display()} {self.get_kind_display().lower()} {self.number}"

    def clean(self):
        errors = _not_in_future(self.issued_on, "issued_on", "The issue date")
        if self.issued_on and self.valid_until and self.valid_until < self.issued_on:
            errors["valid_until"] = "The validity cannot end before the certificate or statement was issued."
        if errors:
            raise ValidationError(errors)


class QualificationStatus(models.TextChoices):
    NOT_YET_QUALIFIED = "not_yet_qualified", "Not yet qualified"
    APPROVED = "approved", "Approved"
    APPROVED_WITH_CONDITIONS = "approved_with_conditions", "Approved with conditions"
    DISQUALIFIED = "disqualified", "Disqualified"


@pghistory.track()
class SiteQualification(models.Model):
    """The approved-supplier list, per site and activity: one row per (site, activity), and at
    most one site-wide row (activity empty = every activity at the site)."""

    Status = QualificationStatus

    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="qualifications")
    activity = models.ForeignKey(
        Service,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="Empty: every activity at the site.",
    )
    status = models.CharField(max_length=25, choices=QualificationStatus.choices)
    decided_on = models.DateField("decided on")
    requalification_due = models.DateField("requalification due", null=True, blank=True)
    note = models.TextField(blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    source = models.CharField(max_length=200, blank=True, help_text="E.g. “Audit #12, signed outcome”.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["site", "activity__position", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["site", "activity"],
                condition=models.Q(activity__isnull=False),
                name="qualification_per_activity",
            ),
            models.UniqueConstraint(
                fields=["site"], condition=models.Q(activity__isnull=True), name="qualification_site_wide_once"
            ),
        ]

    def __str__(self) -> str:
        what = self.activity.name if self.activity_id else "all activities"
        return f"{self.site}: {what} — {self.get_status_display()}"

    @property
    def activity_label(self) -> str:
        return self.activity.name if self.activity_id else "All activities"

    def clean(self):
        errors = _not_in_future(self.decided_on, "decided_on", "The decision date")
        if self.decided_on and self.requalification_due and self.requalification_due < self.decided_on:
            errors["requalification_due"] = "Requalification cannot fall due before the decision."
        if errors:
            raise ValidationError(errors)

    def validate_constraints(self, exclude=None):
        if self.site_id:
            same = SiteQualification.objects.filter(site_id=self.site_id, activity_id=self.activity_id).exclude(
                pk=self.pk
            )
            if same.exists():
                what = "this activity" if self.activity_id else "all activities"
                raise ValidationError({"activity": f"The site already has a qualification for {what}."})
        super().validate_constraints(exclude=exclude)


class ImportJob(QueuedJob):
    """One uploaded register file: validated in the worker, previewed, then applied all-or-nothing.
    Both worker steps go through core.outbox (claim, attempts, queued_at, started_at)."""

    class Target(models.TextChoices):
        VENDORS = "vendors", "Vendors"
        SITES = "sites", "Sites"
        FDA_INSPECTIONS = "fda_inspections", "FDA inspections (Data Dashboard export)"
        WARNING_LETTERS = "warning_letters", "FDA warning letters"
        IMPORT_ALERTS = "import_alerts", "FDA import alerts"
        GMP_CERTIFICATES = "gmp_certificates", "GMP certificates and statements of non-compliance"
        SITE_QUALIFICATIONS = "site_qualifications", "Site qualifications (approved-supplier list)"

    class Status(models.TextChoices):
        QUEUED = "queued", "Waiting for a worker"
        VALIDATING = "validating", "Checking rows"
        INVALID = "invalid", "Rejected: fix the rows listed"
        READY = "ready", "Checked: ready to import"
        APPLYING = "applying", "Importing"
        DONE = "done", "Imported"
        FAILED = "failed", "Failed"

    target = models.CharField(max_length=20, choices=Target.choices)
    file = models.FileField(upload_to="imports/%Y/%m/")
    original_name = models.CharField(max_length=255)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.QUEUED)
    row_count = models.PositiveIntegerField(default=0)
    report = models.JSONField(default=dict, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.get_target_display()} import {self.pk} ({self.original_name})"

    def get_absolute_url(self) -> str:
        return reverse("vendors:import", args=[self.pk])

    @property
    def is_running(self) -> bool:
        return self.status in {self.Status.QUEUED, self.Status.VALIDATING, self.Status.APPLYING}


trail.track_links(
    Vendor.kinds,
    Vendor.services,
    Vendor.modalities,
    Vendor.dosage_forms,
    Vendor.phases,
    Site.capabilities,
    app_label="vendors",
)
