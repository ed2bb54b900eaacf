"""Auditor pages: audit list and planning, audit page with fast finding entry, CAPA tracker."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods

from audits import access, schedule, selectors, services
from audits.api import CapaFilter
from audits.forms import AuditForm, FindingForm
from audits.models import AREAS, Audit, AuditReport, Capa, Finding, FindingAttachment
from core.errors import refusals_on_page
from core.forms import posted_id


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
    form = AuditForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        with refusals_on_page(request, form, success="Audit planned.") as outcome:
            audit = services.audit_create(user=request.user, **form.cleaned_data)
        if not outcome.refused:
            return redirect(audit)
    return render(request, "audits/audit_form.html", {"form": form})


def _audit(request, pk):
    audit = access.visible_audits(request.user).filter(pk=pk).select_related("site__vendor", "lead_auditor").first()
    if audit is None:
        raise Http404("No such audit, or it is not shared with you.")
    return audit


@login_required
@require_http_methods(["GET", "POST"])
def audit_detail(request, pk: int):
    audit = _audit(request, pk)
    form = FindingForm()
    if request.method == "POST":
        action = request.POST.get("action", "")
        if action == "finding":
            form = FindingForm(request.POST)
        with refusals_on_page(request, form if action == "finding" else None):
            if action in services.ACTIONS:
                audit = services.audit_transition(audit=audit, user=request.user, action=action)
                messages.success(request, f"Done: {services.ACTIONS[action]}.")
            elif action == "attachment":
                finding = Finding.objects.filter(audit=audit, pk=posted_id(request, "finding")).first()
                if finding is None or "file" not in request.FILES:
                    messages.error(request, "Choose a finding and a file.")
                else:
                    services.attachment_add(finding=finding, user=request.user, upload=request.FILES["file"])
                    messages.success(request, f"Evidence attached to finding {finding.number}.")
            elif action == "sign":
                services.audit_sign(
                    request=request, audit=audit, user=request.user, password=request.POST.get("password", "")
                )
                messages.success(request, "Report signed. It is now a record; changes are made as amendments.")
            elif action == "amend":
                services.amendment_add(
                    audit=audit,
                    user=request.user,
                    reason=request.POST.get("reason", ""),
                    text=request.POST.get("text", ""),
                    outcome=request.POST.get("outcome", ""),
                )
                messages.success(request, "Amendment added.")
            elif action == "report":
                services.report_request(audit=audit, user=request.user)
                messages.success(request, "The report PDF is being generated.")
            elif action == "outcome":
                audit = services.audit_record_outcome(
                    audit=audit, user=request.user, outcome=request.POST.get("outcome", "")
                )
                messages.success(
                    request, f"Outcome recorded: {audit.get_outcome_display()}; the supplier list is updated."
                )
            elif action == "finding" and form.is_valid():
                finding = services.finding_add(audit=audit, user=request.user, **form.cleaned_data)
                form = FindingForm()
                if not request.htmx:
                    messages.success(request, f"Finding {finding.number} recorded.")
        if not request.htmx and not form.errors:
            return redirect(audit)
    findings = Finding.objects.filter(audit=audit).select_related("capa").prefetch_related("attachments")
    is_lead = audit.lead_auditor_id == request.user.pk
    available = [t.name for t in audit.get_available_status_transitions() if t.name in services.ACTIONS]
    # Closing is offered only when it would succeed; otherwise the lead auditor sees what is missing.
    close_blockers = services.close_blockers(audit) if is_lead and "close" in available else []
    context = {
        "audit": audit,
        "findings": findings,
        "form": form,
        "can_edit": access.can_edit(request.user, audit),
        "is_lead": is_lead,
        "transitions": [
            (name, services.ACTIONS[name]) for name in available if not (name == "close" and close_blockers)
        ],
        "close_blockers": close_blockers,
        "area_labels": dict(AREAS),
        "manifest": selectors.signature_manifest(audit),
        "latest_report": audit.reports.first(),
        "amendments": audit.amendments.select_related("author"),
    }
    template = "audits/_findings.html" if request.htmx else "audits/audit_detail.html"
    return render(request, template, context)


@login_required
@require_GET
def report_download(request, pk: int):
    report = AuditReport.objects.filter(
        pk=pk, status=AuditReport.Status.DONE, audit__in=access.visible_audits(request.user).values("pk")
    ).first()
    if report is None:
        raise Http404("No such report.")
    return FileResponse(
        report.file.open("rb"),
        as_attachment=True,
        filename=f"audit-{report.audit_id}-report.pdf",
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
        attachment.file.open("rb"),
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
    capas = access.visible_capas(request.user).select_related("finding__audit__site__vendor", "verified_by")
    if request.method == "POST":
        capa = capas.filter(pk=posted_id(request, "capa")).first()
        if capa is None:
            raise Http404("No such CAPA.")
        changes = {"status": request.POST.get("status", capa.status)}
        if "vendor_response" in request.POST:
            changes["vendor_response"] = request.POST["vendor_response"]
        with refusals_on_page(request, success="CAPA updated."):
            services.capa_update(capa=capa, user=request.user, **changes)
        return redirect(request.get_full_path())
    capa_filter = CapaFilter(request.GET, queryset=capas.order_by("due_date", "pk"))
    page = Paginator(capa_filter.qs, 30).get_page(request.GET.get("page"))
    return render(
        request,
        "audits/capa_tracker.html",
        {
            "filter": capa_filter,
            "page": page,
            "today": timezone.localdate(),
            "statuses": Capa.Status.choices,
            "severities": Finding.Severity.choices,
            "areas": AREAS,
            "can_update": request.user.has_perm("audits.change_capa"),
            "area_labels": dict(AREAS),
        },
    )
