"""The roles' permissions on audits, findings and CAPAs.

Plain functions of an app registry (`apps`: a migration's historical registry, or django.apps.apps),
idempotent: migration 0002_role_permissions calls them, and so does seed_demo (`load`).
"""

from accounts.roles import grant_permissions

VIEW = ["audits.view_audit", "audits.view_finding", "audits.view_capa"]
ROLE_GRANTS = {
    "Auditor": [
        *VIEW,
        "audits.add_audit",
        "audits.change_audit",
        "audits.add_finding",
        "audits.change_finding",
        "audits.add_capa",
        "audits.change_capa",
    ],
    "Procurement lead": VIEW,
    "Manager": VIEW,
    "Evaluator": VIEW,
}


# Quality assurance reads audits (and the register they concern) and signs qualification outcomes;
# the other roles read the signed outcomes.
VIEW_REGISTER = [
    "vendors.view_vendor",
    "vendors.view_site",
    "vendors.view_contact",
    "vendors.view_regulatoryinspection",
]
QUALITY_GRANTS = {
    "Quality assurance": [*VIEW, "audits.view_qualificationoutcome", *VIEW_REGISTER, "audits.add_qualificationoutcome"],
    "Auditor": ["audits.view_qualificationoutcome"],
    "Procurement lead": ["audits.view_qualificationoutcome"],
    "Manager": ["audits.view_qualificationoutcome"],
    "Evaluator": ["audits.view_qualificationoutcome"],
}


def grant_quality(apps, revoke: bool = False) -> None:
    """Migration 0012_quality_assurance_grants."""
    grant_permissions(apps, QUALITY_GRANTS, revoke=revoke)


def grant_roles(apps, revoke: bool = False) -> None:
    """Migration 0002_role_permissions."""
    grant_permissions(apps, ROLE_GRANTS, revoke=revoke)


def load(apps) -> None:
    grant_roles(apps)
    grant_quality(apps)
