from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db import transaction
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from core.errors import refusals_on_page
from vendors import access, exports, selectors, services
from vendors.filters import InspectionFilter, VendorFilter, country_choices, service_choices
from vendors.forms import (
    RECORD_FORMS,
    ContactFormSet,
    ImportForm,
    InspectionForm,
    SiteForm,
    SiteQualificationForm,
    VendorForm,
)
from vendors.models import RegulatoryInspection, Site, Vendor

PAGE_SIZE = 25


def _choices(filterset, skip=()) -> dict[str, list]:
    # Each vocabulary's choices evaluated once (a model choice field would query on every use).
    return {
        name: [choice for choice in field.choices]  # noqa: C416 - list() would add a COUNT query
        for name, field in filterset.form.fields.items()
        if hasattr(field, "choices") and name not in skip
    }


def _page(request, queryset, count: int | None = None):
    paginator = Paginator(queryset, PAGE_SIZE)
    if count is not None:  # known without counting the rows
        paginator.count = count
    return paginator.get_page(request.GET.get("page"))


@login_required
@require_GET
def vendor_list(request):
    vendor_filter = VendorFilter(request.GET, queryset=selectors.vendor_list())
    # A filter that cannot apply lists nothing (and exports nothing): a list that looks filtered but
    # is not would mislead; the errors stand next to the filters concerned.
    valid = vendor_filter.is_valid()
    if valid and request.GET.get("export") in exports.FORMATS:
        return exports.vendor_export(vendor_filter.qs, request.GET["export"])
    choices = _choices(vendor_filter, skip=("service", "country", "ordering"))
    choices["service"] = service_choices()
    choices["country"] = country_choices(request.GET.getlist("country"))
    context = {
        "filter": vendor_filter,
        "choices": choices,
        "page": _page(request, vendor_filter.qs, vendor_filter.kept_count()) if valid else None,
        "filtered": any(v for k, v in request.GET.items() if k not in ("page", "ordering")),
        "active_filters": vendor_filter.active_count(),
    }
    return render(request, "vendors/vendor_list.html", context)


@login_required
@require_GET
def vendor_detail(request, pk: int):
    try:
        vendor = selectors.vendor_detail(pk)
    except Vendor.DoesNotExist:
        raise Http404("No such vendor.") from None
    qualifications = selectors.qualification_table(site.pk for site in vendor.sites.all())
    return render(request, "vendors/vendor_detail.html", {"vendor": vendor, "qualifications": qualifications})


@login_required
@require_http_methods(["GET", "POST"])
def vendor_edit(request, pk: int | None = None):
    vendor = get_object_or_404(Vendor, pk=pk) if pk else None
    perm = "vendors.change_vendor" if vendor else "vendors.add_vendor"
    if not request.user.has_perm(perm):
        raise PermissionDenied("Only procurement leads edit the vendor register.")
    form = VendorForm(request.POST or None, instance=vendor)
    contacts = ContactFormSet(request.POST or None, instance=vendor or Vendor(), prefix="contacts")
    if request.method == "POST" and form.is_valid() and contacts.is_valid():
        with transaction.atomic():
            is_new = vendor is None
            vendor = form.save(commit=False)
            if is_new:
                vendor.created_by = request.user
            vendor.save()
            form.save_m2m()
            contacts.instance = vendor
            contacts.save()
        messages.success(request, f"Saved {vendor.name}.")
        return redirect(vendor)
    return render(request, "vendors/vendor_form.html", {"form": form, "contacts": contacts, "vendor": vendor})


def _site_page(request, pk: int, bound: dict | None = None, status: int = 200):
    """The site page: facts, the approved-supplier list, inspections and the regulatory records, with
    an add form for each record the user may keep (a refused form comes back bound, with its errors)."""
    site = get_object_or_404(
        Site.objects.select_related("vendor").prefetch_related(
            "capabilities", "inspections", "warning_letters", "import_alerts", "gmp_certificates"
        ),
        pk=pk,
    )
    bound = bound or {}
    forms = {
        kind: bound.get(kind) or form_class()
        for kind, form_class in RECORD_FORMS.items()
        if access.can_keep(request.user, kind)
    }
    can_qualify = access.can_record_qualification(request.user)
    context = {
        "site": site,
        "forms": forms,
        "qualifications": selectors.qualification_table([site.pk]),
        "qualification_form": (bound.get("qualification") or SiteQualificationForm()) if can_qualify else None,
        "red_flags": selectors.site_red_flags([site.pk], selectors.red_flag_since())[site.pk],
    }
    return render(request, "vendors/site_detail.html", context, status=status)


@login_required
@require_GET
def site_detail(request, pk: int):
    return _site_page(request, pk)


@login_required
@require_POST
def site_record_add(request, pk: int, kind: str):
    """Add a warning letter, import alert or GMP certificate/statement to the site."""
    if kind not in RECORD_FORMS:
        raise Http404("No such record.")
    site = get_object_or_404(Site, pk=pk)
    if not access.can_keep(request.user, kind):
        raise PermissionDenied("Only auditors record regulatory records.")
    form = RECORD_FORMS[kind](request.POST, request.FILES, instance=RECORD_FORMS[kind]._meta.model(site=site))
    if not form.is_valid():
        return _site_page(request, pk, bound={kind: form})
    record = form.save()
    messages.success(request, f"Recorded: {record}.")
    return redirect(site)


@login_required
@require_POST
def site_qualification_record(request, pk: int):
    site = get_object_or_404(Site, pk=pk)
    if not access.can_record_qualification(request.user):
        raise PermissionDenied("Only quality assurance records a site's qualification.")
    form = SiteQualificationForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        with refusals_on_page(request, form, success="Qualification recorded.") as outcome:
            services.record_site_qualification(
                site=site,
                activity=data["activity"],
                status=data["status"],
                user=request.user,
                decided_on=data["decided_on"],
                requalification_due=data["requalification_due"],
                note=data["note"],
                source=data["source"],
            )
        if not outcome.refused:
            return redirect(site)
    return _site_page(request, pk, bound={"qualification": form})


@login_required
@require_http_methods(["GET", "POST"])
def site_edit(request, vendor_pk: int | None = None, pk: int | None = None):
    site = get_object_or_404(Site.objects.select_related("vendor"), pk=pk) if pk else None
    vendor = site.vendor if site else get_object_or_404(Vendor, pk=vendor_pk)
    perm = "vendors.change_site" if site else "vendors.add_site"
    if not request.user.has_perm(perm):
        raise PermissionDenied("Your role cannot edit sites.")
    form = SiteForm(request.POST or None, instance=site or Site(vendor=vendor))
    if request.method == "POST" and form.is_valid():
        site = form.save()
        messages.success(request, f"Saved site {site.name}.")
        return redirect(site)
    return render(request, "vendors/site_form.html", {"form": form, "site": site, "vendor": vendor})


@login_required
@require_http_methods(["GET", "POST"])
def inspection_edit(request, site_pk: int | None = None, pk: int | None = None):
    inspection = get_object_or_404(RegulatoryInspection.objects.select_related("site__vendor"), pk=pk) if pk else None
    site = inspection.site if inspection else get_object_or_404(Site.objects.select_related("vendor"), pk=site_pk)
    perm = "vendors.change_regulatoryinspection" if inspection else "vendors.add_regulatoryinspection"
    if not request.user.has_perm(perm):
        raise PermissionDenied("Only auditors record regulatory inspections.")
    form = InspectionForm(request.POST or None, instance=inspection or RegulatoryInspection(site=site))
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, "Inspection saved.")
        return redirect(site)
    return render(request, "vendors/inspection_form.html", {"form": form, "site": site, "inspection": inspection})


@login_required
@require_GET
def inspection_list(request):
    inspection_filter = InspectionFilter(request.GET, queryset=selectors.inspection_list())
    context = {
        "filter": inspection_filter,
        "page": _page(request, inspection_filter.qs) if inspection_filter.is_valid() else None,
        "filtered": any(v for k, v in request.GET.items() if k not in ("page", "ordering")),
    }
    return render(request, "vendors/inspection_list.html", context)


@login_required
@permission_required("vendors.add_importjob", raise_exception=True)
@require_http_methods(["GET", "POST"])
def import_list(request):
    form = ImportForm(request.POST or None, request.FILES or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        with refusals_on_page(request, form) as outcome:  # file storage down: the message, nothing kept
            job = services.import_job_create(
                user=request.user, target=form.cleaned_data["target"], upload=form.cleaned_data["file"]
            )
        if not outcome.refused:
            return redirect(job)
    jobs = access.visible_import_jobs(request.user).select_related("created_by")[:20]
    return render(request, "vendors/import_list.html", {"form": form, "jobs": jobs, "columns": exports.COLUMN_HELP})


@login_required
@permission_required("vendors.add_importjob", raise_exception=True)
@require_GET
def import_detail(request, pk: int):
    job = get_object_or_404(access.visible_import_jobs(request.user).select_related("created_by"), pk=pk)
    context = {"job": job, "progress": services.import_progress(job) if job.is_running else None}
    # htmx polls the status panel alone while the worker runs.
    template = "vendors/_import_status.html" if request.htmx else "vendors/import_detail.html"
    return render(request, template, context)


@login_required
@permission_required("vendors.add_importjob", raise_exception=True)
@require_POST
def import_confirm(request, pk: int):
    job = get_object_or_404(access.visible_import_jobs(request.user), pk=pk)
    if services.import_job_confirm(job=job):
        messages.info(request, "Import started.")
    else:
        messages.error(request, f"This file cannot be imported now: {job.get_status_display()}.")
    return redirect(job)
