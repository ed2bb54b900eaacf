"""Reads of RFPs for the pages outside the RFP views (the lead's home)."""

from datetime import timedelta

from django.db.models import OuterRef, Q

from core.queries import count_of
from rfp.models import Proposal, Rfp
from scoring.models import Shortlist


def rfp_deadlines(user, today, horizon_days: int = 45, limit: int = 8) -> list[dict]:
    """The next dates of the lead's RFPs within horizon_days (questions, proposals, presentations, award),
    soonest first. One query."""
    horizon = today + timedelta(days=horizon_days)
    fields = [
        ("questions_due", "Questions due"),
        ("proposal_due", "Proposals due"),
        ("presentations", "Presentations"),
        ("award_decision", "Award decision"),
    ]
    window = Q()
    for field, _ in fields:
        window |= Q(**{f"{field}__gte": today, f"{field}__lte": horizon})
    rfps = (
        Rfp.objects.filter(Q(created_by=user) | Q(shortlist__evaluation__lead=user))
        .filter(window)
        .annotate(proposal_count=count_of(Proposal.objects.filter(rfp=OuterRef("pk")), "rfp"))
        .distinct()
        .order_by("proposal_due", "pk")[:limit]
    )
    deadlines = []
    for rfp in rfps:
        for field, label in fields:
            day = getattr(rfp, field)
            if day and today <= day <= horizon:
                deadlines.append({"rfp": rfp, "label": label, "date": day, "days": (day - today).days})
                break  # the next date of each RFP
    return sorted(deadlines, key=lambda d: d["date"])


def approved_without_rfp(user, limit: int = 5) -> list[Shortlist]:
    """The lead's approved shortlists that have no RFP yet, latest decision first."""
    return list(
        Shortlist.objects.filter(evaluation__lead=user, status=Shortlist.Status.APPROVED, rfps__isnull=True)
        .select_related("evaluation")
        .order_by("-decided_at")[:limit]
    )
