"""Reads of RFPs for the pages outside the RFP views (the lead's home)."""

from datetime import timedelta

from django.db.models import Count, Max, OuterRef, Q

from core.queries import count_of
from rfp import bidding
from rfp.models import Invitation, PacketDownload, Participation, Proposal, Question, Rfp
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


def vendor_status(rfp: Rfp) -> list[dict]:
    """Per chosen vendor, what happened in the portal: invitations, sign-ins, downloads, intent,
    questions, deadline and submission time (never what was submitted). A fixed number of queries."""
    candidates = list(bidding.invitable_candidates(rfp))
    invitations: dict[int, list] = {}
    for invitation in Invitation.objects.filter(rfp=rfp).order_by("email", "pk"):
        invitations.setdefault(invitation.candidate_id, []).append(invitation)
    participations = {p.candidate_id: p for p in Participation.objects.filter(rfp=rfp)}
    downloads = {
        row["invitation__candidate_id"]: row
        for row in PacketDownload.objects.filter(invitation__rfp=rfp)
        .values("invitation__candidate_id")
        .annotate(count=Count("pk"), last=Max("downloaded_at"))
    }
    questions = {
        row["candidate_id"]: row
        for row in Question.objects.filter(rfp=rfp)
        .values("candidate_id")
        .annotate(count=Count("pk"), open=Count("pk", filter=Q(answer="")))
    }
    submitted = bidding.submissions(rfp)
    rows = []
    for candidate in candidates:
        participation = participations.get(candidate.pk)
        rows.append(
            {
                "candidate": candidate,
                "invitations": invitations.get(candidate.pk, []),
                "participation": participation,
                "deadline": bidding.vendor_deadline(rfp, participation),
                "downloads": downloads.get(candidate.pk, {}).get("count", 0),
                "last_download": downloads.get(candidate.pk, {}).get("last"),
                "questions": questions.get(candidate.pk, {}).get("count", 0),
                "open_questions": questions.get(candidate.pk, {}).get("open", 0),
                "submitted_at": submitted.get(candidate.pk),
            }
        )
    return rows
