"""Reference data of RFPs: the templates of each kind (from rfp.defaults, the domain brief: version 1
and the packet texts shipped since) and the roles' permissions on RFPs and templates.

Plain functions of an app registry (`apps`: a migration's historical registry, or django.apps.apps),
idempotent: the migrations that introduced each piece call them (0002_templates_and_roles,
0008_packet_texts), and so does seed_demo (`load`).
"""

from accounts.roles import grant_permissions
from rfp.defaults import CHANGE_NOTE, first_version, template_for

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
                kind=kind, version=1, change_note="Seeded from the domain brief.", **first_version(kind)
            )


def seed_packet_texts(apps) -> None:
    """Migration 0008_packet_texts: the current texts (rfp.defaults.template_for) as the next version of
    every kind that holds no version with exactly these sections and questions yet. Older versions stay
    (packets point at the version they used). Idempotent: once the shipped texts are in, a later call
    (seed_demo) adds nothing, and a user's later revision stays the current one."""
    RfpTemplate = apps.get_model("rfp", "RfpTemplate")
    for kind in KINDS:
        texts = template_for(kind)
        versions = RfpTemplate.objects.filter(kind=kind)
        if any(
            row.sections == texts["sections"] and row.questions == texts["questions"]
            for row in versions.only("sections", "questions")
        ):
            continue
        latest = versions.order_by("-version").values_list("version", flat=True).first() or 0
        RfpTemplate.objects.create(kind=kind, version=latest + 1, change_note=CHANGE_NOTE, **texts)


def load(apps) -> None:
    grant_quality(apps)
    grant_roles(apps)
    seed_templates(apps)
    seed_packet_texts(apps)
