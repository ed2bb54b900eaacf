"""Reads of audits that several places share: what a signature covers, and the signature manifest."""

from __future__ import annotations

from django.db.models import Count, Q
from django.utils import timezone

from accounts import signatures
from audits.models import Audit, Capa, Finding

# The report's written parts (scope statement, summary, attendees, distribution, recommendation). A signed
# snapshot names each only when it is filled in, so reports signed before these parts existed still verify
# (their snapshots have none of them), and filling one in or clearing it after signing still breaks the seal.
REPORT_PARTS = (
    "scope_description",
    "summary",
    "attendees_sponsor",
    "attendees_vendor",
    "distribution",
    "recommended_outcome",
    "recommendation_conditions",
)


def audit_snapshot(audit: Audit) -> dict:
    """What the lead auditor signs: the report's facts, team, written parts, recommendation and every
    finding as recorded."""
    return {
        **{part: getattr(audit, part) for part in REPORT_PARTS if getattr(audit, part)},
        "site": audit.site_id,
        "type": audit.type,
        "planned_start": audit.planned_start.isoformat() if audit.planned_start else None,
        "planned_end": audit.planned_end.isoformat() if audit.planned_end else None,
        "actual_start": audit.actual_start.isoformat() if audit.actual_start else None,
        "actual_end": audit.actual_end.isoformat() if audit.actual_end else None,
        "lead_auditor": audit.lead_auditor_id,
        "co_auditors": sorted(
            Audit.co_auditors.through.objects.filter(audit_id=audit.pk).values_list("user_id", flat=True)
        ),
        "scope": audit.scope,
        "agenda": audit.agenda,
        "outcome": audit.outcome,
        "findings": [
            [f.number, f.severity, f.area, f.regulation_reference, f.description, f.capa_required]
            for f in Finding.objects.filter(audit_id=audit.pk).order_by("number")
        ],
    }


def signature_manifest(audit: Audit) -> list[dict]:
    current = audit_snapshot(audit)
    return [
        {
            "printed_name": s.printed_name,
            "username": s.signer.username,
            "signed_at": s.signed_at,
            "meaning": s.get_meaning_display(),
            "hash": s.record_hash,
            "valid": signatures.is_valid(s, audit, current),
        }
        for s in signatures.signatures_for(audit).select_related("signer")
    ]


# The auditor's home: what waits for them, in a fixed number of queries.

NEXT_STEP = {
    Audit.Status.PLANNED: "Start the audit when it begins",
    Audit.Status.IN_PROGRESS: "Record findings, then mark the report drafted",
    Audit.Status.REPORT_DRAFTED: "Write the report and its recommendation, then sign it",
    Audit.Status.SIGNED: "Every CAPA is verified: close the audit",
}


def auditor_tasks(user, limit: int = 10) -> dict:
    """The audits of this auditor's team still to carry through (planned, in progress, drafted, or signed with
    every CAPA done: ready to close), their overdue CAPAs, overdue first, and how many there are. Three queries."""
    today = timezone.localdate()
    team = Q(lead_auditor=user) | Q(co_auditors=user)
    open_capas = Count("findings__capa", filter=~Q(findings__capa__status__in=Capa.DONE), distinct=True)
    audits: list[Audit] = list(
        Audit.objects.filter(team)
        .filter(
            status__in=[
                Audit.Status.PLANNED,
                Audit.Status.IN_PROGRESS,
                Audit.Status.REPORT_DRAFTED,
                Audit.Status.SIGNED,
            ]
        )
        .annotate(open_capas=open_capas)
        .exclude(status=Audit.Status.SIGNED, open_capas__gt=0)
        .select_related("site__vendor")
        .distinct()
        .order_by("planned_start", "pk")[:limit]
    )
    overdue = (
        Capa.objects.filter(finding__audit__in=Audit.objects.filter(team).values("pk"))
        .exclude(status__in=Capa.DONE)
        .filter(due_date__lt=today)
        .select_related("finding__audit__site__vendor")
        .order_by("due_date", "pk")
    )
    overdue_list = list(overdue[: limit + 1])
    return {
        "audits": [
            {"audit": audit, "next_step": NEXT_STEP[audit.status], "is_lead": audit.lead_auditor_id == user.pk}
            for audit in audits
        ],
        "overdue_capas": overdue_list[:limit],
        "overdue_more": len(overdue_list) > limit,
    }


def awaiting_outcome(limit: int = 10) -> list[Audit]:
    """Signed reports whose site outcome quality assurance has not signed yet, latest audit first. One query."""
    return list(
        Audit.objects.filter(status__in=[Audit.Status.SIGNED, Audit.Status.CLOSED], outcomes__isnull=True)
        .select_related("site__vendor")
        .order_by("-actual_end")[:limit]
    )
