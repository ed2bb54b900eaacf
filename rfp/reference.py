"""Reference data of RFPs: the first version of each kind's template (from rfp.defaults, the domain
brief) and the roles' permissions on RFPs and templates.

Plain functions of an app registry (`apps`: a migration's historical registry, or django.apps.apps),
idempotent: migration 0002_templates_and_roles calls them, and so does seed_demo (`load`).
"""

from accounts.roles import grant_permissions
from rfp.defaults import template_for

KINDS = ("CRO", "CMO", "CDMO", "INTEGRATED")

ROLE_GRANTS = {
    "Procurement lead": [
        "rfp.add_rfp",
        "rfp.change_rfp",
        "rfp.view_rfp",
        "rfp.add_rfptemplate",
        "rfp.view_rfptemplate",
    ],
    "Evaluator": ["rfp.view_rfp"],
    "Manager": ["rfp.view_rfp", "rfp.view_rfptemplate"],
}


def grant_roles(apps, revoke: bool = False) -> None:
    grant_permissions(apps, ROLE_GRANTS, revoke=revoke)


# Quality assurance reads RFPs (the quality and regulatory sections vendors answer), like managers.
QUALITY_GRANTS = {"Quality assurance": ["rfp.view_rfp", "rfp.view_rfptemplate"]}


def grant_quality(apps, revoke: bool = False) -> None:
    """Migration 0006_quality_assurance_reads."""
    grant_permissions(apps, QUALITY_GRANTS, revoke=revoke)


def seed_templates(apps) -> None:
    """Version 1 of every kind that has no template yet (a revised template is never touched)."""
    RfpTemplate = apps.get_model("rfp", "RfpTemplate")
    for kind in KINDS:
        if not RfpTemplate.objects.filter(kind=kind).exists():
            RfpTemplate.objects.create(
                kind=kind, version=1, change_note="Seeded from the domain brief.", **template_for(kind)
            )


def load(apps) -> None:
    grant_quality(apps)
    grant_roles(apps)
    seed_templates(apps)
