"""Supplier performance and scorecards: the records QA and auditors enter, the KPI settings and standing
rules QA edits, and the computed scorecards (oversight/kpis.py computes, performance.py writes,
selectors.py reads)."""

from __future__ import annotations

import pghistory
from django.conf import settings as _settings
from django.db import models
from django.db.models import F, Q

from core import records
from oversight.kpis import period_label
from vendors.models import Site

_COUNT = {"default": 0}


class Standing(models.TextChoices):
    """Standings from best to worst (STANDING_RANK); "not rated" when no KPI could be scored."""

    PREFERRED = "preferred", "Preferred"
    APPROVED = "approved", "Approved"
    ON_WATCH = "on_watch", "On watch"
    UNDER_PROBATION = "under_probation", "Under probation"
    NOT_RATED = "not_rated", "Not rated"


@pghistory.track()
class PerformanceRecord(models.Model):
    """What a site delivered in one period (quarterly by default): plain counts, entered by QA or an
    auditor by form, API or import. Periods of one site never overlap (checked in the service under a
    lock on the site); counts that contradict each other are refused there and by the constraints below."""

    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="performance_records")
    start = models.DateField("period start")
    end = models.DateField("period end")
    batches_started = models.PositiveIntegerField(**_COUNT)
    batches_released = models.PositiveIntegerField(**_COUNT)
    batches_right_first_time = models.PositiveIntegerField(
        "batches released right first time",
        help_text="Released without a deviation, rework or reprocessing.",
        **_COUNT,
    )
    deviations_minor = models.PositiveIntegerField("minor deviations", **_COUNT)
    deviations_major = models.PositiveIntegerField("major deviations", **_COUNT)
    deviations_critical = models.PositiveIntegerField("critical deviations", **_COUNT)
    oos_results = models.PositiveIntegerField(
        "OOS results", help_text="Confirmed out-of-specification results.", **_COUNT
    )
    deliveries_due = models.PositiveIntegerField(**_COUNT)
    deliveries_on_time = models.PositiveIntegerField(**_COUNT)
    capas_due = models.PositiveIntegerField("CAPAs due", **_COUNT)
    capas_closed_on_time = models.PositiveIntegerField("CAPAs closed on time", **_COUNT)
    change_notifications_due = models.PositiveIntegerField(
        "change notifications due", help_text="Changes the vendor made that required notifying the sponsor.", **_COUNT
    )
    change_notifications_on_time = models.PositiveIntegerField("change notifications on time", **_COUNT)
    complaints = models.PositiveIntegerField(help_text="Quality complaints attributed to the site.", **_COUNT)
    note = models.TextField(blank=True)
    entered_by = models.ForeignKey(_settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["site", "-start"]
        indexes = [models.Index(fields=["site", "-end"], name="performance_site_end")]
        # The service gives these with field messages; the database holds them whatever the path.
        constraints = [
            models.CheckConstraint(condition=Q(end__gte=F("start")), name="performance_period_ordered"),
            models.CheckConstraint(
                condition=Q(batches_released__lte=F("batches_started")), name="performance_released_le_started"
            ),
            models.CheckConstraint(
                condition=Q(batches_right_first_time__lte=F("batches_released")), name="performance_rft_le_released"
            ),
            models.CheckConstraint(
                condition=Q(deliveries_on_time__lte=F("deliveries_due")), name="performance_deliveries_le_due"
            ),
            models.CheckConstraint(
                condition=Q(capas_closed_on_time__lte=F("capas_due")), name="performance_capas_le_due"
            ),
            models.CheckConstraint(
                condition=Q(change_notifications_on_time__lte=F("change_notifications_due")),
                name="performance_changes_le_due",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.site} {self.period_label}"

    @property
    def period_label(self) -> str:
        return period_label(self.start, self.end)


@pghistory.track()
class KpiSetting(models.Model):
    """One KPI's weight in the scorecard, how its value maps onto the 1-5 scale (linear between the value
    that scores 1 and the value that scores 5, clamped) and its flag threshold. Edited by QA; every change
    is in the trail, and the scorecards are recomputed with it."""

    class Severity(models.TextChoices):
        WARNING = "warning", "Warning"
        CRITICAL = "critical", "Critical"

    kpi = models.CharField(max_length=30, unique=True)
    weight = models.DecimalField(max_digits=5, decimal_places=2)
    scores_1_at = models.DecimalField("value that scores 1", max_digits=8, decimal_places=3)
    scores_5_at = models.DecimalField("value that scores 5", max_digits=8, decimal_places=3)
    threshold = models.DecimalField(
        max_digits=8,
        decimal_places=3,
        null=True,
        blank=True,
        help_text="Flag when the KPI is worse than this (below it for a percentage, above it for a rate or count).",
    )
    severity = models.CharField("flag severity", max_length=10, choices=Severity.choices, default=Severity.WARNING)
    updated_by = models.ForeignKey(_settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["pk"]
        constraints = [
            models.CheckConstraint(condition=Q(weight__gte=0), name="kpisetting_weight_not_negative"),
            models.CheckConstraint(condition=~Q(scores_1_at=F("scores_5_at")), name="kpisetting_scale_not_flat"),
        ]

    def __str__(self) -> str:
        return self.kpi


@pghistory.track(pghistory.InsertEvent())
class StandingRules(models.Model):
    """A version of the rules that set a site's standing from its scorecard: score bands covering 1-5 without
    gap or overlap, and caps ("at most on watch when a critical flag is raised"). A new version is a new
    row (the latest is in force); rows are never changed."""

    version = models.PositiveIntegerField(unique=True)
    bands = models.JSONField(help_text="[{standing, min_score, max_score}], best standing on the highest scores.")
    caps = models.JSONField(default=list, blank=True, help_text="[{condition, at_least, standing}]")
    note = models.TextField(blank=True)
    created_by = models.ForeignKey(_settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-version"]
        verbose_name_plural = "standing rules"
        triggers = [records.immutable("standing_rules_immutable")]

    def __str__(self) -> str:
        return f"Standing rules v{self.version}"


@pghistory.track()
class Scorecard(models.Model):
    """The computed scorecard of one performance record: KPI values and scores, flags, the weighted score
    (1-5) and the standing with its reasons. Recomputed by the service when the record, the KPI settings or
    the standing rules change; the site and period end are copied here so that the latest standing of many
    sites is one query (selectors.standing_of)."""

    record = models.OneToOneField(PerformanceRecord, on_delete=models.CASCADE, related_name="scorecard")
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="scorecards")
    period_end = models.DateField()
    period_label = models.CharField(max_length=40)
    score = models.DecimalField(max_digits=4, decimal_places=2, null=True)
    standing = models.CharField(max_length=20, choices=Standing.choices)
    kpis = models.JSONField(default=dict)
    flags = models.JSONField(default=list)
    reasons = models.JSONField(default=list)
    rules_version = models.PositiveIntegerField(null=True)
    computed_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["site", "-period_end"]
        indexes = [models.Index(fields=["site", "-period_end"], name="scorecard_site_latest")]

    def __str__(self) -> str:
        return f"Scorecard {self.site_id} {self.period_label}"
