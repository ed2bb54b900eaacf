"""Risk-based requalification: load a site's factors, score them (oversight.risk), map the score to
an interval through QA's current matrix, and move the site's requalification date.

Why recompute here on each relevant change (rather than store a rule in audits): audits may not import
oversight, so audits announces a signed qualification (audits.signals.site_qualified) and oversight,
connected in OversightConfig.ready(), replaces the fixed interval with the risk-based one in the same
transaction. The other inputs change in oversight's own services (performance standing, matrix) or in
records oversight watches (inspections, warning letters, import alerts, CAPA: post_save). Each change
that moves the score, the interval or the due date appends a RiskAssessment with its reasons; the
calendar and the reminders read vendors.Site.requalification_due and so follow by themselves.
"""

from __future__ import annotations

from datetime import date, timedelta

from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone

from audits.models import Capa, Finding, QualificationOutcome
from core import trail
from oversight import defaults, risk
from oversight.models_qa import QualityAgreement, RiskAssessment, RiskMatrix
from oversight.qa_access import refuse, require_write
from vendors.models import ImportAlert, RegulatoryInspection, Service, Site, SiteQualification, WarningLetter

APPROVED = ("approved", "approved_with_conditions")
INSPECTION_LOOKBACK_DAYS = 5 * 365


def add_months(day: date, months: int) -> date:
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    return day.replace(year=year, month=month, day=min(day.day, 28))


# --- The matrix ---------------------------------------------------------------------------------------


def current_matrix() -> RiskMatrix:
    """The newest version; the first one (oversight.defaults.DEFAULT_BANDS) if QA never edited it."""
    matrix = RiskMatrix.objects.order_by("-version").first()
    if matrix is None:
        matrix, _ = RiskMatrix.objects.get_or_create(
            version=1, defaults={"bands": defaults.DEFAULT_BANDS, "note": "Default matrix"}
        )
    return matrix


def matrix_save(*, user, bands: list[dict], note: str = "") -> RiskMatrix:
    """QA saves a new version of the matrix (refused with the problem named: a gap, an overlap, an interval
    of zero); every approved site is reassessed against it. Nothing is saved on a refusal."""
    require_write(user)
    if not isinstance(bands, list) or not all(isinstance(b, dict) for b in bands):
        refuse("Give the bands as a list of {low, high, months, label}.", "bands")
    try:
        checked = risk.check_bands(bands)
    except risk.BandError as error:
        refuse(str(error), "bands")
    with transaction.atomic():
        latest = current_matrix()
        if checked == latest.bands:
            refuse("The matrix is unchanged.", "bands", status=409)
        trail.reason(note.strip() or f"Risk matrix version {latest.version + 1}")
        matrix = RiskMatrix.objects.create(
            version=latest.version + 1, bands=checked, note=note.strip(), created_by=user
        )
        for site in Site.objects.filter(qualification__in=APPROVED):
            reassess(site, trigger=f"Risk matrix version {matrix.version}", user=user, matrix=matrix)
    return matrix


# --- Factors of a site ----------------------------------------------------------------------------------


def site_activities(site: Site) -> list[Service]:
    """What the sponsor buys from the site: its agreements' and approved-list activities; else its capabilities."""
    ids = set(QualityAgreement.objects.filter(site=site).values_list("activity_id", flat=True))
    ids |= set(
        SiteQualification.objects.filter(site=site, status__in=APPROVED, activity__isnull=False).values_list(
            "activity_id", flat=True
        )
    )
    if ids:
        return list(Service.objects.filter(pk__in=ids))
    return list(site.capabilities.all())


def _standing(site_id: int):
    """The performance standing ("perf"'s oversight.selectors.standing_of), or None before any scorecard."""
    from oversight import selectors  # same app; imported here as selectors reads these models too

    return selectors.standing_of([site_id]).get(site_id)


def site_factors(site: Site, *, today: date | None = None) -> risk.Factors:
    today = today or timezone.localdate()
    since = today - timedelta(days=INSPECTION_LOOKBACK_DAYS)
    dosage_forms = set(site.vendor.dosage_forms.values_list("code", flat=True))
    impact = risk.highest_impact(risk.activity_impact(s.code, s.group, dosage_forms) for s in site_activities(site))
    capas = (
        Capa.objects.filter(
            finding__audit__site=site, finding__severity__in=(Finding.Severity.CRITICAL, Finding.Severity.MAJOR)
        )
        .exclude(status__in=Capa.DONE)
        .aggregate(
            critical=Count("pk", filter=Q(finding__severity=Finding.Severity.CRITICAL)),
            major=Count("pk", filter=Q(finding__severity=Finding.Severity.MAJOR)),
        )
    )
    standing = _standing(site.pk)
    return risk.Factors(
        impact=impact,
        last_outcome=site.qualification or None,
        recent_oai=RegulatoryInspection.objects.filter(site=site, classification="OAI", end_date__gte=since).exists(),
        recent_warning_letter=WarningLetter.objects.filter(site=site, issued_on__gte=since).exists()
        or RegulatoryInspection.objects.filter(site=site, warning_letter=True, end_date__gte=since).exists(),
        import_alert=ImportAlert.objects.filter(site=site, status=ImportAlert.Status.ACTIVE).exists(),
        standing=getattr(standing, "code", None),
        standing_label=getattr(standing, "label", "") or "",
        open_critical_capas=capas["critical"],
        open_major_capas=capas["major"],
    )


def basis_date(site: Site) -> date | None:
    """The qualification the interval counts from: the audit of the latest signed outcome (its end), else
    the latest approved-supplier decision."""
    outcome = (
        QualificationOutcome.objects.filter(audit__site=site)
        .select_related("audit")
        .order_by("-created_at", "-pk")
        .first()
    )
    if outcome is not None:
        return outcome.audit.actual_end or timezone.localdate(outcome.created_at)
    return (
        SiteQualification.objects.filter(site=site, status__in=APPROVED)
        .order_by("-decided_on")
        .values_list("decided_on", flat=True)
        .first()
    )


# --- Reassessment -----------------------------------------------------------------------------------------


def reassess(
    site: Site,
    *,
    trigger: str,
    user=None,
    matrix: RiskMatrix | None = None,
    basis: date | None = None,
    today: date | None = None,
) -> RiskAssessment | None:
    """Score the approved site and move its requalification date; a RiskAssessment is appended when the score,
    interval or due date changed (None otherwise, and for a site that is not approved or has no basis)."""
    site = Site.objects.select_related("vendor").get(pk=site.pk)
    if site.qualification not in APPROVED:
        return None
    basis = basis or basis_date(site)
    if basis is None:
        return None
    matrix = matrix or current_matrix()
    factors = site_factors(site, today=today)
    result = risk.score(factors)
    band, months, cap = risk.interval(result.score, matrix.bands, factors.last_outcome)
    due = add_months(basis, months)
    latest = RiskAssessment.objects.filter(site=site).order_by("-created_at", "-pk").first()
    unchanged = (
        latest is not None
        and (latest.score, latest.interval_months, latest.due, latest.matrix_id)
        == (result.score, months, due, matrix.pk)
        and site.requalification_due == due
    )
    if unchanged:
        return None
    assessment = RiskAssessment.objects.create(
        site=site,
        score=result.score,
        band=band["label"],
        interval_months=months,
        basis_date=basis,
        due=due,
        previous_due=site.requalification_due,
        factors=factors.__dict__,
        reasons=[*result.reasons, f"= {result.score}: {band['label']}, {band['months']} months"]
        + ([f"Interval: {cap}"] if cap else []),
        trigger=trigger[:200],
        matrix=matrix,
        assessed_by=user if getattr(user, "is_authenticated", False) else None,
    )
    if site.requalification_due != due:
        site.requalification_due = due
        site.save(update_fields=["requalification_due", "updated_at"])
    # The approved-supplier list shows the same date (its rows were written with the fixed interval).
    SiteQualification.objects.filter(site=site, status__in=APPROVED).exclude(requalification_due=due).update(
        requalification_due=due
    )
    return assessment


def reassess_site_id(site_id: int, *, trigger: str, user=None) -> RiskAssessment | None:
    """For other services (e.g. a performance standing that changed): reassess one site by id."""
    site = Site.objects.filter(pk=site_id).first()
    return reassess(site, trigger=trigger, user=user) if site else None


# --- Receivers (connected in OversightConfig.ready) ---------------------------------------------------------


def on_site_qualified(sender, *, site, audit, outcome, due, user, **kwargs) -> None:
    if outcome in APPROVED:
        reassess(
            site,
            trigger=f"Qualification outcome signed ({outcome.replace('_', ' ')}), audit #{audit.pk}",
            user=user,
            basis=audit.actual_end or timezone.localdate(),
        )


def on_record_saved(sender, instance, **kwargs) -> None:
    """An inspection, warning letter, import alert or CAPA of an approved site changed: its risk may have."""
    site_id = getattr(instance, "site_id", None)
    if site_id is None and isinstance(instance, Capa):
        site_id = Site.objects.filter(audits__findings__capa=instance).values_list("pk", flat=True).first()
    if site_id is None:
        return
    label = sender._meta.verbose_name
    reassess_site_id(site_id, trigger=f"{label[:1].upper()}{label[1:]} #{instance.pk} recorded or changed")


def connect() -> None:
    from django.db.models.signals import post_save

    from audits.signals import site_qualified

    site_qualified.connect(on_site_qualified, dispatch_uid="oversight.requalification.site_qualified")
    for model in (RegulatoryInspection, WarningLetter, ImportAlert, Capa):
        post_save.connect(on_record_saved, sender=model, dispatch_uid=f"oversight.requalification.{model.__name__}")
    # A period's scorecard saved (oversight.performance): the site's standing may have changed.
    post_save.connect(on_scorecard_saved, sender="oversight.Scorecard", dispatch_uid="oversight.requalification.card")


def on_scorecard_saved(sender, instance, **kwargs) -> None:
    standing = instance.get_standing_display() if hasattr(instance, "get_standing_display") else ""
    period = getattr(instance, "period_label", "") or ""
    reassess_site_id(instance.site_id, trigger=f"Performance scorecard {period}: {standing}".strip())


def assessments(site: Site) -> list[RiskAssessment]:
    return list(
        RiskAssessment.objects.filter(site=site).select_related("matrix", "assessed_by").order_by("-created_at", "-pk")
    )
