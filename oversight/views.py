"""Pages of supplier performance and scorecards: thin callers of oversight.performance (writes) and
oversight.selectors (reads). Readers: QA, auditors, managers, procurement leads (view_scorecard); QA and
auditors enter performance; QA edits the KPI settings and the standing rules."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods

from core.errors import refusals_on_page
from core.pdf import render_pdf
from oversight import charts, kpis, performance, selectors
from oversight.forms import ImportForm, KpiSettingForm, PerformanceForm, StandingRulesForm
from oversight.models_performance import PerformanceRecord, Standing
from vendors.models import Site

PAGE_SIZE = 50


def _require_view(user) -> None:
    if not selectors.can_view(user):
        raise PermissionDenied("Supplier performance is for quality assurance, auditors, managers and procurement.")


@login_required
@require_GET
def performance_list(request):
    """The rated sites with their latest standing, filterable by standing and sortable."""
    _require_view(request.user)
    q = request.GET.get("q", "").strip()[:100]
    standing = request.GET.get("standing", "")
    if standing not in Standing.values:
        standing = ""
    sites = selectors.rated_sites(q=q, standing=standing, ordering=request.GET.get("ordering", ""))
    page = Paginator(sites, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "oversight/performance_list.html",
        {
            "page": page,
            "q": q,
            "standing": standing,
            "standings": Standing.choices,
            "filtered": bool(q or standing),
            "can_enter": performance.can_enter(request.user),
            "can_configure": performance.can_configure(request.user),
        },
    )


def _performance_form_page(request, record: PerformanceRecord | None):
    if not performance.can_enter(request.user):
        raise PermissionDenied("Only quality assurance and auditors enter supplier performance.")
    initial = {}
    if record is None:
        site_id = request.GET.get("site", "")
        site = Site.objects.filter(pk=int(site_id)).first() if site_id.isdecimal() and len(site_id) < 19 else None
        start, end = selectors.suggested_period(site)
        initial = {"site": site, "start": start, "end": end}
    else:
        initial = {"site": record.site, "start": record.start, "end": record.end, "note": record.note}
        initial.update(performance.counts_of(record))
    form = PerformanceForm(request.POST or None, initial=initial, record=record)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        site = record.site if record else data.pop("site")
        data.pop("site", None)
        done = "corrected" if record else "recorded"
        with refusals_on_page(request, form, success=f"Performance {done}.") as outcome:
            saved = performance.performance_save(user=request.user, site=site, record=record, **data)
        if not outcome.refused:
            return redirect(reverse("oversight:scorecard", args=[saved.site_id]))
    return render(request, "oversight/performance_form.html", {"form": form, "record": record})


@login_required
@require_http_methods(["GET", "POST"])
def performance_create(request):
    return _performance_form_page(request, None)


@login_required
@require_http_methods(["GET", "POST"])
def performance_edit(request, pk: int):
    _require_view(request.user)
    record = get_object_or_404(PerformanceRecord.objects.select_related("site__vendor"), pk=pk)
    return _performance_form_page(request, record)


@login_required
@require_http_methods(["GET", "POST"])
def performance_import(request):
    if not performance.can_enter(request.user):
        raise PermissionDenied("Only quality assurance and auditors import supplier performance.")
    form = ImportForm(request.POST or None, request.FILES or None)
    outcome_errors: list = []
    status = 200
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        with refusals_on_page(request, form) as outcome:
            result = performance.performance_import(user=request.user, data=upload.read(), filename=upload.name)
        if not outcome.refused:
            if result.errors:
                outcome_errors, status = result.errors, 400
            else:
                messages.success(request, f"Imported: {result.created} period(s) created, {result.updated} corrected.")
                return redirect("oversight:performance-list")
    return render(
        request,
        "oversight/performance_import.html",
        {"form": form, "errors": outcome_errors, "columns": performance.IMPORT_COLUMNS},
        status=status,
    )


@login_required
@require_http_methods(["GET", "POST"])
def threshold_list(request):
    """The KPI settings: formulas, weights, scales and thresholds; QA changes one row at a time."""
    _require_view(request.user)
    can_configure = performance.can_configure(request.user)
    failed = None
    if request.method == "POST":
        if not can_configure:
            raise PermissionDenied("Only quality assurance edits KPI settings.")
        form = KpiSettingForm(request.POST)
        if form.is_valid():
            with refusals_on_page(request, form, success="KPI setting saved; scorecards recomputed.") as outcome:
                performance.kpi_setting_update(user=request.user, **form.cleaned_data)
            if not outcome.refused:
                return redirect("oversight:thresholds")
        failed = form
    rows = []
    for entry in selectors.kpi_settings():
        kpi, setting = entry["kpi"], entry["setting"]
        if failed is not None and failed.data.get("kpi") == kpi.code:
            form = failed
        else:
            form = KpiSettingForm(
                initial={
                    "kpi": kpi.code,
                    "weight": setting.weight if setting else None,
                    "scores_1_at": setting.scores_1_at if setting else None,
                    "scores_5_at": setting.scores_5_at if setting else None,
                    "threshold": setting.threshold if setting else None,
                    "severity": setting.severity if setting else "warning",
                },
                auto_id=f"id_{kpi.code}_%s",
            )
        rows.append({"kpi": kpi, "setting": setting, "form": form})
    return render(
        request,
        "oversight/performance_thresholds.html",
        {"rows": rows, "can_configure": can_configure},
        status=400 if failed is not None else 200,
    )


@login_required
@require_http_methods(["GET", "POST"])
def standing_rules(request):
    """The standing rules in force, their earlier versions, and (QA) the form for a new version."""
    _require_view(request.user)
    can_configure = performance.can_configure(request.user)
    version, rules = performance.rules_in_force()
    form = StandingRulesForm(request.POST or None, rules=rules)
    status = 200
    if request.method == "POST":
        if not can_configure:
            raise PermissionDenied("Only quality assurance edits the standing rules.")
        if form.is_valid():
            with refusals_on_page(request, success="New standing rules in force; scorecards recomputed.") as outcome:
                performance.standing_rules_save(user=request.user, **form.service_arguments())
            if not outcome.refused:
                return redirect("oversight:standing-rules")
        status = 400
    return render(
        request,
        "oversight/performance_rules.html",
        {
            "form": form,
            "version": version,
            "rules": rules,
            "history": selectors.rules_history(),
            "labels": kpis.STANDING_LABELS,
            "conditions": kpis.CONDITIONS,
            "can_configure": can_configure,
        },
        status=status,
    )


def _scorecard_context(site: Site) -> dict:
    cards = selectors.site_scorecards(site)
    series = selectors.trends(cards)
    latest = cards[0] if cards else None
    return {
        "site": site,
        "cards": cards,
        "latest": latest,
        "latest_kpis": list(latest.kpis.values()) if latest else [],
        "labels": kpis.STANDING_LABELS,
        "charts": [{"series": s, "svg": charts.trend_chart(s)} for s in series],
        "trend_periods": selectors.TREND_PERIODS,
    }


def _site(pk: int) -> Site:
    site = Site.objects.select_related("vendor").filter(pk=pk).first()
    if site is None:
        raise Http404("No such site.")
    return site


@login_required
@require_GET
def scorecard(request, site_id: int):
    _require_view(request.user)
    site = _site(site_id)
    context = _scorecard_context(site)
    context["can_enter"] = performance.can_enter(request.user)
    context["can_plan_audit"] = request.user.has_perm("audits.add_audit")
    context["plan_audit_url"] = f"{reverse('audits:create')}?site={site.pk}&type=for_cause"
    return render(request, "oversight/scorecard.html", context)


@login_required
@require_GET
def scorecard_pdf(request, site_id: int):
    """The scorecard for the supplier review meeting, rendered here and now (a few pages: about a second in
    core.pdf's sandbox, so no background job)."""
    _require_view(request.user)
    site = _site(site_id)
    context = _scorecard_context(site)
    context["generated"] = timezone.now()
    context["generated_by"] = request.user
    pdf, _pages, _refused = render_pdf(render_to_string("oversight/scorecard_pdf.html", context))
    response = HttpResponse(pdf, content_type="application/pdf")
    name = f"scorecard-{site.pk}-{timezone.now():%Y%m%d}.pdf"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
