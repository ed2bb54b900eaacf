"""Reads of audits that several places share: what a signature covers, and the signature manifest."""

from __future__ import annotations

from accounts import signatures
from audits.models import Audit, Finding


def audit_snapshot(audit: Audit) -> dict:
    """What the lead auditor signs: the report's facts, team, outcome and every finding as recorded."""
    return {
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
