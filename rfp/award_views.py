"""The award pages: propose (the lead), the award with its snapshot, signatures and notices, the
decision (managers, quality assurance), and the notices' PDFs. Every write goes through rfp.awards."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from core.errors import refusals_on_page
from core.storage import open_or_404
from rfp import access, awards
from rfp.forms import AwardDecisionForm, AwardProposeForm
from rfp.models import Award, AwardDecision, AwardNotice, Rfp
from scoring.models import ProgramStep


def _rfp(request, pk: int) -> Rfp:
    rfp = (
        access.visible_rfps(request.user)
        .select_related("shortlist__evaluation__lead", "closed_by")
        .filter(pk=pk)
        .first()
    )
    if rfp is None:
        raise Http404("No such RFP, or it is not shared with you.")
    return rfp


def _award(request, pk: int, award_pk: int) -> tuple[Rfp, Award]:
    rfp = _rfp(request, pk)
    award = get_object_or_404(Award.objects.select_related("proposed_by"), rfp=rfp, pk=award_pk)
    return rfp, award


def _errors_text(form) -> str:
    return " ".join(
        f"{form.fields[name].label or name}: {' '.join(errors)}" if name in form.fields else " ".join(errors)
        for name, errors in form.errors.items()
    )


def _propose_form(rfp: Rfp, data=None, initial=None, eligible=None) -> AwardProposeForm:
    """The form offers the vendors that may be awarded (`eligible`: awards.eligible's rows, when read already)."""
    rows = [row for row in (eligible if eligible is not None else awards.eligible(rfp)) if row["eligible"]]
    steps = ProgramStep.objects.filter(evaluation_id=rfp.shortlist.evaluation_id)
    return AwardProposeForm(data, initial=initial, candidates=[row["candidate"] for row in rows], steps=steps)


def _draft_initial(award: Award | None) -> dict:
    if award is None or award.status != Award.Status.DRAFT:
        return {}
    initial: dict = {"rationale": award.rationale, "required_approvals": award.required_approvals}
    for line in award.lines.all():
        initial |= {f"award_{line.candidate_id}": True, f"scope_{line.candidate_id}": line.scope}
        initial[f"step_{line.candidate_id}"] = line.step_id
    return initial


@login_required
@require_GET
def award_page(request, pk: int):
    """The vendors with their figures, the versions of the award, and the lead's proposal form."""
    rfp = _rfp(request, pk)
    versions = list(rfp.awards.select_related("proposed_by").order_by("-version"))
    latest = versions[0] if versions else None
    cost_basis, figures = awards.vendor_figures(rfp, request.user)
    is_lead = access.can_manage(request.user, rfp.shortlist)
    must_open = awards.must_open_first(rfp)
    can_propose = (
        is_lead
        and not rfp.closed_at
        and not must_open
        and not (latest and latest.status in (Award.Status.SUBMITTED, Award.Status.APPROVED))
    )
    context = {
        "rfp": rfp,
        "evaluation": rfp.shortlist.evaluation,
        "versions": versions,
        "latest": latest,
        "figures": figures,
        "cost_basis": cost_basis,
        "must_open": must_open,
        "is_lead": is_lead,
        "can_propose": can_propose,
        "form": _propose_form(rfp, initial=_draft_initial(latest)) if can_propose else None,
    }
    return render(request, "rfp/award.html", context)


@login_required
@require_POST
def award_propose(request, pk: int):
    rfp = _rfp(request, pk)
    if not access.can_manage(request.user, rfp.shortlist):
        raise PermissionDenied("Only the evaluation's lead proposes the award.")
    form = _propose_form(rfp, request.POST)
    if not form.is_valid():
        messages.error(request, _errors_text(form))
        return redirect("rfp:awards", pk=rfp.pk)
    submit = request.POST.get("action") == "submit"
    with refusals_on_page(request, success="Submitted for approval." if submit else "Draft saved.") as outcome:
        award = awards.award_propose(rfp=rfp, user=request.user, **form.cleaned_data)
        if submit:
            award = awards.award_submit(award=award, user=request.user)
    if submit and not outcome.refused:
        return redirect(award.get_absolute_url())
    return redirect("rfp:awards", pk=rfp.pk)


@login_required
@require_GET
def award_detail(request, pk: int, award_pk: int):
    """Exactly what was submitted (the frozen snapshot), its hash, the signatures, the notices, the decision form."""
    rfp, award = _award(request, pk, award_pk)
    progress = awards.notices_progress(award)
    context = {
        "rfp": rfp,
        "evaluation": rfp.shortlist.evaluation,
        "award": award,
        "snapshot": award.snapshot,
        "lines": award.lines.select_related("candidate__vendor", "step"),
        "intact": awards.snapshot_intact(award),
        "lines_match": not award.snapshot or awards.lines_match_snapshot(award),
        "manifest": awards.manifest(award),
        "approvals": award.decisions.filter(decision=AwardDecision.Decision.APPROVE).count(),
        "can_decide": awards.can_decide(request.user, award),
        "can_submit": award.status == Award.Status.DRAFT and access.can_manage(request.user, rfp.shortlist),
        "decisions": AwardDecision.Decision.choices,
        "progress": progress,
        "can_retry": access.can_manage(request.user, rfp.shortlist),
    }
    return render(request, "rfp/award_detail.html", context)


@login_required
@require_POST
def award_submit(request, pk: int, award_pk: int):
    rfp, award = _award(request, pk, award_pk)
    if not access.can_manage(request.user, rfp.shortlist):
        raise PermissionDenied("Only the evaluation's lead submits the award.")
    with refusals_on_page(request, success="Submitted for approval."):
        awards.award_submit(award=award, user=request.user)
    return redirect(award.get_absolute_url())


@login_required
@require_POST
def award_decide(request, pk: int, award_pk: int):
    _, award = _award(request, pk, award_pk)
    if not request.user.has_perm(awards.DECIDE_PERMISSION):
        raise PermissionDenied("Only managers and quality assurance approve, reject or return awards.")
    form = AwardDecisionForm(request.POST)
    if not form.is_valid():
        messages.error(request, _errors_text(form))
        return redirect(award.get_absolute_url())
    with refusals_on_page(request, success="Your decision is signed and recorded."):
        awards.award_decide(request=request, award=award, user=request.user, **form.cleaned_data)
    return redirect(award.get_absolute_url())


@login_required
@require_POST
def notice_retry(request, pk: int, award_pk: int, notice_pk: int):
    rfp, award = _award(request, pk, award_pk)
    if not access.can_manage(request.user, rfp.shortlist):
        raise PermissionDenied("Only the evaluation's lead manages the notices.")
    notice = get_object_or_404(AwardNotice, award=award, pk=notice_pk)
    with refusals_on_page(request, success="Notice queued again."):
        awards.notice_retry(notice=notice, user=request.user)
    return redirect(award.get_absolute_url())


@login_required
@require_GET
def notice_pdf(request, pk: int):
    notice = get_object_or_404(
        AwardNotice.objects.select_related("award__rfp"),
        pk=pk,
        award__rfp__in=access.visible_rfps(request.user),
        status=AwardNotice.Status.DONE,
    )
    name = f"{notice.award.rfp.reference}-{notice.kind}-notice-{notice.candidate_id}.pdf"
    response = FileResponse(open_or_404(notice.pdf), as_attachment=True, filename=name)
    response["Content-Type"] = "application/pdf"
    return response
