"""RFP pages. Every write goes through rfp.services; refusals become messages or form errors."""

from __future__ import annotations

from functools import partial

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Count
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

import core.pdf
from core.errors import refusals_on_page
from core.storage import open_or_404
from rfp import access, answers, bidding, comparison, rendering, selectors, services
from rfp.forms import (
    AnswerForm,
    ExtensionForm,
    HorizonForm,
    InviteForm,
    OpenForm,
    ProposalForm,
    QuestionForm,
    RateChangeForm,
    RateForm,
    RfpForm,
    UploadForm,
)
from rfp.models import ExchangeRate, Invitation, Packet, Proposal, ProposalDocument, Question, Rfp, RfpTemplate
from scoring import shortlists
from scoring.access import visible_evaluations
from scoring.models import Shortlist
from vendors.models import Contact


def _rfp(request, pk: int) -> Rfp:
    rfp = (
        access.visible_rfps(request.user)
        .select_related("shortlist__evaluation__lead", "created_by")
        .filter(pk=pk)
        .first()
    )
    if rfp is None:
        raise Http404("No such RFP, or it is not shared with you.")
    return rfp


@login_required
@require_GET
def rfp_list(request):
    if not request.user.has_perm("rfp.view_rfp"):
        raise PermissionDenied("RFPs are for procurement, evaluation teams and managers.")
    rfps = (
        access.visible_rfps(request.user)
        .select_related("shortlist__evaluation")
        .annotate(
            vendors=Count("shortlist__entries", distinct=True),
            proposals_in=Count("proposals", distinct=True),
        )
        .order_by("-created_at")
    )
    approved = (
        Shortlist.objects.filter(
            status=Shortlist.Status.APPROVED,
            evaluation__in=visible_evaluations(request.user),
            evaluation__lead=request.user,
        )
        .select_related("evaluation")
        .order_by("-decided_at")
    )
    return render(request, "rfp/rfp_list.html", {"rfps": rfps, "approved": approved})


@login_required
@require_http_methods(["GET", "POST"])
def rfp_create(request, shortlist_pk: int):
    shortlist = get_object_or_404(
        Shortlist.objects.select_related("evaluation"),
        pk=shortlist_pk,
        evaluation__in=visible_evaluations(request.user),
    )
    if not access.can_manage(request.user, shortlist):
        raise PermissionDenied("Only the evaluation's lead issues RFPs.")
    evaluation = shortlist.evaluation
    initial = {
        "title": f"RFP: {evaluation.name}",
        "program_background": evaluation.description,
        "issue_date": timezone.localdate(),
        "contact_name": request.user.printed_name,
        "contact_email": request.user.email,
    }
    form = RfpForm(request.POST or None, initial=initial, evaluation=evaluation)
    if request.method == "POST" and form.is_valid():
        with refusals_on_page(
            request, form, success="RFP created. Add attachments, then generate the packets."
        ) as outcome:
            rfp = services.rfp_create(shortlist=shortlist, user=request.user, **form.cleaned_data)
        if not outcome.refused:
            return redirect(rfp)
    return render(request, "rfp/rfp_form.html", {"form": form, "shortlist": shortlist, "evaluation": evaluation})


@login_required
@require_http_methods(["GET", "POST"])
def rfp_edit(request, pk: int):
    rfp = _rfp(request, pk)
    if not access.can_manage(request.user, rfp.shortlist):
        raise PermissionDenied("Only the evaluation's lead edits the RFP.")
    form = RfpForm(request.POST or None, instance=Rfp.objects.get(pk=rfp.pk), evaluation=rfp.shortlist.evaluation)
    if request.method == "POST" and form.is_valid():
        saved = "RFP saved. Generate again to make new packet versions; the old ones stay."
        with refusals_on_page(request, form, success=saved) as outcome:
            services.rfp_update(rfp=rfp, user=request.user, **form.cleaned_data)
        if not outcome.refused:
            return redirect(rfp)
    return render(
        request,
        "rfp/rfp_form.html",
        {"form": form, "rfp": rfp, "shortlist": rfp.shortlist, "evaluation": rfp.shortlist.evaluation},
    )


def _candidates(rfp: Rfp) -> list:
    return [e.candidate for e in rfp.shortlist.entries.select_related("candidate__vendor")]


def _detail_context(request, rfp: Rfp, **forms) -> dict:
    """The page; `forms`: a bound form that was refused, shown with its errors in place of the blank one."""
    progress = services.progress(rfp)
    candidates = _candidates(rfp)
    flags = access.page_flags(request.user, rfp, progress["packets"])
    invitable = list(bidding.invitable_candidates(rfp))
    deadline = bidding.last_deadline(rfp)
    opened = bidding.is_opened(rfp)
    return {
        "rfp": rfp,
        "evaluation": rfp.shortlist.evaluation,
        "progress": progress,
        "flags": flags,
        "attachments": rfp.attachments.all(),
        "history": rfp.packets.select_related("candidate__vendor", "template"),
        "proposals": rfp.proposals.select_related("candidate__vendor").prefetch_related("documents"),
        "questions": rfp.questions.select_related("candidate__vendor", "asked_by"),
        "vendors": selectors.vendor_status(rfp),
        "deadline": deadline,
        "opened": opened,
        "openings": rfp.openings.select_related("opened_by"),
        "can_open": bidding.can_open(request.user, rfp) and not rfp.openings.filter(opened_by=request.user).exists(),
        "deadline_passed": timezone.now() >= deadline,
        "opened_uploads": bidding.opened_uploads(rfp) if opened else [],
        "invite_form": InviteForm(candidates=invitable, contacts=_contacts(invitable)),
        "extension_form": ExtensionForm(candidates=invitable),
        "open_form": OpenForm(),
        "proposal_form": ProposalForm(candidates=candidates),
        "question_form": QuestionForm(candidates=candidates),
        **forms,
    }


@login_required
@require_GET
def rfp_detail(request, pk: int):
    rfp = _rfp(request, pk)
    return render(request, "rfp/rfp_detail.html", _detail_context(request, rfp))


# --- The page's operations: one URL each, as in the API (rfp/api.py) -----------------------------------
#
# Each is a POST of one small form of the page; the form's cleaned_data are the keyword arguments of
# its rfp.services function, and the answer is a redirect back to the page with the outcome (PRG).
# Only the evaluation's lead operates (403 for the rest of the team, 404 for whoever cannot see the RFP);
# a form with errors changes nothing and is shown again with them (or, for the one-field forms, its
# errors become messages naming the field); a refusal by the service goes the same way.


def _managed_rfp(request, pk: int) -> Rfp:
    rfp = _rfp(request, pk)
    if not access.page_flags(request.user, rfp)["manage"]:
        raise PermissionDenied("Only the evaluation's lead manages the RFP.")
    return rfp


def _flash_errors(request, form) -> None:
    for name, errors in form.errors.items():
        field = form.fields.get(name)
        label = (field.label or name.replace("_", " ").capitalize()) if field else ""
        for error in errors:
            messages.error(request, f"{label}: {error}" if label else error)


def _operate(request, rfp: Rfp, form, call, *, success, slot: str = ""):
    """Run `call(**form.cleaned_data)` when the form is valid; `success` may be a function of the result.
    `slot`: the page's context name of the form, to show it again with its errors; without one, the
    errors and refusals are flashed and the page is shown again by the redirect."""
    if form.is_valid():
        with refusals_on_page(request, form if slot else None) as outcome:
            result = call(**form.cleaned_data)
        if not outcome.refused:
            messages.success(request, success(result) if callable(success) else success)
            return redirect(rfp)
    elif not slot:
        _flash_errors(request, form)
    if not slot:
        return redirect(rfp)
    return render(request, "rfp/rfp_detail.html", _detail_context(request, rfp, **{slot: form}))


def _generated(packets: list[Packet]) -> str:
    queued = sum(p.status == Packet.Status.QUEUED for p in packets)
    return f"{queued} packet(s) queued; {len(packets) - queued} unchanged, reused."


@login_required
@require_POST
def rfp_generate(request, pk: int):
    rfp = _managed_rfp(request, pk)
    call = partial(services.rfp_generate, rfp=rfp, user=request.user)
    return _operate(request, rfp, forms.Form(request.POST), call, success=_generated)


@login_required
@require_POST
def attachment_add(request, pk: int):
    rfp = _managed_rfp(request, pk)
    call = partial(services.attachment_add, rfp=rfp, user=request.user)
    form = UploadForm(request.POST, request.FILES)
    return _operate(request, rfp, form, call, success="Attachment added; generate again to put it into the packets.")


@login_required
@require_POST
def packet_retry(request, pk: int, packet_pk: int):
    rfp = _managed_rfp(request, pk)
    packet = get_object_or_404(Packet, rfp=rfp, pk=packet_pk)
    call = partial(services.packet_retry, packet=packet, user=request.user)
    return _operate(request, rfp, forms.Form(request.POST), call, success="Packet queued again.")


@login_required
@require_POST
def proposal_record(request, pk: int):
    rfp = _managed_rfp(request, pk)
    form = ProposalForm(request.POST, candidates=_candidates(rfp))
    call = partial(services.proposal_record, rfp=rfp, user=request.user)
    return _operate(request, rfp, form, call, success="Proposal recorded.", slot="proposal_form")


@login_required
@require_POST
def proposal_document_add(request, pk: int, proposal_pk: int):
    rfp = _managed_rfp(request, pk)
    proposal = get_object_or_404(Proposal, rfp=rfp, pk=proposal_pk)
    if request.POST.get("part") == "questionnaire":  # the filled questionnaire: read into answers and prices
        call = partial(bidding.mailed_questionnaire_add, proposal=proposal, user=request.user)
        success = "Questionnaire read: its answers and price lines are recorded as the vendor's response."
    else:
        call = partial(services.proposal_document_add, proposal=proposal, user=request.user)
        success = "Document added to the proposal."
    return _operate(request, rfp, UploadForm(request.POST, request.FILES), call, success=success)


@login_required
@require_POST
def question_record(request, pk: int):
    rfp = _managed_rfp(request, pk)
    form = QuestionForm(request.POST, candidates=_candidates(rfp))
    call = partial(services.question_record, rfp=rfp, user=request.user)
    return _operate(request, rfp, form, call, success="Question logged.", slot="question_form")


@login_required
@require_POST
def question_answer(request, pk: int, question_pk: int):
    rfp = _managed_rfp(request, pk)
    question = get_object_or_404(Question, rfp=rfp, pk=question_pk)
    call = partial(bidding.question_answer, question=question, user=request.user)
    return _operate(request, rfp, AnswerForm(request.POST), call, success=_answered)


def _answered(question: Question) -> str:
    if question.visibility == Question.Visibility.PRIVATE:
        return "Answer sent to the asking vendor only."
    return "Answer published to every invited vendor, without naming who asked."


# --- The supplier portal, the sponsor's side: invitations, extensions, the opening -----------------


def _contacts(candidates) -> list:
    """The register contacts with an e-mail address of these candidates' vendors."""
    vendor_ids = [c.vendor_id for c in candidates]
    return list(Contact.objects.filter(vendor_id__in=vendor_ids).exclude(email="").select_related("vendor"))


@login_required
@require_POST
def invitation_add(request, pk: int):
    rfp = _managed_rfp(request, pk)
    candidates = list(bidding.invitable_candidates(rfp))
    form = InviteForm(request.POST, candidates=candidates, contacts=_contacts(candidates))
    call = partial(bidding.invite, rfp=rfp, user=request.user)
    success = "Invitation e-mailed: the link asks for a one-time code sent to the same address."
    return _operate(request, rfp, form, call, success=success, slot="invite_form")


@login_required
@require_POST
def invitation_resend(request, pk: int, invitation_pk: int):
    rfp = _managed_rfp(request, pk)
    invitation = get_object_or_404(Invitation, rfp=rfp, pk=invitation_pk)
    call = partial(bidding.invitation_resend, invitation=invitation, user=request.user)
    return _operate(
        request, rfp, forms.Form(request.POST), call, success="A new link was e-mailed; the old one no longer works."
    )


@login_required
@require_POST
def invitation_revoke(request, pk: int, invitation_pk: int):
    rfp = _managed_rfp(request, pk)
    invitation = get_object_or_404(Invitation, rfp=rfp, pk=invitation_pk)
    call = partial(bidding.invitation_revoke, invitation=invitation, user=request.user)
    return _operate(
        request, rfp, forms.Form(request.POST), call, success="Invitation withdrawn; its link and session stop working."
    )


@login_required
@require_POST
def extension_grant(request, pk: int):
    rfp = _managed_rfp(request, pk)
    form = ExtensionForm(request.POST, candidates=bidding.invitable_candidates(rfp))
    call = partial(bidding.extension_grant, rfp=rfp, user=request.user)
    return _operate(
        request, rfp, form, call, success="Extension granted and e-mailed to the vendor.", slot="extension_form"
    )


@login_required
@require_POST
def proposals_open(request, pk: int):
    rfp = _rfp(request, pk)
    if not bidding.can_open(request.user, rfp):
        raise PermissionDenied("Only the evaluation's lead and the named second opener open the proposals.")
    form = OpenForm(request.POST)

    def opened(opening) -> str:
        if bidding.is_opened(rfp):
            return "Opening signed: the proposals are open."
        return "Opening signed. The proposals open when the second opener has signed too."

    call = partial(bidding.open_proposals, rfp=rfp, user=request.user, request=request)
    return _operate(request, rfp, form, call, success=opened, slot="open_form")


@login_required
@require_GET
def sealed_file(request, pk: int, upload_pk: int):
    rfp = _rfp(request, pk)
    with refusals_on_page(request) as outcome:
        upload = bidding.sealed_upload(rfp=rfp, user=request.user, upload_id=upload_pk)
    if outcome.refused:
        return redirect(rfp)
    response = FileResponse(open_or_404(upload.file), as_attachment=True, filename=upload.original_name)
    response["Content-Type"] = "application/octet-stream"
    response["Content-Security-Policy"] = "sandbox"
    return response


@login_required
@require_GET
def answers_page(request, pk: int):
    """The side-by-side answers matrix (questions x vendors), filtered by criterion and to the No/Partly
    answers; sealed until both openers have opened (rfp.answers)."""
    criterion, gaps_only = request.GET.get("criterion", "")[:200], request.GET.get("gaps") == "1"
    with refusals_on_page(request):
        rfp, matrix = answers.matrix_for(request.user, pk, criterion=criterion, gaps_only=gaps_only)
    rows = [
        (question, [matrix.cells.get((question.number, vendor.candidate_id)) for vendor in matrix.vendors])
        for question in matrix.questions
    ]
    context = {"rfp": rfp, "matrix": matrix, "rows": rows, "criterion": criterion, "gaps_only": gaps_only}
    return render(request, "rfp/answers.html", context)


@login_required
@require_GET
def rfp_progress(request, pk: int):
    """The packets panel alone: htmx polls it while packets are being generated."""
    rfp = _rfp(request, pk)
    progress = services.progress(rfp)
    flags = access.page_flags(request.user, rfp, progress["packets"])
    return render(request, "rfp/_packets.html", {"rfp": rfp, "progress": progress, "flags": flags})


FILES = {"pdf": ("pdf", "application/pdf"), "xlsx": ("questionnaire", None), "zip": ("bundle", "application/zip")}


@login_required
@require_GET
def packet_download(request, pk: int, kind: str):
    packet = get_object_or_404(
        Packet.objects.select_related("candidate__vendor"),
        pk=pk,
        rfp__in=access.visible_rfps(request.user),
        status=Packet.Status.DONE,
    )
    if kind not in FILES:
        raise Http404("No such file.")
    field, content_type = FILES[kind]
    stored = getattr(packet, field)
    name = f"{rendering.file_stem(packet)}{'-questionnaire' if kind == 'xlsx' else ''}.{kind}"
    response = FileResponse(open_or_404(stored), as_attachment=True, filename=name)
    if content_type:
        response["Content-Type"] = content_type
    return response


@login_required
@require_GET
def rfp_download_all(request, pk: int):
    """Every vendor's latest generated packet, each as its own ZIP, in one ZIP."""
    rfp = _rfp(request, pk)
    packets = [p for p in services.progress(rfp)["packets"] if p.status == Packet.Status.DONE]
    if not packets:
        messages.error(request, "No packet is generated yet.")
        return redirect(rfp)
    files = []
    for packet in packets:
        with open_or_404(packet.bundle) as handle:
            files.append((f"{rendering.file_stem(packet)}.zip", handle.read()))
    response = HttpResponse(rendering.bundle(files, timezone.now()), content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="{rfp.reference}-all-packets.zip"'
    return response


@login_required
@require_GET
def proposal_document(request, pk: int):
    document = get_object_or_404(ProposalDocument, pk=pk, proposal__rfp__in=access.visible_rfps(request.user))
    response = FileResponse(open_or_404(document.file), as_attachment=True, filename=document.original_name)
    response["Content-Type"] = "application/octet-stream"
    response["Content-Security-Policy"] = "sandbox"
    return response


@login_required
@require_GET
def template_list(request):
    if not request.user.has_perm("rfp.view_rfptemplate"):
        raise PermissionDenied("Procurement leads and managers see the RFP templates.")
    templates = RfpTemplate.objects.select_related("created_by").order_by("kind", "-version")
    kind = request.GET.get("kind")
    shown = next((t for t in templates if t.kind == kind), None) or (templates[0] if templates else None)
    return render(
        request,
        "rfp/template_list.html",
        {
            "templates": templates,
            "shown": shown,
            "sections": shown and [{**s, "html": rendering.markdown(s["body"])} for s in shown.sections],
        },
    )


@login_required
@require_GET
def rfp_record_pdf(request, pk: int):
    """The sponsor's internal record of the RFP (approval manifest, vendors, opening, Q&A): the
    internal counterpart of what the vendors receive, never sent to them."""
    rfp = _rfp(request, pk)
    shortlist = rfp.shortlist
    opened = bidding.is_opened(rfp)
    openings = list(rfp.openings.select_related("opened_by"))
    context = {
        "rfp": rfp,
        "evaluation": shortlist.evaluation,
        "shortlist": shortlist,
        "approval": shortlists.manifest(shortlist),
        "vendors": selectors.vendor_status(rfp),
        "deadline": bidding.last_deadline(rfp),
        "openings": openings,
        "opened": opened,
        "manifest": openings[-1].manifest if opened else {},
        "questions": rfp.questions.select_related("candidate__vendor"),
        "generated_at": timezone.now(),
    }
    pdf, _pages, _refused = core.pdf.render_pdf(render_to_string("rfp/record_pdf.html", context))
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{rfp.reference}-internal-record.pdf"'
    return response


# --- The comparison (rfp.comparison): horizon, exchange rates, total program costs, value for money ------


def _horizon_initial(horizon) -> dict:
    if horizon is None:
        return {}
    return {name: getattr(horizon, name) for name in comparison.HORIZON_FIELDS}


def _comparison_context(request, rfp: Rfp, **forms) -> dict:
    result = comparison.comparison(rfp, request.user)
    ordering = request.GET.get("ordering", "")[:20]
    status = request.GET.get("status", "")
    status = status if status in comparison.STATUSES else ""
    front = request.GET.get("front") == "1"
    return {
        "rfp": rfp,
        "evaluation": rfp.shortlist.evaluation,
        "c": result,
        "rows": comparison.table_rows(result, ordering=ordering, status=status, front=front),
        "status": status,
        "front": front,
        "statuses": comparison.STATUSES,
        "manage": access.can_manage(request.user, rfp.shortlist),
        "horizon_form": HorizonForm(initial=_horizon_initial(result.horizon)),
        "rate_form": RateForm(),
        "deadline": bidding.last_deadline(rfp),
        **forms,
    }


@login_required
@require_GET
def comparison_page(request, pk: int):
    """Total program costs side by side with the weighted scores, the value-for-money chart; the lead's
    horizon and exchange rates. Costs and scores stay sealed until both openers have opened."""
    rfp = _rfp(request, pk)
    return render(request, "rfp/comparison.html", _comparison_context(request, rfp))


def _comparison_operate(request, rfp: Rfp, form, call, *, success: str, slot: str = ""):
    """As _operate, back to the comparison page; a refused form is shown again in place (`slot`)."""
    if form.is_valid():
        with refusals_on_page(request, form if slot else None) as outcome:
            call(**form.cleaned_data)
        if not outcome.refused:
            messages.success(request, success)
            return redirect("rfp:comparison", rfp.pk)
    elif not slot:
        _flash_errors(request, form)
    if not slot:
        return redirect("rfp:comparison", rfp.pk)
    return render(request, "rfp/comparison.html", _comparison_context(request, rfp, **{slot: form}))


@login_required
@require_POST
def horizon_set(request, pk: int):
    rfp = _managed_rfp(request, pk)
    call = partial(comparison.horizon_set, rfp=rfp, user=request.user)
    return _comparison_operate(
        request, rfp, HorizonForm(request.POST), call, success="Program horizon saved.", slot="horizon_form"
    )


@login_required
@require_POST
def rate_add(request, pk: int):
    rfp = _managed_rfp(request, pk)
    call = partial(comparison.rate_add, rfp=rfp, user=request.user)
    return _comparison_operate(
        request, rfp, RateForm(request.POST), call, success="Exchange rate recorded.", slot="rate_form"
    )


@login_required
@require_POST
def rate_change(request, pk: int, rate_pk: int):
    rfp = _managed_rfp(request, pk)
    rate = get_object_or_404(ExchangeRate, rfp=rfp, pk=rate_pk)
    call = partial(comparison.rate_update, rate=rate, user=request.user)
    return _comparison_operate(
        request, rfp, RateChangeForm(request.POST), call, success=f"{rate.currency} rate changed."
    )


@login_required
@require_POST
def rate_remove(request, pk: int, rate_pk: int):
    rfp = _managed_rfp(request, pk)
    rate = get_object_or_404(ExchangeRate, rfp=rfp, pk=rate_pk)
    call = partial(comparison.rate_remove, rate=rate, user=request.user)
    return _comparison_operate(request, rfp, forms.Form(request.POST), call, success=f"{rate.currency} rate removed.")


def _opened_comparison(request, rfp: Rfp):
    result = comparison.comparison(rfp, request.user)
    if not result.opened:
        messages.error(request, "The proposals are sealed until the lead and the second opener have opened them.")
    return result


@login_required
@require_GET
def comparison_xlsx(request, pk: int):
    rfp = _rfp(request, pk)
    result = _opened_comparison(request, rfp)
    if not result.opened:
        return redirect("rfp:comparison", rfp.pk)
    response = HttpResponse(
        comparison.xlsx(result), content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    response["Content-Disposition"] = f'attachment; filename="{rfp.reference}-comparison.xlsx"'
    return response


@login_required
@require_GET
def comparison_pdf(request, pk: int):
    """Rendered here, not by a worker: a few pages, well under a second or two (see the report)."""
    rfp = _rfp(request, pk)
    result = _opened_comparison(request, rfp)
    if not result.opened:
        return redirect("rfp:comparison", rfp.pk)
    response = HttpResponse(comparison.pdf(result), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{rfp.reference}-comparison.pdf"'
    return response
