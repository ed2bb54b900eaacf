"""RFP pages. Every write goes through rfp.services; refusals become messages or form errors."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Count
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods

from core.errors import ServiceError, refusals_on_page
from core.forms import posted_id
from rfp import access, rendering, services
from rfp.forms import DeliveryForm, ProposalForm, QuestionForm, RfpForm
from rfp.models import Packet, Proposal, ProposalDocument, Question, Rfp, RfpTemplate
from scoring.access import visible_evaluations
from scoring.models import Shortlist


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
    form = RfpForm(request.POST or None, initial=initial)
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
    form = RfpForm(request.POST or None, instance=Rfp.objects.get(pk=rfp.pk))
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


def _detail_context(request, rfp: Rfp) -> dict:
    candidates = [e.candidate for e in rfp.shortlist.entries.select_related("candidate__vendor")]
    return {
        "rfp": rfp,
        "evaluation": rfp.shortlist.evaluation,
        "progress": services.progress(rfp),
        "can_manage": access.can_manage(request.user, rfp.shortlist),
        "attachments": rfp.attachments.all(),
        "history": rfp.packets.select_related("candidate__vendor", "template").prefetch_related("deliveries"),
        "proposals": rfp.proposals.select_related("candidate__vendor").prefetch_related("documents"),
        "questions": rfp.questions.select_related("candidate__vendor"),
        "proposal_form": ProposalForm(candidates=candidates),
        "question_form": QuestionForm(candidates=candidates),
        "delivery_form": DeliveryForm(),
    }


@login_required
@require_http_methods(["GET", "POST"])
def rfp_detail(request, pk: int):
    rfp = _rfp(request, pk)
    if request.method == "POST":
        return _detail_action(request, rfp)
    return render(request, "rfp/rfp_detail.html", _detail_context(request, rfp))


def _detail_action(request, rfp: Rfp):
    """One POST endpoint for the page's small forms (action=...)."""
    action = request.POST.get("action", "")
    user = request.user
    candidates = [e.candidate for e in rfp.shortlist.entries.select_related("candidate__vendor")]
    with refusals_on_page(request):
        try:
            if action == "generate":
                packets = services.rfp_generate(rfp=rfp, user=user)
                queued = sum(p.status == Packet.Status.QUEUED for p in packets)
                messages.success(request, f"{queued} packet(s) queued; {len(packets) - queued} unchanged, reused.")
            elif action == "attach":
                if "file" not in request.FILES:
                    raise ServiceError("Choose a file.", "file")
                services.attachment_add(rfp=rfp, user=user, upload=request.FILES["file"])
                messages.success(request, "Attachment added; generate again to put it into the packets.")
            elif action == "retry":
                packet = get_object_or_404(Packet, rfp=rfp, pk=posted_id(request, "packet"))
                services.packet_retry(packet=packet, user=user)
                messages.success(request, "Packet queued again.")
            elif action == "deliver":
                packet = get_object_or_404(Packet, rfp=rfp, pk=posted_id(request, "packet"))
                form = DeliveryForm(request.POST)
                if not form.is_valid():
                    raise ServiceError("; ".join(e for errors in form.errors.values() for e in errors))
                services.delivery_record(packet=packet, user=user, **form.cleaned_data)
                messages.success(request, "Sending recorded.")
            elif action == "proposal":
                form = ProposalForm(request.POST, candidates=candidates)
                if not form.is_valid():
                    raise ServiceError("; ".join(e for errors in form.errors.values() for e in errors))
                data = form.cleaned_data
                services.proposal_record(
                    rfp=rfp,
                    user=user,
                    candidate_id=data["candidate"],
                    received_on=data["received_on"],
                    price=data["price"],
                    currency=data["currency"],
                    notes=data["notes"],
                )
                messages.success(request, "Proposal recorded.")
            elif action == "document":
                proposal = get_object_or_404(Proposal, rfp=rfp, pk=posted_id(request, "proposal"))
                if "file" not in request.FILES:
                    raise ServiceError("Choose a file.", "file")
                services.proposal_document_add(proposal=proposal, user=user, upload=request.FILES["file"])
                messages.success(request, "Document added to the proposal.")
            elif action == "question":
                form = QuestionForm(request.POST, candidates=candidates)
                if not form.is_valid():
                    raise ServiceError("; ".join(e for errors in form.errors.values() for e in errors))
                data = form.cleaned_data
                services.question_record(
                    rfp=rfp,
                    user=user,
                    candidate_id=data["candidate"],
                    question=data["question"],
                    asked_on=data["asked_on"],
                )
                messages.success(request, "Question logged.")
            elif action == "answer":
                question = get_object_or_404(Question, rfp=rfp, pk=posted_id(request, "question"))
                answered_on = request.POST.get("answered_on") or timezone.localdate().isoformat()
                services.question_answer(
                    question=question,
                    user=user,
                    answer=request.POST.get("answer", ""),
                    answered_on=timezone.datetime.fromisoformat(answered_on).date(),
                )
                messages.success(request, "Answer logged.")
            else:
                messages.error(request, "Unknown action.")
        except ValueError:
            messages.error(request, "Give dates as YYYY-MM-DD.")
    return redirect(rfp)


@login_required
@require_GET
def rfp_progress(request, pk: int):
    """The packets panel alone: htmx polls it while packets are being generated."""
    rfp = _rfp(request, pk)
    return render(
        request,
        "rfp/_packets.html",
        {"rfp": rfp, "progress": services.progress(rfp), "can_manage": access.can_manage(request.user, rfp.shortlist)},
    )


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
    response = FileResponse(stored.open("rb"), as_attachment=True, filename=name)
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
        with packet.bundle.open("rb") as handle:
            files.append((f"{rendering.file_stem(packet)}.zip", handle.read()))
    response = HttpResponse(rendering.bundle(files), content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="RFP-{rfp.pk:05d}-all-packets.zip"'
    return response


@login_required
@require_GET
def proposal_document(request, pk: int):
    document = get_object_or_404(ProposalDocument, pk=pk, proposal__rfp__in=access.visible_rfps(request.user))
    response = FileResponse(document.file.open("rb"), as_attachment=True, filename=document.original_name)
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
