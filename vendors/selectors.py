"""Reads of the register, shaped so that a page or an API list costs a fixed number of queries."""

from collections.abc import Iterable
from datetime import date, timedelta

from django.db.models import Count, F, IntegerField, OuterRef, Prefetch, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from vendors.models import (
    GmpCertificate,
    ImportAlert,
    RegulatoryInspection,
    Site,
    SiteQualification,
    Vendor,
    WarningLetter,
)

RECENT_YEARS = 5


def _count(queryset, group_by: str) -> Coalesce:
    # A correlated subquery, not Count() over a join: list filters add joins of their own.
    counted = queryset.values(group_by).annotate(n=Count("pk")).values("n")[:1]
    return Coalesce(Subquery(counted, output_field=IntegerField()), Value(0))


def red_flag_since():
    return timezone.localdate() - timedelta(days=365 * RECENT_YEARS)


def vendor_list() -> QuerySet[Vendor]:
    since = red_flag_since()
    inspections = RegulatoryInspection.objects.filter(site__vendor=OuterRef("pk"))
    latest = inspections.order_by("-end_date", "-pk")
    return (
        Vendor.objects.annotate(
            site_count=_count(Site.objects.filter(vendor=OuterRef("pk")), "vendor"),
            last_inspection=Subquery(latest.values("end_date")[:1]),
            last_classification=Subquery(latest.values("classification")[:1]),
            recent_red_flags=_count(
                inspections.filter(Q(classification="OAI") | Q(warning_letter=True), end_date__gte=since),
                "site__vendor",
            ),
        )
        .prefetch_related("kinds")
        .order_by("name")
    )


def vendor_detail(pk: int) -> Vendor:
    sites = Site.objects.prefetch_related(
        "capabilities", Prefetch("inspections", RegulatoryInspection.objects.order_by("-end_date", "-pk"))
    )
    return (
        Vendor.objects.select_related("created_by")
        .prefetch_related(
            "kinds", "services", "modalities", "dosage_forms", "phases", "contacts", Prefetch("sites", sites)
        )
        .get(pk=pk)
    )


def inspection_list() -> QuerySet[RegulatoryInspection]:
    return RegulatoryInspection.objects.select_related("site__vendor").order_by("-end_date", "-pk")


def requalification_due(days: int = 90, limit: int = 8) -> QuerySet[Site]:
    """Sites whose requalification audit falls due within `days` (or is already late)."""
    horizon = timezone.localdate() + timedelta(days=days)
    return (
        Site.objects.select_related("vendor")
        .filter(requalification_due__lte=horizon)
        .order_by("requalification_due")[:limit]
    )


def register_summary() -> dict:
    """Figures for the home dashboard, in two queries."""
    by_status = dict(Vendor.objects.values_list("status").annotate(n=Count("pk")).values_list("status", "n"))
    since = red_flag_since()
    flags = RegulatoryInspection.objects.filter(end_date__gte=since).aggregate(
        oai=Count("pk", filter=Q(classification="OAI")),
        warning_letters=Count("pk", filter=Q(warning_letter=True)),
        total=Count("pk"),
    )
    return {
        "by_status": [(label, by_status.get(value, 0), value) for value, label in Vendor.Status.choices],
        "vendor_total": sum(by_status.values()),
        "approved": by_status.get(Vendor.Status.APPROVED, 0) + by_status.get(Vendor.Status.CONDITIONALLY_APPROVED, 0),
        "recent": flags,
    }


# --- Regulatory red flags and the approved-supplier list, per site ------------------------------


def site_red_flags(site_ids: Iterable[int], since: date) -> dict[int, list[dict]]:
    """Per site (every id given, empty list when clean): its OAI inspections since `since`, FDA
    warning letters issued since then or not closed, active import alerts, and statements of
    non-compliance issued since then or still valid. Plain dicts (kind, date, label), newest first;
    four queries whatever the number of sites."""
    site_ids = list(dict.fromkeys(site_ids))
    flags: dict[int, list[dict]] = {pk: [] for pk in site_ids}
    if not site_ids:
        return flags
    today = timezone.localdate()
    for site_id, agency, end_date, observations, wording in RegulatoryInspection.objects.filter(
        site_id__in=site_ids, classification=RegulatoryInspection.Classification.OAI, end_date__gte=since
    ).values_list("site_id", "agency", "end_date", "form_483_observations", "agency_classification"):
        extra = ""
        if agency == RegulatoryInspection.Agency.FDA:
            extra = ", obs. unknown" if observations is None else f", {observations} obs."
        flags[site_id].append(
            {
                "kind": "oai_inspection",
                "date": end_date,
                "label": f"{agency} inspection {end_date:%Y-%m-%d}: OAI{extra}" + (f" ({wording})" if wording else ""),
            }
        )
    for site_id, issued_on, subject, closed_on in WarningLetter.objects.filter(
        Q(issued_on__gte=since) | Q(closed_on__isnull=True), site_id__in=site_ids
    ).values_list("site_id", "issued_on", "subject", "closed_on"):
        state = " (open)" if closed_on is None else f" (closed {closed_on:%Y-%m-%d})"
        flags[site_id].append(
            {
                "kind": "warning_letter",
                "date": issued_on,
                "label": f"FDA warning letter {issued_on:%Y-%m-%d}: {subject}{state}",
                "open": closed_on is None,
            }
        )
    for site_id, number, listed_on in ImportAlert.objects.filter(
        site_id__in=site_ids, status=ImportAlert.Status.ACTIVE, removed_on__isnull=True
    ).values_list("site_id", "number", "listed_on"):
        flags[site_id].append(
            {
                "kind": "import_alert",
                "date": listed_on,
                "label": f"FDA import alert {number}: listed since {listed_on:%Y-%m-%d}",
            }
        )
    for site_id, authority, number, issued_on, valid_until in GmpCertificate.objects.filter(
        Q(issued_on__gte=since) | Q(valid_until__isnull=True) | Q(valid_until__gte=today),
        site_id__in=site_ids,
        kind=GmpCertificate.Kind.NON_COMPLIANCE,
    ).values_list("site_id", "authority", "number", "issued_on", "valid_until"):
        authority_label = dict(GmpCertificate._meta.get_field("authority").choices).get(authority, authority)
        flags[site_id].append(
            {
                "kind": "non_compliance",
                "date": issued_on,
                "label": f"{authority_label} statement of non-compliance {issued_on:%Y-%m-%d}: {number}"
                + (f" (valid until {valid_until:%Y-%m-%d})" if valid_until else ""),
            }
        )
    for items in flags.values():
        items.sort(key=lambda flag: flag["date"], reverse=True)
    return flags


def site_qualifications(site_ids: Iterable[int]) -> dict[int, list[dict]]:
    """Per site (every id given): its approved-supplier rows, the site-wide one (activity None) first;
    one query."""
    site_ids = list(dict.fromkeys(site_ids))
    result: dict[int, list[dict]] = {pk: [] for pk in site_ids}
    if not site_ids:
        return result
    rows = (
        SiteQualification.objects.filter(site_id__in=site_ids)
        .order_by("site_id", F("activity__position").asc(nulls_first=True), "activity__name")
        .values_list("site_id", "activity__code", "status", "decided_on", "requalification_due")
    )
    for site_id, activity, status, decided_on, due in rows:
        result[site_id].append(
            {"activity": activity, "status": status, "decided_on": decided_on, "requalification_due": due}
        )
    return result


def qualification_table(site_ids: Iterable[int]) -> list[SiteQualification]:
    """The approved-supplier rows of the given sites for a page table (site, activity, decided by): one query."""
    return list(
        SiteQualification.objects.filter(site_id__in=list(site_ids))
        .select_related("site", "activity", "decided_by")
        .order_by("site__name", F("activity__position").asc(nulls_first=True), "activity__name")
    )
