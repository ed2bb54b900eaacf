"""Reads of the register, shaped so that a page or an API list costs a fixed number of queries."""

from collections.abc import Iterable
from datetime import date, timedelta

from django.db.models import Count, F, IntegerField, OuterRef, Prefetch, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from vendors.models import (
    Agency,
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


def _per_site(sites: Iterable[int] | QuerySet[Site]) -> tuple[dict, dict[int, list]]:
    """The filter of a site's records for `sites` and the result to fill: ids give an entry to every
    id (an empty list when nothing is found); a Site queryset is read as a subquery (no long list
    of parameters to send) and gives entries to the sites that have rows only."""
    if isinstance(sites, QuerySet):
        return {"site__in": sites.values("pk")}, {}
    ids = list(dict.fromkeys(sites))
    return {"site_id__in": ids}, {pk: [] for pk in ids}


def site_red_flags(
    sites: Iterable[int] | QuerySet[Site], since: date | None, *, inspections: bool = True
) -> dict[int, list[dict]]:
    """The regulatory red flags of each site (see `_per_site` for `sites`), the one reading of them
    for the site page and for the ranking's gates and regulatory cap.

    A flag is an OAI inspection or one that led to a warning letter (with `inspections`), an FDA
    warning letter, an FDA import alert or a statement of non-compliance, dated on or after `since`
    or still in force (a letter not closed out, an alert not removed, a statement without an end or
    valid until today or later). `since=None` reads every record, whatever its date: the ranking
    applies each gate's own window (`scoring.evidence.red_flags`) and reads the inspections itself.

    Plain dicts, newest first: kind, date, active (still in force), label, and open for a warning
    letter; one query per kind of record (four, three without inspections), whatever the number of sites.
    """
    on_sites, flags = _per_site(sites)
    if on_sites.get("site_id__in") == []:
        return flags
    today = timezone.localdate()

    def window(field: str, in_force: Q | None = None) -> Q:
        """Dated on or after `since` (or still in force); every record when `since` is None."""
        if since is None:
            return Q()
        dated = Q(**{f"{field}__gte": since})
        return dated if in_force is None else dated | in_force

    if inspections:
        inspected = RegulatoryInspection.objects.filter(
            Q(classification=RegulatoryInspection.Classification.OAI) | Q(warning_letter=True),
            window("end_date"),
            **on_sites,
        )
        fields = ("agency", "end_date", "classification", "form_483_observations", "warning_letter")
        for site_id, agency, end_date, classification, observations, letter, wording in inspected.values_list(
            "site_id", *fields, "agency_classification"
        ):
            extra = ""
            if agency == RegulatoryInspection.Agency.FDA:
                extra = ", obs. unknown" if observations is None else f", {observations} obs."
            flags.setdefault(site_id, []).append(
                {
                    "kind": "oai_inspection"
                    if classification == RegulatoryInspection.Classification.OAI
                    else "inspection_warning_letter",
                    "date": end_date,
                    "active": False,
                    "label": f"{agency} inspection {end_date.isoformat()}: {classification}{extra}"
                    + (", warning letter" if letter else "")
                    + (f" ({wording})" if wording else ""),
                }
            )
    letters = WarningLetter.objects.filter(window("issued_on", Q(closed_on__isnull=True)), **on_sites)
    for site_id, issued_on, subject, closed_on in letters.values_list("site_id", "issued_on", "subject", "closed_on"):
        state = " (open)" if closed_on is None else f" (closed {closed_on.isoformat()})"
        flags.setdefault(site_id, []).append(
            {
                "kind": "warning_letter",
                "date": issued_on,
                "active": closed_on is None,
                "label": f"FDA warning letter {issued_on.isoformat()}: {subject}{state}",
                "open": closed_on is None,
            }
        )
    in_force = Q(status=ImportAlert.Status.ACTIVE, removed_on__isnull=True)
    alerts = ImportAlert.objects.filter(window("listed_on", in_force), **on_sites)
    for site_id, number, status, listed_on, removed_on in alerts.values_list(
        "site_id", "number", "status", "listed_on", "removed_on"
    ):
        active = status == ImportAlert.Status.ACTIVE and removed_on is None
        if active:
            label = f"FDA import alert {number}: listed since {listed_on.isoformat()}"
        else:
            removed = f" {removed_on.isoformat()}" if removed_on else ""
            label = f"FDA import alert {number}: listed {listed_on.isoformat()}, removed{removed}"
        flags.setdefault(site_id, []).append(
            {"kind": "import_alert", "date": listed_on, "active": active, "label": label}
        )
    statements = GmpCertificate.objects.filter(
        window("issued_on", Q(valid_until__isnull=True) | Q(valid_until__gte=today)),
        kind=GmpCertificate.Kind.NON_COMPLIANCE,
        **on_sites,
    )
    authorities = dict(Agency.choices)
    for site_id, authority, number, issued_on, valid_until in statements.values_list(
        "site_id", "authority", "number", "issued_on", "valid_until"
    ):
        flags.setdefault(site_id, []).append(
            {
                "kind": "non_compliance",
                "date": issued_on,
                "active": valid_until is None or valid_until >= today,
                "label": f"{authorities.get(authority, authority)} statement of non-compliance "
                f"{issued_on.isoformat()}: {number}"
                + (f" (valid until {valid_until.isoformat()})" if valid_until else ""),
            }
        )
    for items in flags.values():
        items.sort(key=lambda flag: flag["date"], reverse=True)
    return flags


def site_qualifications(sites: Iterable[int] | QuerySet[Site]) -> dict[int, list[dict]]:
    """Per site (see `_per_site` for `sites`): its approved-supplier rows, the site-wide one (activity
    None) first; one query."""
    on_sites, result = _per_site(sites)
    if on_sites.get("site_id__in") == []:
        return result
    rows = (
        SiteQualification.objects.filter(**on_sites)
        .order_by("site_id", F("activity__position").asc(nulls_first=True), "activity__name")
        .values_list("site_id", "activity__code", "status", "decided_on", "requalification_due")
    )
    for site_id, activity, status, decided_on, due in rows:
        result.setdefault(site_id, []).append(
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
