from decimal import Decimal

import pghistory
from django.conf import settings
from django.contrib.contenttypes.fields import GenericRelation
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.urls import reverse
from django_fsm import FSMField, transition

from core import records, trail
from vendors.models import DosageForm, Kind, Modality, Phase, Service, Site, Vendor

# A shortlist from submission on: what the approvers sign is frozen.
SHORTLIST_LOCKED = ["submitted", "approved", "rejected", "returned"]

RUBRIC_MIN, RUBRIC_MAX = 1, 5
MAX_REQUIRED_APPROVALS = 5


def default_required_approvals() -> int:
    """The site's minimum number of signed approvals of a shortlist (settings), as a new evaluation's policy."""
    return settings.SHORTLIST_REQUIRED_APPROVALS


@pghistory.track()
class Evaluation(models.Model):
    """A sourcing event: which partner for which program, scored by a team."""

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        SCORING = "scoring", "Scoring"
        REVIEW = "review", "Review"
        CLOSED = "closed", "Closed"

    class Aggregation(models.TextChoices):
        MEAN = "mean", "Mean of evaluators"
        MEDIAN = "median", "Median of evaluators"

    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    modality = models.ForeignKey(Modality, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    dosage_form = models.ForeignKey(DosageForm, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    phase = models.ForeignKey(Phase, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    target_agencies = models.JSONField(default=list, blank=True, help_text="Agency codes, e.g. FDA, EMA.")
    required_services = models.ManyToManyField(Service, blank=True, related_name="+")
    allowed_kinds = models.ManyToManyField(Kind, blank=True, related_name="+")
    scale_unit = models.CharField(max_length=2, choices=Site.ScaleUnit.choices, blank=True)
    scale_min = models.DecimalField(
        "batch size needed now, from", max_digits=12, decimal_places=3, null=True, blank=True
    )
    scale_max = models.DecimalField("batch size needed now, to", max_digits=12, decimal_places=3, null=True, blank=True)
    launch_scale = models.DecimalField("batch size at launch", max_digits=12, decimal_places=3, null=True, blank=True)
    needed_by = models.DateField(null=True, blank=True)
    aggregation = models.CharField(max_length=6, choices=Aggregation.choices, default=Aggregation.MEAN)
    status = FSMField(default=Status.DRAFT, choices=Status.choices, protected=True)
    lead = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="led_evaluations")
    evaluators = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="evaluations")
    # The approval policy: signed approvals every shortlist version needs. Never below the site's
    # minimum; a version proposed with more raises it once submitted, none can go below it.
    required_approvals = models.PositiveSmallIntegerField(
        "signed approvals required",
        default=default_required_approvals,
        validators=[MinValueValidator(1), MaxValueValidator(MAX_REQUIRED_APPROVALS)],
    )
    # Quality assurance must sign too ("Approved for quality"), besides the managers' approvals.
    qa_approval_required = models.BooleanField(
        "quality assurance must approve",
        default=False,
        help_text="A shortlist is approved only once quality assurance has signed “Approved for quality” too.",
    )
    # Why the lead moved to review before every evaluator had submitted (empty when all had).
    early_review_reason = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("scoring:evaluation", args=[self.pk])

    def top_criteria(self):
        """The criteria that carry weights; sub-criteria roll up into them."""
        return self.criteria.filter(parent=None)

    def scored_criteria(self):
        """What evaluators score: judged criteria without sub-criteria, and the sub-criteria."""
        return self.criteria.filter(evidence="", children__isnull=True)

    @transition(field=status, source=Status.DRAFT, target=Status.SCORING)
    def start_scoring(self):
        """Weights lock from here on; a later change needs a reason and makes a new version."""

    @transition(field=status, source=Status.SCORING, target=Status.REVIEW)
    def start_review(self):
        pass

    @transition(field=status, source=Status.REVIEW, target=Status.SCORING)
    def reopen_scoring(self):
        pass

    @transition(field=status, source=Status.REVIEW, target=Status.CLOSED)
    def close(self):
        pass


@pghistory.track()
class Criterion(models.Model):
    class Evidence(models.TextChoices):
        NONE = "", "Scored by evaluators"
        SCOPE_FIT = "scope_fit", "Derived: coverage of required scope"
        REGULATORY = "regulatory", "Derived: regulatory inspection history"
        SCALE = "scale", "Derived: sites' scale ranges"
        QUALITY = "quality", "Derived: audit findings and CAPA"
        COMPLIANCE = "compliance", "Derived: questionnaire compliance answers"
        PRICE = "price", "Derived: total program cost (lowest-cost-scaled)"

    evaluation = models.ForeignKey(Evaluation, on_delete=models.PROTECT, related_name="criteria")
    key = models.SlugField(max_length=60)
    name = models.CharField(max_length=120)
    description = models.TextField(blank=True)
    rubric_1 = models.TextField("what a 1 looks like", blank=True)
    rubric_3 = models.TextField("what a 3 looks like", blank=True)
    rubric_5 = models.TextField("what a 5 looks like", blank=True)
    evidence = models.CharField(max_length=20, choices=Evidence.choices, blank=True)
    position = models.PositiveSmallIntegerField(default=0)
    # Sub-criteria refine a judged criterion: evaluators score them, and the criterion's value is
    # their mean weighted by local_weight (relative numbers, normalised within the parent).
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="children")
    local_weight = models.DecimalField(
        max_digits=7, decimal_places=3, default=Decimal(1), validators=[MinValueValidator(Decimal(0))]
    )

    class Meta:
        ordering = ["position", "pk"]
        constraints = [models.UniqueConstraint(fields=["evaluation", "key"], name="criterion_key_unique")]

    def __str__(self) -> str:
        return self.name

    @property
    def rubric_pairs(self) -> list[tuple[int, str]]:
        return [(1, self.rubric_1), (3, self.rubric_3), (5, self.rubric_5)]


@pghistory.track()
class WeightSet(models.Model):
    """One version of an evaluation's weights; the newest is in force."""

    class Method(models.TextChoices):
        DIRECT = "direct", "Direct percentages"
        AHP = "ahp", "AHP pairwise comparisons"

    evaluation = models.ForeignKey(Evaluation, on_delete=models.PROTECT, related_name="weight_sets")
    version = models.PositiveIntegerField()
    method = models.CharField(max_length=6, choices=Method.choices)
    pairwise = models.JSONField(null=True, blank=True, help_text="AHP matrix in criterion order.")
    consistency_ratio = models.FloatField(null=True, blank=True)
    justification = models.TextField(blank=True, help_text="Why an AHP matrix with CR > 0.10 is used anyway.")
    reason = models.TextField(blank=True, help_text="Why the weights changed after scoring started.")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["evaluation", "-version"]
        constraints = [models.UniqueConstraint(fields=["evaluation", "version"], name="weightset_version_unique")]

    def __str__(self) -> str:
        return f"{self.evaluation} weights v{self.version}"


@pghistory.track()
class CriterionWeight(models.Model):
    weight_set = models.ForeignKey(WeightSet, on_delete=models.PROTECT, related_name="weights")
    criterion = models.ForeignKey(Criterion, on_delete=models.PROTECT, related_name="+")
    percent = models.DecimalField(
        max_digits=7, decimal_places=4, validators=[MinValueValidator(Decimal(0)), MaxValueValidator(Decimal(100))]
    )

    class Meta:
        constraints = [models.UniqueConstraint(fields=["weight_set", "criterion"], name="criterionweight_unique")]

    def __str__(self) -> str:
        return f"{self.percent} %"


@pghistory.track()
class KnockoutRule(models.Model):
    """A must-have gate. Every evaluation holds one row per rule: the defaults are on, and a default
    gate is turned off only with a recorded reason (a decision that can be wrong by default is not
    one a QA head can sign)."""

    class Rule(models.TextChoices):
        ALL_SERVICES = "all_services", "Offers every required service"
        # The code predates program steps; the rule is now "every step at a site that can do it".
        CGMP_DOSAGE_FORM = (
            "cgmp_dosage_form",
            "Every program step at a proposed site that does it under the step's quality regime (cGMP, GLP, GCP)",
        )
        NO_RED_FLAGS = (
            "no_red_flags",
            "No OAI, warning letter, import alert or statement of non-compliance at a proposed site in the last N years",
        )
        SCALE_RANGE = "scale_range", "A proposed site covers each step's batch-size range"
        NO_OPEN_CRITICAL = "no_open_critical", "No open critical audit finding at a proposed site"
        NOT_DISQUALIFIED = (
            "not_disqualified",
            "No proposed site disqualified on the approved-supplier list, vendor not disqualified in the register",
        )
        COMPANY_RED_FLAGS = (
            "company_red_flags",
            "No red flags at the company's other sites either (otherwise shown as warnings)",
        )

    # On for a new evaluation; company-wide red flags are a warning unless the lead asks for a gate.
    DEFAULT_ON = (
        Rule.ALL_SERVICES,
        Rule.CGMP_DOSAGE_FORM,
        Rule.NO_RED_FLAGS,
        Rule.SCALE_RANGE,
        Rule.NO_OPEN_CRITICAL,
        Rule.NOT_DISQUALIFIED,
    )
    DEFAULT_YEARS = 2

    evaluation = models.ForeignKey(Evaluation, on_delete=models.PROTECT, related_name="knockout_rules")
    rule = models.CharField(max_length=20, choices=Rule.choices)
    enabled = models.BooleanField(default=True)
    off_reason = models.TextField("why the gate is off", blank=True)
    years = models.PositiveSmallIntegerField(
        default=DEFAULT_YEARS,
        validators=[MinValueValidator(1), MaxValueValidator(20)],
        help_text="The red-flag window, in years (also caps the regulatory score).",
    )

    class Meta:
        constraints = [models.UniqueConstraint(fields=["evaluation", "rule"], name="knockout_rule_unique")]

    def __str__(self) -> str:
        return self.get_rule_display()


@pghistory.track()
class ProgramStep(models.Model):
    """What the program needs from one manufacturing or service step (GMP evidence is per site and
    activity, so each step is judged at the sites a candidate proposes for it)."""

    class Step(models.TextChoices):
        DRUG_SUBSTANCE = "drug_substance", "Drug substance"
        DRUG_PRODUCT = "drug_product", "Drug product / fill-finish"
        TESTING = "testing", "Testing and release"
        PACKAGING = "packaging", "Packaging and labelling"
        DEVELOPMENT = "development", "Process and analytical development"
        NONCLINICAL = "nonclinical", "Nonclinical studies"
        CLINICAL = "clinical", "Clinical services"

    # The regime a step is done under unless the lead says otherwise.
    DEFAULT_REGIME = {Step.NONCLINICAL: "GLP", Step.CLINICAL: "GCP"}
    # The services a site must offer for a step when the lead names none.
    DEFAULT_SERVICES = {
        Step.DRUG_SUBSTANCE: ["api-manufacturing"],
        Step.DRUG_PRODUCT: ["drug-product-manufacturing"],
        Step.TESTING: ["release-testing"],
        Step.PACKAGING: ["packaging-labelling"],
        Step.DEVELOPMENT: ["process-development"],
        Step.NONCLINICAL: ["preclinical-toxicology"],
        Step.CLINICAL: ["clinical-monitoring"],
    }

    evaluation = models.ForeignKey(Evaluation, on_delete=models.PROTECT, related_name="steps")
    step = models.CharField(max_length=20, choices=Step.choices)
    dosage_form = models.ForeignKey(DosageForm, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    services = models.ManyToManyField(Service, blank=True, related_name="+", help_text="What the site must do.")
    quality_regime = models.CharField(max_length=4, choices=Site.QualityRegime.choices)
    scale_unit = models.CharField(max_length=2, choices=Site.ScaleUnit.choices, blank=True)
    scale_min = models.DecimalField(
        "batch size needed now, from", max_digits=12, decimal_places=3, null=True, blank=True
    )
    scale_max = models.DecimalField("batch size needed now, to", max_digits=12, decimal_places=3, null=True, blank=True)
    launch_scale = models.DecimalField("batch size at launch", max_digits=12, decimal_places=3, null=True, blank=True)
    volume_note = models.CharField(
        "volumes", max_length=200, blank=True, help_text="E.g. 4 batches a year now, 12 at launch."
    )
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "pk"]

    def __str__(self) -> str:
        label = self.get_step_display()
        return f"{label} ({self.dosage_form})" if self.dosage_form_id else label


@pghistory.track()
class Candidate(models.Model):
    evaluation = models.ForeignKey(Evaluation, on_delete=models.PROTECT, related_name="candidates")
    vendor = models.ForeignKey(Vendor, on_delete=models.PROTECT, related_name="candidacies")
    added_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    added_at = models.DateTimeField(auto_now_add=True)
    knockout_override = models.BooleanField(default=False)
    knockout_override_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["vendor__name"]
        constraints = [models.UniqueConstraint(fields=["evaluation", "vendor"], name="candidate_unique")]

    def __str__(self) -> str:
        return str(self.vendor)


@pghistory.track()
class ProposedSite(models.Model):
    """A site a candidate would use for a program step (suggested from the sites' capabilities,
    editable by the lead)."""

    candidate = models.ForeignKey(Candidate, on_delete=models.PROTECT, related_name="proposed_sites")
    step = models.ForeignKey(ProgramStep, on_delete=models.PROTECT, related_name="proposals")
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="+")
    suggested = models.BooleanField(default=False, help_text="Proposed automatically from the site's capabilities.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["step__position", "step_id", "site__name"]
        constraints = [models.UniqueConstraint(fields=["candidate", "step", "site"], name="proposed_site_unique")]

    def __str__(self) -> str:
        return f"{self.site} for {self.step}"


@pghistory.track()
class Score(models.Model):
    """One evaluator's score of one candidate on one criterion, on the rubric's 1-5 scale."""

    candidate = models.ForeignKey(Candidate, on_delete=models.PROTECT, related_name="scores")
    criterion = models.ForeignKey(Criterion, on_delete=models.PROTECT, related_name="scores")
    evaluator = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="scores")
    value = models.PositiveSmallIntegerField(validators=[MinValueValidator(RUBRIC_MIN), MaxValueValidator(RUBRIC_MAX)])
    rationale = models.TextField(blank=True)
    evidence_url = models.URLField(blank=True)
    revision = models.PositiveIntegerField(default=1, help_text="Raised on every change; a stale save is refused.")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["candidate", "criterion", "evaluator"], name="score_unique"),
            models.CheckConstraint(
                condition=models.Q(value__gte=RUBRIC_MIN, value__lte=RUBRIC_MAX), name="score_on_scale"
            ),
        ]

    def __str__(self) -> str:
        return str(self.value)


@pghistory.track()
class Submission(models.Model):
    """An evaluator has submitted their scores: only then do they see the others' (blind scoring)."""

    evaluation = models.ForeignKey(Evaluation, on_delete=models.PROTECT, related_name="submissions")
    evaluator = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    submitted_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["evaluation", "evaluator"], name="submission_unique")]

    def __str__(self) -> str:
        return f"submitted {self.submitted_at:%Y-%m-%d %H:%M}"


@pghistory.track()
class DerivedOverride(models.Model):
    """An evaluator's replacement of a derived (evidence) score, with the required justification."""

    candidate = models.ForeignKey(Candidate, on_delete=models.PROTECT, related_name="derived_overrides")
    criterion = models.ForeignKey(Criterion, on_delete=models.PROTECT, related_name="+")
    value = models.DecimalField(max_digits=4, decimal_places=2, validators=[MinValueValidator(1), MaxValueValidator(5)])
    justification = models.TextField()
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["candidate", "criterion"], name="derived_override_unique")]

    def __str__(self) -> str:
        return f"{self.value} (overridden)"


@pghistory.track()
class Shortlist(models.Model):
    """The lead's proposal of vendors to take to RFP, frozen at submission for the approvers' signatures.

    A returned or rejected shortlist stays as it was; the lead proposes again as a new version.
    """

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        SUBMITTED = "submitted", "Awaiting approval"
        APPROVED = "approved", "Approved"
        REJECTED = "rejected", "Rejected"
        RETURNED = "returned", "Returned for changes"

    evaluation = models.ForeignKey(Evaluation, on_delete=models.PROTECT, related_name="shortlists")
    version = models.PositiveSmallIntegerField()
    status = FSMField(default=Status.DRAFT, choices=Status.choices, protected=True)
    candidates = models.ManyToManyField(Candidate, through="ShortlistEntry", related_name="shortlists")
    signatures = GenericRelation("accounts.Signature")
    rationale = models.TextField(
        blank=True, help_text="Why these vendors; required when a higher-ranked one is skipped."
    )
    required_approvals = models.PositiveSmallIntegerField(default=1, validators=[MinValueValidator(1)])
    proposed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    # What the approvers see and sign: weights, scores, ranking and knock-outs at submission.
    snapshot = models.JSONField(null=True, blank=True)
    snapshot_hash = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["evaluation", "-version"]
        constraints = [models.UniqueConstraint(fields=["evaluation", "version"], name="shortlist_version_unique")]
        permissions = [("decide_shortlist", "Can approve, reject or return shortlists")]
        # Once submitted, only the decision may still change it (whatever the path, raw SQL included).
        triggers = records.locked_when(
            name="shortlist_submitted",
            statuses=SHORTLIST_LOCKED,
            may_change=["decided_at"],
            transitions={"submitted": ["approved", "rejected", "returned"]},
        )

    def __str__(self) -> str:
        return f"{self.evaluation} shortlist v{self.version}"

    def get_absolute_url(self) -> str:
        return reverse("scoring:shortlist", args=[self.evaluation_id, self.pk])

    @property
    def is_open(self) -> bool:
        return self.status in (self.Status.DRAFT, self.Status.SUBMITTED)

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
class ShortlistEntry(models.Model):
    shortlist = models.ForeignKey(Shortlist, on_delete=models.PROTECT, related_name="entries")
    candidate = models.ForeignKey(Candidate, on_delete=models.PROTECT, related_name="+")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["shortlist", "candidate"], name="shortlist_entry_unique")]
        triggers = [
            records.LockedWithParent(
                name="shortlist_entry_submitted",
                parent_table="scoring_shortlist",
                parent_column="shortlist_id",
                statuses=SHORTLIST_LOCKED,
                what="the submitted shortlist's entry",
            )
        ]

    def __str__(self) -> str:
        return str(self.candidate)


@pghistory.track(pghistory.InsertEvent())
class ShortlistDecision(models.Model):
    """One approver's signed decision; the signature binds it to the shortlist's snapshot."""

    class Decision(models.TextChoices):
        APPROVE = "approve", "Approve"
        REJECT = "reject", "Reject"
        RETURN = "return", "Return for changes"

    shortlist = models.ForeignKey(Shortlist, on_delete=models.PROTECT, related_name="decisions")
    signature = models.OneToOneField("accounts.Signature", on_delete=models.PROTECT, related_name="+")
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    decision = models.CharField(max_length=8, choices=Decision.choices)
    comment = models.TextField(blank=True)

    class Meta:
        ordering = ["pk"]
        # An approver decides once per version, whatever the race.
        constraints = [models.UniqueConstraint(fields=["shortlist", "decided_by"], name="shortlist_decision_once")]
        triggers = [records.immutable("shortlist_decision_immutable")]

    def __str__(self) -> str:
        return self.get_decision_display()


trail.track_links(
    Evaluation.evaluators,
    Evaluation.required_services,
    Evaluation.allowed_kinds,
    ProgramStep.services,
    app_label="scoring",
)
