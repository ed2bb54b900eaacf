"""Pages of quality agreements and risk-based requalification: thin callers of oversight.agreements and
oversight.requalification. Readers: QA, managers, procurement leads, auditors; QA writes and signs."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import FileResponse, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from core.errors import refusals_on_page
from core.storage import open_or_404
from oversight import agreements, defaults, qa_access, requalification, risk
from oversight.forms_qa import (
    OWNER_CHOICES,
    SECTION_CHOICES,
    AgreementCreateForm,
    AgreementLinesForm,
    RiskMatrixForm,
    SignForm,
    VendorCopyForm,
)
from oversight.models_qa import QualityAgreement, RiskMatrix
from vendors.models import Site

PAGE_SIZE = 50
SORTS = {
    "site": ("site__vendor__name", "site__name"),
    "activity": ("activity__name",),
    "status": ("status",),
    "review": ("review_due",),
    "effective": ("effective_on",),
}


def _read(user) -> None:
    if not qa_access.can_read(user):
        raise PermissionDenied("Quality agreements are read by QA, managers, procurement leads and auditors.")


def _write(user) -> None:
    if not qa_access.can_write(user):
        raise PermissionDenied("Only quality assurance changes quality agreements.")


def _eligible_sites():
    return (
        Site.objects.filter(Q(selected_on__isnull=False) | Q(qualification__in=requalification.APPROVED))
        .select_related("vendor")
        .order_by("vendor__name", "name")
    )


@login_required
@require_GET
def agreement_list(request):
    _read(request.user)
    items = agreements.visible_agreements(request.user)
    q = request.GET.get("q", "").strip()[:100]
    status = request.GET.get("status", "")
    if q:
        items = items.filter(Q(site__vendor__name__icontains=q) | Q(site__name__icontains=q))
    if status in QualityAgreement.Status.values:
        items = items.filter(status=status)
    ordering = request.GET.get("ordering", "")
    key = ordering.lstrip("-")
    fields = SORTS.get(key, ("site__vendor__name", "site__name", "activity__name"))
    items = items.order_by(*[f"-{f}" if ordering.startswith("-") else f for f in fields], "-version")
    page = Paginator(items, PAGE_SIZE).get_page(request.GET.get("page"))
    can_write = qa_access.can_write(request.user)
    return render(
        request,
        "oversight/agreement_list.html",
        {
            "page": page,
            "q": q,
            "status": status,
            "statuses": QualityAgreement.Status.choices,
            "ordering": ordering,
            "can_write": can_write,
            "create_form": AgreementCreateForm(sites=_eligible_sites()) if can_write else None,
            "today": timezone.localdate(),
        },
    )


@login_required
@require_POST
def agreement_create(request):
    _write(request.user)
    form = AgreementCreateForm(request.POST, sites=_eligible_sites())
    if form.is_valid():
        with refusals_on_page(request, form, success="Quality agreement drafted from the template.") as outcome:
            agreement = agreements.agreement_create(
                user=request.user,
                site=form.cleaned_data["site"],
                activity=form.cleaned_data["activity"],
                partner_kind=form.cleaned_data["partner_kind"],
                review_due=form.cleaned_data["review_due"],
                change_notice_days=form.cleaned_data["change_notice_days"],
            )
        if not outcome.refused:
            return redirect(agreement)
    page = Paginator(agreements.visible_agreements(request.user).order_by("-created_at"), PAGE_SIZE).get_page(1)
    return render(
        request,
        "oversight/agreement_list.html",
        {"page": page, "statuses": QualityAgreement.Status.choices, "can_write": True, "create_form": form},
        status=400,
    )


def _detail(request, agreement: QualityAgreement, *, status: int = 200, **forms):
    can_write = qa_access.can_write(request.user)
    versions = list(
        QualityAgreement.objects.filter(site_id=agreement.site_id, activity_id=agreement.activity_id)
        .order_by("-version")
        .values("pk", "version", "status")
    )
    context = {
        "agreement": agreement,
        "sections": agreements.sections_of(agreement),
        "manifest": agreements.manifest(agreement),
        "vendor_signature": getattr(agreement, "vendor_signature", None),
        "versions": versions,
        "owner_choices": OWNER_CHOICES,
        "section_choices": SECTION_CHOICES,
        "can_edit": can_write and agreement.status == QualityAgreement.Status.DRAFT,
        "can_sign": can_write and agreement.status == QualityAgreement.Status.DRAFT,
        "can_record_copy": can_write and agreement.status == QualityAgreement.Status.SPONSOR_SIGNED,
        "can_new_version": can_write
        and versions[0]["pk"] == agreement.pk
        and agreement.status in (QualityAgreement.Status.EFFECTIVE, QualityAgreement.Status.SUPERSEDED),
        "sign_form": SignForm(),
        "copy_form": VendorCopyForm(),
        "missing_owner": sum(1 for s in agreements.sections_of(agreement) for line in s["lines"] if not line.owner),
        **forms,
    }
    return render(request, "oversight/agreement_detail.html", context, status=status)


def _agreement(request, pk: int) -> QualityAgreement:
    with refusals_on_page(request):
        return agreements.agreement_detail(request.user, pk)


@login_required
@require_GET
def agreement_detail(request, pk: int):
    return _detail(request, _agreement(request, pk))


@login_required
@require_POST
def agreement_lines(request, pk: int):
    agreement = _agreement(request, pk)
    _write(request.user)
    form = AgreementLinesForm(request.POST)
    if form.is_valid():
        with refusals_on_page(request, form, success="Responsibility matrix saved.") as outcome:
            agreements.agreement_update(user=request.user, agreement=agreement, **form.cleaned_data)
        if not outcome.refused:
            return redirect(agreement)
        return _detail(request, _agreement(request, pk), status=outcome.error.status, lines_form=form)
    return _detail(request, agreement, status=400, lines_form=form)


@login_required
@require_POST
def agreement_sign(request, pk: int):
    agreement = _agreement(request, pk)
    _write(request.user)
    form = SignForm(request.POST)
    if form.is_valid():
        with refusals_on_page(
            request, form, success="Signed for quality: the agreement awaits the vendor's signature."
        ) as outcome:
            agreements.agreement_sign(
                request=request, user=request.user, agreement=agreement, password=form.cleaned_data["password"]
            )
        if not outcome.refused:
            return redirect(agreement)
        return _detail(request, _agreement(request, pk), status=outcome.error.status, sign_form=form)
    return _detail(request, agreement, status=400, sign_form=form)


@login_required
@require_POST
def agreement_new_version(request, pk: int):
    agreement = _agreement(request, pk)
    _write(request.user)
    with refusals_on_page(request, success="New version drafted from the signed one.") as outcome:
        draft = agreements.agreement_new_version(user=request.user, agreement=agreement)
    return redirect(agreement if outcome.refused else draft)


@login_required
@require_POST
def agreement_vendor_copy(request, pk: int):
    agreement = _agreement(request, pk)
    _write(request.user)
    form = VendorCopyForm(request.POST, request.FILES)
    if form.is_valid():
        with refusals_on_page(
            request, form, success="The vendor's signed copy is recorded: the agreement is effective."
        ) as outcome:
            agreements.vendor_copy_record(user=request.user, agreement=agreement, **form.cleaned_data)
        if not outcome.refused:
            return redirect(agreement)
        return _detail(request, _agreement(request, pk), status=outcome.error.status, copy_form=form)
    return _detail(request, agreement, status=400, copy_form=form)


@login_required
@require_GET
def agreement_vendor_document(request, pk: int):
    agreement = _agreement(request, pk)
    signature = getattr(agreement, "vendor_signature", None)
    if signature is None or not signature.document:
        return render(request, "404.html", {"detail": "No signed copy was uploaded."}, status=404)
    return FileResponse(
        open_or_404(signature.document),
        as_attachment=True,
        filename=signature.document_name or "vendor-signed.pdf",
        content_type="application/pdf",
    )


@login_required
@require_GET
def agreement_pdf(request, pk: int):
    agreement = _agreement(request, pk)
    response = HttpResponse(agreements.agreement_pdf(agreement), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{agreement.reference}.pdf"'
    return response


@login_required
@require_GET
def site_risk(request, site_id: int):
    _read(request.user)
    site = get_object_or_404(Site.objects.select_related("vendor"), pk=site_id)
    matrix = requalification.current_matrix()
    factors = requalification.site_factors(site)
    result = risk.score(factors)
    band, months, cap = risk.interval(result.score, matrix.bands, factors.last_outcome)
    return render(
        request,
        "oversight/site_risk.html",
        {
            "site": site,
            "approved": site.qualification in requalification.APPROVED,
            "result": result,
            "band": band,
            "months": months,
            "cap": cap,
            "basis": requalification.basis_date(site),
            "matrix": matrix,
            "history": requalification.assessments(site),
            "agreements": QualityAgreement.objects.filter(site=site)
            .select_related("activity")
            .order_by("activity__name", "-version"),
            "impact_label": risk.IMPACT_LABELS[factors.impact],
            "can_write": qa_access.can_write(request.user),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def risk_matrix(request):
    _read(request.user)
    matrix = requalification.current_matrix()
    form = RiskMatrixForm(request.POST or None)
    status = 200
    if request.method == "POST":
        _write(request.user)
        if form.is_valid():
            with refusals_on_page(
                request, form, success="New risk matrix in force; approved sites reassessed."
            ) as outcome:
                requalification.matrix_save(user=request.user, **form.cleaned_data)
            if not outcome.refused:
                return redirect("oversight:risk-matrix")
            status = outcome.error.status
        else:
            status = 400
    rows = form.cleaned_data.get("bands") if form.is_bound and hasattr(form, "cleaned_data") else None
    rows = rows or matrix.bands
    return render(
        request,
        "oversight/risk_matrix.html",
        {
            "form": form,
            "matrix": matrix,
            "rows": [*rows, *[{}] * max(0, 5 - len(rows))],
            "versions": RiskMatrix.objects.select_related("created_by").order_by("-version")[:20],
            "can_write": qa_access.can_write(request.user),
            "default_bands": defaults.DEFAULT_BANDS,
        },
        status=status,
    )
