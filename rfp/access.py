"""Who may see and do what with RFPs: the evaluation's team and managers see them (as they see the
evaluation); the evaluation's lead creates, generates, sends and records proposals."""

from django.db.models import QuerySet

from rfp.models import Rfp
from scoring.access import is_lead, visible_evaluations


def visible_rfps(user) -> QuerySet[Rfp]:
    return Rfp.objects.filter(shortlist__evaluation__in=visible_evaluations(user))


def can_manage(user, shortlist) -> bool:
    return is_lead(user, shortlist.evaluation) and user.has_perm("rfp.add_rfp")
