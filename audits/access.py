"""Who sees audits: auditors, procurement, managers and QA read all; evaluators read the audits of
vendors that are candidates in their evaluations. Only the audit's auditors change it; QA, independent
of the audit team, signs the qualification outcome once the report is signed."""

from django.db.models import Q, QuerySet

from accounts.roles import AUDITOR, MANAGER, PROCUREMENT_LEAD, QA, user_roles
from audits.models import SIGNED_STATES, Audit, Capa


def visible_audits(user) -> QuerySet[Audit]:
    roles = set(user_roles(user))
    if roles & {AUDITOR, MANAGER, PROCUREMENT_LEAD, QA}:
        return Audit.objects.all()
    if not user.is_authenticated:
        return Audit.objects.none()
    in_team = Q(site__vendor__candidacies__evaluation__evaluators=user) | Q(
        site__vendor__candidacies__evaluation__lead=user
    )
    return Audit.objects.filter(in_team).distinct()


def can_plan(user) -> bool:
    return user.has_perm("audits.add_audit")


def _in_team(user, audit: Audit) -> bool:
    return audit.lead_auditor_id == user.pk or audit.co_auditors.filter(pk=user.pk).exists()


def can_edit(user, audit: Audit) -> bool:
    """The audit's auditors (lead and co-auditors) record findings and follow up CAPA."""
    return user.has_perm("audits.change_audit") and _in_team(user, audit)


def is_lead(user, audit: Audit) -> bool:
    """The lead auditor moves the audit through its stages and signs the report."""
    return audit.lead_auditor_id == user.pk and user.has_perm("audits.change_audit")


def can_sign_outcome(user) -> bool:
    """Quality assurance signs qualification outcomes (the role's permission)."""
    return user.has_perm("audits.add_qualificationoutcome")


def is_independent(user, audit: Audit) -> bool:
    """The outcome is decided by someone outside the audit team (neither lead nor co-auditor)."""
    return not _in_team(user, audit)


def may_act(user, audit: Audit, who: str) -> bool:
    """who: "lead" (stages, signature, amendments), "auditors" (findings, evidence, report PDF) or
    "qa" (the signed qualification outcome: QA outside the audit team)."""
    if who == "lead":
        return is_lead(user, audit)
    if who == "qa":
        return can_sign_outcome(user) and is_independent(user, audit)
    return can_edit(user, audit)


def page_flags(user, audit: Audit) -> dict[str, bool]:
    """What the audit page offers this user, from the same rules the services apply (the services check
    again: a flag only decides what is shown)."""
    auditor = can_edit(user, audit)
    lead = is_lead(user, audit)
    status = audit.status
    signed = status in SIGNED_STATES
    return {
        "can_edit": auditor,
        "is_lead": lead,
        "can_change_stage": lead,
        "can_add_finding": auditor and status in (Audit.Status.IN_PROGRESS, Audit.Status.REPORT_DRAFTED),
        "can_attach": auditor,
        "can_sign": lead and status == Audit.Status.REPORT_DRAFTED,
        "can_write_report": lead and not signed,
        "can_amend": auditor and signed,
        "can_request_report": auditor and status not in (Audit.Status.PLANNED, Audit.Status.IN_PROGRESS),
        "can_record_outcome": signed and may_act(user, audit, "qa"),
        "awaits_outcome": signed and not audit.current_outcome,
    }


def visible_capas(user) -> QuerySet[Capa]:
    return Capa.objects.filter(finding__audit__in=visible_audits(user).values("pk"))
