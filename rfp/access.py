"""Who may see and do what with RFPs: the evaluation's team and managers see them (as they see the
evaluation); the evaluation's lead creates, generates, sends and records proposals."""

from django.db.models import QuerySet

from rfp.models import Packet, Rfp
from scoring.access import is_lead, visible_evaluations


def visible_rfps(user) -> QuerySet[Rfp]:
    return Rfp.objects.filter(shortlist__evaluation__in=visible_evaluations(user))


def can_manage(user, shortlist) -> bool:
    return is_lead(user, shortlist.evaluation) and user.has_perm("rfp.add_rfp")


def closed_refusal(rfp_or_shortlist) -> str | None:
    """Why the lead may no longer change an RFP: its award was approved and closed it (a record now)."""
    closed_at = getattr(rfp_or_shortlist, "closed_at", None)
    if closed_at is None:
        return None
    return f"The RFP was closed by its approved award on {closed_at:%d %B %Y}; it can no longer change."


def page_flags(user, rfp: Rfp, packets=()) -> dict:
    """What the RFP page offers `user`, for the template: every operation is the lead's (the services
    check the same rules again). `packets`: the latest packet per vendor (services.progress)."""
    manage = can_manage(user, rfp.shortlist) and rfp.closed_at is None
    return {
        "manage": manage,  # edit, generate, attach, record proposals and questions, answer, upload
        "retry": {p.pk for p in packets if manage and (p.status == Packet.Status.FAILED or getattr(p, "stuck", False))},
    }
