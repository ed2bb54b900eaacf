"""Who sees audits: auditors, procurement and managers read all; evaluators read the audits of
vendors that are candidates in their evaluations. Only the audit's auditors change it."""

from django.db.models import Q, QuerySet

from accounts.roles import AUDITOR, MANAGER, PROCUREMENT_LEAD, user_roles
from audits.models import Audit, Capa


def visible_audits(user) -> QuerySet[Audit]:
    roles = set(user_roles(user))
    if roles & {AUDITOR, MANAGER, PROCUREMENT_LEAD}:
        return Audit.objects.all()
    if not user.is_authenticated:
        return Audit.objects.none()
    in_team = Q(site__vendor__candidacies__evaluation__evaluators=user) | Q(
        site__vendor__candidacies__evaluation__lead=user
    )
    return Audit.objects.filter(in_team).distinct()


def can_plan(user) -> bool:
    return user.has_perm("audits.add_audit")


def can_edit(user, audit: Audit) -> bool:
    """The audit's auditors (lead and co-auditors) record findings and follow up CAPA."""
    return user.has_perm("audits.change_audit") and (
        audit.lead_auditor_id == user.pk or audit.co_auditors.filter(pk=user.pk).exists()
    )


def may_act(user, audit: Audit, who: str) -> bool:
    """who: "lead" (stages, outcome, signature, amendments) or "auditors" (findings)."""
    if who == "lead":
        return audit.lead_auditor_id == user.pk and user.has_perm("audits.change_audit")
    return can_edit(user, audit)


def visible_capas(user) -> QuerySet[Capa]:
    return Capa.objects.filter(finding__audit__in=visible_audits(user).values("pk"))
