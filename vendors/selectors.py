"""Reads of the register, shaped so that a page or an API list costs a fixed number of queries."""

from datetime import timedelta

from django.db.models import Count, IntegerField, OuterRef, Prefetch, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from vendors.models import RegulatoryInspection, Site, Vendor

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
