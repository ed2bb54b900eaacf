"""The roles' permissions on evaluations and shortlists.

Plain functions of an app registry (`apps`: a migration's historical registry, or django.apps.apps),
idempotent: the migrations that introduced each grant call them, and so does seed_demo (`load`).
"""

from accounts.roles import grant_permissions

ROLE_GRANTS = {
    "Procurement lead": ["scoring.add_evaluation", "scoring.change_evaluation", "scoring.view_evaluation"],
    "Evaluator": ["scoring.view_evaluation"],
    "Manager": ["scoring.view_evaluation"],
}

SHORTLIST_GRANTS = {
    "Procurement lead": ["scoring.add_shortlist", "scoring.view_shortlist"],
    "Evaluator": ["scoring.view_shortlist"],
    "Manager": ["scoring.view_shortlist", "scoring.decide_shortlist"],
}


# Quality assurance reads every evaluation and signs shortlists "Approved for quality".
QUALITY_GRANTS = {
    "Quality assurance": ["scoring.view_evaluation", "scoring.view_shortlist", "scoring.decide_shortlist"],
}


def grant_roles(apps, revoke: bool = False) -> None:
    """Migration 0002_role_permissions."""
    grant_permissions(apps, ROLE_GRANTS, revoke=revoke)


def grant_shortlists(apps, revoke: bool = False) -> None:
    """Migration 0006_shortlist_permissions."""
    grant_permissions(apps, SHORTLIST_GRANTS, revoke=revoke)


def grant_quality(apps, revoke: bool = False) -> None:
    """Migration 0012_quality_assurance_approval."""
    grant_permissions(apps, QUALITY_GRANTS, revoke=revoke)


def load(apps) -> None:
    grant_roles(apps)
    grant_shortlists(apps)
    grant_quality(apps)
