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


def visible_capas(user) -> QuerySet[Capa]:
    return Capa.objects.filter(finding__audit__in=visible_audits(user).values("pk"))
