"""The home page (each role's tasks, then the register at a glance) and the audit-trail pages."""

from datetime import timedelta

from django.apps import apps
from django.contrib.auth.decorators import login_required, permission_required
from django.core.paginator import Paginator
from django.db.models import F, Func, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.template.loader import render_to_string
from django.utils import timezone
from django.views.decorators.http import require_GET

from accounts.roles import AUDITOR, EVALUATOR, MANAGER, PROCUREMENT_LEAD, QA, ROLE_SLUGS, user_roles
from audits import selectors as audit_selectors
from audits.access import visible_audits
from audits.models import Audit
from core import trail
from core.pdf import render_pdf
from core.tabular import table_response
from rfp.access import visible_rfps
from rfp.models import Proposal, Rfp
from scoring import shortlists
from scoring.access import blind_evaluations, visible_evaluations
from scoring.models import Candidate, Criterion, Evaluation, Score, Shortlist, Submission
from vendors import selectors as vendor_selectors
from vendorselect.forms import TrailSearchForm

# --- Home: each role's tasks first, then the register at a glance ------------------------------------

RFP_HORIZON_DAYS = 45


def _count(queryset, field: str = "pk"):
    """A correlated COUNT subquery (one query for the whole list instead of one per row)."""
    return Coalesce(
        Subquery(queryset.order_by().values(field).annotate(n=Func(F("pk"), function="COUNT")).values("n")[:1]),
        0,
    )


def _lead_evaluations(user, limit: int = 10) -> list[Evaluation]:
    """The lead's open evaluations with what each needs next, those that need the lead first. One query."""
    latest = Shortlist.objects.filter(evaluation=OuterRef("pk")).order_by("-version")
    evaluations = list(
        Evaluation.objects.filter(lead=user)
        .exclude(status=Evaluation.Status.CLOSED)
        .annotate(
            evaluator_count=_count(
                Evaluation.evaluators.through.objects.filter(evaluation_id=OuterRef("pk")), "evaluation_id"
            ),
            submitted_count=_count(Submission.objects.filter(evaluation=OuterRef("pk")), "evaluation"),
            candidate_count=_count(Candidate.objects.filter(evaluation=OuterRef("pk")), "evaluation"),
            shortlist_status=Subquery(latest.values("status")[:1]),
            shortlist_id=Subquery(latest.values("pk")[:1]),
        )
        .order_by("-updated_at")[: limit * 2]
    )
    for e in evaluations:
        e.needs_action, e.next_step = _evaluation_next_step(e)
    evaluations.sort(key=lambda e: not e.needs_action)  # stable: most recently changed first within each group
    return evaluations[:limit]


def _evaluation_next_step(e: Evaluation) -> tuple[bool, str]:
    """(whether the lead must act, what comes next) for an open evaluation annotated by _lead_evaluations."""
    if e.status == Evaluation.Status.DRAFT:
        if not e.candidate_count or not e.evaluator_count:
            return True, "Add candidates and evaluators, set the weights, then start scoring."
        return True, "Check criteria and weights, then start scoring."
    if e.status == Evaluation.Status.SCORING:
        if e.evaluator_count and e.submitted_count >= e.evaluator_count:
            return True, "Every evaluator has submitted: move to review."
        return False, f"Scoring: {e.submitted_count} of {e.evaluator_count} evaluators have submitted."
    status = e.shortlist_status
    if status in (None, Shortlist.Status.DRAFT):
        return True, "Propose the shortlist from the ranking."
    if status == Shortlist.Status.RETURNED:
        return True, "The shortlist was returned for changes: revise it and submit a new version."
    if status == Shortlist.Status.REJECTED:
        return True, "The shortlist was rejected: propose a new version or close the evaluation."
    if status == Shortlist.Status.APPROVED:
        return True, "The shortlist is approved: issue the RFP."
    return False, "The shortlist awaits its approvers' signatures."


def _rfp_deadlines(user, today, limit: int = 8) -> list[dict]:
    """The next dates of the lead's RFPs within RFP_HORIZON_DAYS (questions, proposals, presentations, award),
    soonest first. One query."""
    horizon = today + timedelta(days=RFP_HORIZON_DAYS)
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
        .annotate(proposal_count=_count(Proposal.objects.filter(rfp=OuterRef("pk")), "rfp"))
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


def _approved_without_rfp(user, limit: int = 5) -> list[Shortlist]:
    return list(
        Shortlist.objects.filter(evaluation__lead=user, status=Shortlist.Status.APPROVED, rfps__isnull=True)
        .select_related("evaluation")
        .order_by("-decided_at")[:limit]
    )


def _grids_to_finish(user, limit: int = 10) -> list[Evaluation]:
    """The evaluator's grids still open: evaluations in scoring without their submission, with their progress.
    One query."""
    scored = Criterion.objects.filter(evaluation=OuterRef("pk"), evidence="", children__isnull=True)
    mine = Score.objects.filter(
        candidate__evaluation=OuterRef("pk"), evaluator=user, criterion__evidence="", criterion__children__isnull=True
    )
    evaluations = list(
        Evaluation.objects.filter(evaluators=user, status=Evaluation.Status.SCORING)
        .exclude(submissions__evaluator=user)
        .select_related("lead")
        .annotate(
            criterion_count=_count(scored, "evaluation"),
            candidate_count=_count(Candidate.objects.filter(evaluation=OuterRef("pk")), "evaluation"),
            done=_count(mine.annotate(e=F("candidate__evaluation")), "e"),
        )
        .order_by("needed_by", "-updated_at")[:limit]
    )
    for e in evaluations:
        e.expected = e.criterion_count * e.candidate_count
        e.percent = round(100 * e.done / e.expected) if e.expected else 0
    return evaluations


@login_required
def home(request):
    """Each role's home starts with its tasks (what waits for this person), then the register at a glance.
    The number of queries does not grow with the data (tests/test_home.py)."""
    roles = user_roles(request.user)
    user = request.user
    today = timezone.localdate()
    summary = vendor_selectors.register_summary()
    context = {
        "roles": roles,
        "role_slugs": {ROLE_SLUGS[role] for role in roles},
        "primary_role": roles[0] if roles else "",
        "today": today,
        "summary": summary,
        "chart": {
            "labels": [label for label, _, _ in summary["by_status"]],
            "values": [count for _, count, _ in summary["by_status"]],
        },
        "recent_flags": vendor_selectors.inspection_list().filter(classification="OAI")[:5],
        "requalification": list(vendor_selectors.requalification_due()),
        "rfp_horizon": RFP_HORIZON_DAYS,
    }
    if PROCUREMENT_LEAD in roles:
        context["lead_evaluations"] = _lead_evaluations(user)
        context["approved_without_rfp"] = _approved_without_rfp(user)
        context["rfp_deadlines"] = _rfp_deadlines(user, today)
    if EVALUATOR in roles:
        context["grids"] = _grids_to_finish(user)
        context["my_evaluations"] = list(
            Evaluation.objects.filter(evaluators=user)
            .exclude(status=Evaluation.Status.CLOSED)
            .select_related("lead")
            .order_by("-updated_at")[:10]
        )
    if AUDITOR in roles:
        context["auditor"] = audit_selectors.auditor_tasks(user)
    if MANAGER in roles or QA in roles:
        context["pending"] = list(shortlists.pending_for(user)[:10])
    if MANAGER in roles:
        context["decided"] = list(
            Shortlist.objects.filter(decided_at__isnull=False)
            .select_related("evaluation", "proposed_by")
            .order_by("-decided_at")[:8]
        )
        context["in_progress"] = list(
            Evaluation.objects.filter(status__in=[Evaluation.Status.SCORING, Evaluation.Status.REVIEW])
            .select_related("lead")
            .annotate(candidate_count=_count(Candidate.objects.filter(evaluation=OuterRef("pk")), "evaluation"))
            .order_by("-updated_at")[:10]
        )
    if QA in roles:
        # What waits for quality assurance's signature: shortlists, and signed reports with no outcome yet.
        context["awaiting_outcome"] = list(
            Audit.objects.filter(status__in=[Audit.Status.SIGNED, Audit.Status.CLOSED], outcomes__isnull=True)
            .select_related("site__vendor")
            .order_by("-actual_end")[:10]
        )
    return render(request, "home.html", context)


# --- Audit trail: history tabs and QA's search ----------------------------------------------------

TRAIL_EXPORT_LIMIT = 10_000


def _visible_records(user, label: str):
    """The records of this model the user may see, or None when the model has no history page."""
    if label in ("vendors.Vendor", "vendors.Site", "vendors.RegulatoryInspection"):
        model = apps.get_model(label)
        return model.objects.all() if user.has_perm(f"vendors.view_{model._meta.model_name}") else model.objects.none()
    return {
        "audits.Audit": lambda: visible_audits(user),
        "scoring.Evaluation": lambda: visible_evaluations(user),
        # A blind evaluator learns nothing of the shortlists (choice, rationale) from their history either.
        "scoring.Shortlist": lambda: Shortlist.objects.filter(evaluation__in=visible_evaluations(user)).exclude(
            evaluation__in=blind_evaluations(user)
        ),
        "rfp.Rfp": lambda: visible_rfps(user),
    }.get(label, lambda: None)()


@login_required
@require_GET
def record_history(request, label: str, pk: int):
    """The history tab of a record: every change of it and of the rows that belong to it."""
    records = _visible_records(request.user, label)
    if records is None:
        raise Http404("No history for this kind of record.")
    record = get_object_or_404(records, pk=pk)
    items = trail.entries(trail.history(record))
    return render(
        request,
        "trail/history.html",
        {"record": record, "entries": items, "kind": trail.record_type_name(type(record))},
    )


@login_required
@permission_required("accounts.view_audit_trail", raise_exception=True)
@require_GET
def trail_search(request):
    """QA's search across the whole trail, with CSV, XLSX and PDF export of what it finds."""
    form = TrailSearchForm(request.GET or None)
    events = None
    if form.is_valid():
        data = form.cleaned_data
        events = trail.search(
            model=data["model"],
            user=data["user"],
            since=data["since"],
            until=data["until"],
            object_id=data["object_id"],
            action=data["action"],
        )
        fmt = request.GET.get("export")
        if fmt in ("csv", "xlsx", "pdf"):
            items = trail.entries(events[:TRAIL_EXPORT_LIMIT])
            stamp = timezone.now().strftime("%Y%m%d-%H%M")
            if fmt == "pdf":
                html = render_to_string(
                    "trail/trail_pdf.html",
                    {
                        "entries": items,
                        "filters": form.describe(),
                        "generated_at": timezone.now(),
                        "user": request.user,
                    },
                )
                response = HttpResponse(render_pdf(html)[0], content_type="application/pdf")
                response["Content-Disposition"] = f'attachment; filename="audit-trail-{stamp}.pdf"'
                return response
            return table_response(trail.rows(items), fmt, f"audit-trail-{stamp}.{fmt}", "Audit trail")
    page = Paginator(events, 50).get_page(request.GET.get("page")) if events is not None else None
    return render(
        request,
        "trail/search.html",
        {
            "form": form,
            "page": page,
            "entries": trail.entries(page.object_list) if page else [],
            "export_limit": TRAIL_EXPORT_LIMIT,
        },
    )
