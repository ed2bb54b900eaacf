"""The home page (each role's tasks, then the register at a glance) and the audit-trail pages."""

from django.apps import apps
from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.template.loader import render_to_string
from django.utils import timezone
from django.views.decorators.http import require_GET

from accounts.roles import AUDITOR, EVALUATOR, MANAGER, PROCUREMENT_LEAD, QA, ROLE_SLUGS, user_roles
from audits import selectors as audit_selectors
from audits.access import visible_audits
from core import trail
from core.pdf import render_pdf
from core.tabular import table_response
from oversight import qa_access
from oversight.models import QualityAgreement
from rfp import awards
from rfp import selectors as rfp_selectors
from rfp.access import visible_rfps
from rfp.models import Award
from scoring import selectors as scoring_selectors
from scoring import shortlists
from scoring.access import blind_evaluations, visible_evaluations
from scoring.models import Evaluation, Shortlist
from vendors import selectors as vendor_selectors
from vendorselect.forms import TrailSearchForm

# --- Home: each role's tasks first, then the register at a glance ------------------------------------

RFP_HORIZON_DAYS = 45


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
        context["lead_evaluations"] = scoring_selectors.lead_evaluations(user)
        context["approved_without_rfp"] = rfp_selectors.approved_without_rfp(user)
        context["rfp_deadlines"] = rfp_selectors.rfp_deadlines(user, today, RFP_HORIZON_DAYS)
    if EVALUATOR in roles:
        context["grids"] = scoring_selectors.grids_to_finish(user)
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
        context["pending_awards"] = list(awards.pending_for(user)[:10])
    if MANAGER in roles:
        context["decided"] = list(
            Shortlist.objects.filter(decided_at__isnull=False)
            .select_related("evaluation", "proposed_by")
            .order_by("-decided_at")[:8]
        )
        context["in_progress"] = scoring_selectors.evaluations_in_progress()
    if QA in roles:
        # What waits for quality assurance's signature: shortlists, and signed reports with no outcome yet.
        context["awaiting_outcome"] = audit_selectors.awaiting_outcome()
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
        "rfp.Award": lambda: Award.objects.filter(rfp__in=visible_rfps(user)),
        "oversight.QualityAgreement": lambda: (
            QualityAgreement.objects.all() if qa_access.can_read(user) else QualityAgreement.objects.none()
        ),
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
    page = None
    if events is not None:
        after, before = request.GET.get("after"), request.GET.get("before")
        if (after and not trail.parse_key(after)) or (before and not trail.parse_key(before)):
            messages.warning(request, "That page link is not one this search made: showing the page by its number.")
        page = trail.page(events, number=request.GET.get("page"), after=after, before=before)
    return render(
        request,
        "trail/search.html",
        {
            "form": form,
            "page": page,
            "entries": trail.entries(page.events) if page else [],
            "export_limit": TRAIL_EXPORT_LIMIT,
        },
    )
