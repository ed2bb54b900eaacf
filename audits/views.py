"""Auditor pages: audit list and planning, audit page with fast finding entry, CAPA tracker."""

import secrets

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from audits import access, schedule, selectors, services
from audits.api import CapaFilter
from audits.forms import (
    AmendmentForm,
    AttachmentForm,
    AuditForm,
    CapaVerificationForm,
    FindingForm,
    OutcomeForm,
    ReportForm,
    SignForm,
    TransitionForm,
)
from audits.models import AREAS, SEVERITY_DEFINITIONS, Audit, AuditReport, Capa, Finding, FindingAttachment
from core.errors import refusals_on_page
from core.forms import posted_id
from core.storage import open_or_404


@login_required
@require_GET
def audit_list(request):
    audits = (
        access.visible_audits(request.user)
        .select_related("site__vendor", "lead_auditor")
        .annotate(
            finding_count=Count("findings", distinct=True),
            open_capas=Count("findings__capa", filter=~Q(findings__capa__status__in=Capa.DONE), distinct=True),
        )
        .order_by("-planned_start", "-pk")
    )
    status = request.GET.get("status")
    if status in Audit.Status.values:
        audits = audits.filter(status=status)
    page = Paginator(audits, 25).get_page(request.GET.get("page"))
    return render(
        request,
        "audits/audit_list.html",
        {
            "page": page,
            "statuses": Audit.Status.choices,
            "status": status,
            "can_plan": request.user.has_perm("audits.add_audit"),
        },
    )


def _calendar_month(request):
    """The requested month (?month=YYYY-MM, this month by default) and the visible audits in it."""
    today = timezone.localdate()
    first = schedule.parse_month(request.GET.get("month"), today)
    return today, first, schedule.audits_in_month(access.visible_audits(request.user), first)


@login_required
@require_GET
def audit_calendar(request):
    today, first, audits = _calendar_month(request)
    return render(
        request,
        "audits/audit_calendar.html",
        {
            "month": first,
            "weeks": schedule.month_weeks(first, audits, today),
            "weekdays": ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"],
            "audits": audits,
            "previous": schedule.add_months(first, -1),
            "next": schedule.add_months(first, 1),
            "this_month": today.replace(day=1),
        },
    )


@login_required
@require_GET
def audit_calendar_ics(request):
    """The same month as an iCalendar file, for Outlook and other calendar programs."""
    _, first, audits = _calendar_month(request)
    content = schedule.icalendar(
        audits, first=first, host=request.get_host(), absolute_url=request.build_absolute_uri, now=timezone.now()
    )
    response = HttpResponse(content.encode("utf-8"), content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="audits-{first:%Y-%m}.ics"'
    return response


@login_required
@require_http_methods(["GET", "POST"])
def audit_create(request):
    if not request.user.has_perm("audits.add_audit"):
        raise PermissionDenied("Only auditors plan audits.")
    # A link may preset the site and type (e.g. a performance flag's "plan a for-cause audit").
    preset = {k: v for k, v in request.GET.items() if k in ("site", "type") and v.isascii() and len(v) <= 40}
    form = AuditForm(request.POST or None, initial=preset)
    if request.method == "POST" and form.is_valid():
        with refusals_on_page(request, form, success="Audit planned.") as outcome:
            audit = services.audit_create(user=request.user, **form.cleaned_data)
        if not outcome.refused:
            return redirect(audit)
    return render(request, "audits/audit_form.html", {"form": form})


def _audit(request, pk):
    audit = (
        access.visible_audits(request.user)
        .filter(pk=pk)
        .select_related("site__vendor", "lead_auditor")
        .prefetch_related(services.outcomes_prefetch())
        .first()
    )
    if audit is None:
        raise Http404("No such audit, or it is not shared with you.")
    return audit


def _finding_form(data=None) -> FindingForm:
    """The finding form with element ids of its own each time it is drawn. htmx "settles" a swapped-in element
    whose id matched one on the page by first giving it the old element's class and style attributes: the
    browser may have put an empty style attribute on the typed-in fields, which the CSP (style-src 'self')
    then refuses (a console error per field), and a field of a fresh form would flash the old one's
    "is-invalid". New ids: nothing to settle."""
    return FindingForm(data, auto_id=f"finding-{secrets.token_hex(3)}-%s")


def _detail_context(request, audit: Audit, **forms) -> dict:
    findings = Finding.objects.filter(audit=audit).select_related("capa__verified_by").prefetch_related("attachments")
    flags = access.page_flags(request.user, audit)
    available = [t.name for t in audit.get_available_status_transitions() if t.name in services.ACTIONS]
    # Closing is offered only when it would succeed; otherwise the lead auditor sees what is missing.
    close_blockers = services.close_blockers(audit) if flags["can_change_stage"] and "close" in available else []
    history = services.outcome_history(audit)
    # What a recommendation of approval would ignore: open CAPAs of critical and major findings.
    serious_capas = services.open_serious_capas(audit) if audit.status != Audit.Status.CLOSED else []
    return {
        "audit": audit,
        "findings": findings,
        # The form that was posted (bound, with its errors), or a fresh one.
        "form": forms.get("form", _finding_form()),
        "attachment_form": forms.get("attachment_form", AttachmentForm(audit=audit, auto_id="att-%s")),
        "sign_form": forms.get("sign_form", SignForm(auto_id="sign-%s")),
        "amendment_form": forms.get("amendment_form", AmendmentForm(auto_id="am-%s")),
        "outcome_form": forms.get("outcome_form", OutcomeForm()),
        "report_form": forms.get("report_form", ReportForm.for_audit(audit)),
        "serious_capas": serious_capas,
        "serious_capa_warning": services.serious_capa_warning(serious_capas),
        "recommendation_needs_confirmation": bool(serious_capas) and audit.recommended_outcome == "approved",
        **flags,
        "transitions": [
            (name, services.ACTIONS[name]) for name in available if not (name == "close" and close_blockers)
        ],
        "close_blockers": close_blockers,
        "area_labels": dict(AREAS),
        "severity_definitions": SEVERITY_DEFINITIONS.values(),
        "manifest": selectors.signature_manifest(audit),
        "outcome_history": history,
        "latest_outcome": history[-1] if history else None,
        "latest_report": audit.reports.first(),
        "amendments": audit.amendments.select_related("author"),
    }


@login_required
@require_GET
def audit_detail(request, pk: int):
    audit = _audit(request, pk)
    return render(request, "audits/audit_detail.html", _detail_context(request, audit))


# One URL per operation of the audit page: a thin view over its service, with a form whose cleaned_data
# are the service's keyword arguments. The user's right to the operation is checked first (403, nothing
# changes); a refusal under one of the form's fields re-renders the page with the form and its errors, any other
# is a message on the audit page, as is the success (post/redirect/get).

WHO = {
    "lead": "the lead auditor",
    "auditors": "the audit's auditors",
    "qa": "quality assurance, outside the audit team,",
}


def _operate(request, pk: int, *, who: str, form_class=None, form_key: str = "", call, success, form_kwargs=None):
    audit = _audit(request, pk)
    if not access.may_act(request.user, audit, who):
        raise PermissionDenied(f"Only {WHO[who]} can do this.")
    form = None
    if form_class is not None:
        form = form_class(request.POST, request.FILES, **(form_kwargs(audit) if form_kwargs else {}))
        if not form.is_valid():
            return render(request, "audits/audit_detail.html", _detail_context(request, audit, **{form_key: form}))
    arguments = form.cleaned_data if form is not None else {}
    with refusals_on_page(request, notify=False) as outcome:
        result = call(audit, **arguments)
    if outcome.refused:
        error = outcome.error
        if form is not None and error.field in form.fields:
            form.add_error(error.field, error.message)
            return render(request, "audits/audit_detail.html", _detail_context(request, audit, **{form_key: form}))
        messages.error(request, error.message)
    else:
        messages.success(request, success(result) if callable(success) else success)
    return redirect(audit)


@login_required
@require_POST
def finding_add(request, pk: int):
    """Fast entry: with htmx, the findings block is answered in place (with a fresh form, or the errors)."""
    audit = _audit(request, pk)
    if not access.may_act(request.user, audit, "auditors"):
        raise PermissionDenied(f"Only {WHO['auditors']} can do this.")
    form = _finding_form(request.POST)
    refused = not form.is_valid()
    if not refused:
        with refusals_on_page(request, form, notify=False) as outcome:
            finding = services.finding_add(audit=audit, user=request.user, **form.cleaned_data)
        refused = outcome.refused
    if request.htmx:
        context = _detail_context(request, audit, form=form if refused else _finding_form())
        return render(request, "audits/_findings.html", context)
    if refused:
        return render(request, "audits/audit_detail.html", _detail_context(request, audit, form=form))
    messages.success(request, f"Finding {finding.number} recorded.")
    return redirect(audit)


@login_required
@require_POST
def audit_transition(request, pk: int, action: str):
    form = TransitionForm({"action": action})
    if not form.is_valid():
        raise Http404(f"No such step: {action}.")
    return _operate(
        request,
        pk,
        who="lead",
        call=lambda audit: services.audit_transition(audit=audit, user=request.user, **form.cleaned_data),
        success=f"Done: {services.ACTIONS[action]}.",
    )


@login_required
@require_POST
def attachment_add(request, pk: int):
    return _operate(
        request,
        pk,
        who="auditors",
        form_class=AttachmentForm,
        form_key="attachment_form",
        form_kwargs=lambda audit: {"audit": audit, "auto_id": "att-%s"},
        call=lambda audit, **data: services.attachment_add(user=request.user, **data),
        success=lambda attachment: f"Evidence attached to finding {attachment.finding.number}.",
    )


@login_required
@require_POST
def audit_sign(request, pk: int):
    return _operate(
        request,
        pk,
        who="lead",
        form_class=SignForm,
        form_key="sign_form",
        form_kwargs=lambda audit: {"auto_id": "sign-%s"},
        call=lambda audit, **data: services.audit_sign(request=request, audit=audit, user=request.user, **data),
        success="Report signed. It is now a record; changes are made as amendments.",
    )


@login_required
@require_POST
def report_update(request, pk: int):
    return _operate(
        request,
        pk,
        who="lead",
        form_class=ReportForm,
        form_key="report_form",
        call=lambda audit, **data: services.report_update(audit=audit, user=request.user, **data),
        success="Report saved.",
    )


@login_required
@require_POST
def amendment_add(request, pk: int):
    return _operate(
        request,
        pk,
        who="auditors",
        form_class=AmendmentForm,
        form_key="amendment_form",
        form_kwargs=lambda audit: {"auto_id": "am-%s"},
        call=lambda audit, **data: services.amendment_add(audit=audit, user=request.user, **data),
        success="Amendment added.",
    )


@login_required
@require_POST
def report_request(request, pk: int):
    return _operate(
        request,
        pk,
        who="auditors",
        call=lambda audit: services.report_request(audit=audit, user=request.user),
        success="The report PDF is being generated.",
    )


@login_required
@require_POST
def outcome_sign(request, pk: int):
    return _operate(
        request,
        pk,
        who="qa",
        form_class=OutcomeForm,
        form_key="outcome_form",
        call=lambda audit, **data: services.outcome_sign(request=request, audit=audit, user=request.user, **data),
        success=lambda decision: (
            f"Outcome signed ({decision.meaning_label}): {decision.get_outcome_display()}. "
            "The site's qualification and the approved-supplier list are updated."
        ),
    )


@login_required
@require_GET
def report_download(request, pk: int):
    report = (
        AuditReport.objects.filter(
            pk=pk, status=AuditReport.Status.DONE, audit__in=access.visible_audits(request.user).values("pk")
        )
        .select_related("audit")
        .first()
    )
    if report is None:
        raise Http404("No such report.")
    return FileResponse(
        open_or_404(report.file),
        as_attachment=True,
        filename=f"audit-report-{report.audit.reference}.pdf",
        content_type="application/pdf",
    )


@login_required
@require_GET
def attachment_download(request, pk: int):
    """Always a download (never rendered inline), and only for people who may see the audit."""
    attachment = FindingAttachment.objects.filter(
        pk=pk, finding__audit__in=access.visible_audits(request.user).values("pk")
    ).first()
    if attachment is None:
        raise Http404("No such attachment.")
    response = FileResponse(
        open_or_404(attachment.file),
        as_attachment=True,
        filename=attachment.original_name,
        content_type="application/octet-stream",
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


@login_required
@require_http_methods(["GET", "POST"])
def capa_tracker(request):
    capas = access.visible_capas(request.user).select_related(
        "finding__audit__site__vendor", "verified_by", "verification_evidence"
    )
    failed = None  # a refused verification: the page again, with the note typed and the reason
    if request.method == "POST":
        capa = capas.filter(pk=posted_id(request, "capa")).first()
        if capa is None:
            raise Http404("No such CAPA.")
        changes = {"status": request.POST.get("status", capa.status)}
        if "vendor_response" in request.POST:
            changes["vendor_response"] = request.POST["vendor_response"]
        evidence = None
        verification = None
        if changes["status"] == Capa.Status.VERIFIED and capa.status != Capa.Status.VERIFIED:
            verification = CapaVerificationForm(request.POST, request.FILES, auto_id=f"verify-{capa.pk}-%s")
            if verification.is_valid():
                changes["verification_note"] = verification.cleaned_data["verification_note"]
                evidence = verification.cleaned_data["verification_evidence"]
        if verification is not None and verification.errors:
            failed = {"capa": capa.pk, "form": verification}
        else:
            success = "CAPA verified effective." if verification is not None else "CAPA updated."
            with refusals_on_page(request, verification, success=success) as outcome:
                services.capa_update(capa=capa, user=request.user, evidence=evidence, **changes)
            if not outcome.refused or verification is None:
                return redirect(request.get_full_path())
            failed = {"capa": capa.pk, "form": verification}
    capa_filter = CapaFilter(request.GET, queryset=capas.order_by("due_date", "pk"))
    page = Paginator(capa_filter.qs, 30).get_page(request.GET.get("page"))
    return render(
        request,
        "audits/capa_tracker.html",
        {
            "filter": capa_filter,
            "page": page,
            "today": timezone.localdate(),
            # "Verified effective" is recorded with its evidence (the verification form), not picked from the list.
            "statuses": [(v, label) for v, label in Capa.Status.choices if v != Capa.Status.VERIFIED],
            "filter_statuses": Capa.Status.choices,
            "severities": Finding.Severity.choices,
            "areas": AREAS,
            "can_update": request.user.has_perm("audits.change_capa"),
            "area_labels": dict(AREAS),
            "failed": failed,
            "verification_form": CapaVerificationForm,
        },
    )
