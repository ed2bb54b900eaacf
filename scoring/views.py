"""Evaluation pages. Every write goes through scoring.services; refusals become messages."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Count
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from core.errors import refusals_on_page
from core.forms import posted_id
from scoring import access, charts, exports, selectors, services, shortlists
from scoring.forms import EvaluationForm, KnockoutForm
from scoring.models import Candidate, Criterion, Evaluation, Score, Shortlist, ShortlistDecision, Submission
from vendors.models import Vendor


def _evaluation(request, pk: int) -> Evaluation:
    evaluation = (
        access.visible_evaluations(request.user)
        .filter(pk=pk)
        .select_related("lead", "modality", "dosage_form", "phase")
        .first()
    )
    if evaluation is None:
        raise Http404("No such evaluation, or it is not shared with you.")
    return evaluation


@login_required
@require_GET
def evaluation_list(request):
    evaluations = (
        access.visible_evaluations(request.user)
        .select_related("lead")
        .annotate(candidate_count=Count("candidates", distinct=True))
        .order_by("-created_at")
    )
    status = request.GET.get("status")
    if status in Evaluation.Status.values:
        evaluations = evaluations.filter(status=status)
    return render(
        request,
        "scoring/evaluation_list.html",
        {
            "evaluations": evaluations,
            "can_create": access.can_create_evaluation(request.user),
            "statuses": Evaluation.Status.choices,
            "status": status,
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def evaluation_create(request):
    if not access.can_create_evaluation(request.user):
        raise PermissionDenied("Only procurement leads create evaluations.")
    form = EvaluationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        evaluators = data.pop("evaluators")
        evaluation = services.evaluation_create(lead=request.user, evaluators=evaluators, **data)
        messages.success(request, "Evaluation created with the default scorecard and equal weights.")
        return redirect(evaluation)
    return render(request, "scoring/evaluation_form.html", {"form": form})


@login_required
@require_http_methods(["GET", "POST"])
def evaluation_detail(request, pk: int):
    evaluation = _evaluation(request, pk)
    is_lead = access.is_lead(request.user, evaluation)
    if request.method == "POST":
        if not is_lead:
            raise PermissionDenied("Only the evaluation's lead can change it.")
        action = request.POST.get("action", "")
        if action in services.TRANSITIONS:
            with refusals_on_page(request, success=f"Done: {services.TRANSITIONS[action]}."):
                services.evaluation_transition(
                    evaluation=evaluation, user=request.user, action=action, reason=request.POST.get("reason", "")
                )
        elif action == "add_candidate":
            vendor = Vendor.objects.filter(pk=posted_id(request, "vendor")).first()
            if vendor is None:
                messages.error(request, "Choose a vendor from the register.")
            else:
                with refusals_on_page(request, success=f"{vendor.name} added."):
                    services.candidate_add(evaluation=evaluation, user=request.user, vendor=vendor)
        elif action == "override":
            candidate = get_object_or_404(
                Candidate.objects.select_related("evaluation"),
                pk=posted_id(request, "candidate"),
                evaluation=evaluation,
            )
            with refusals_on_page(request, success="Knock-out overridden."):
                services.candidate_override_knockout(
                    candidate=candidate, user=request.user, reason=request.POST.get("reason", "")
                )
        elif action == "knockouts":
            form = KnockoutForm(request.POST)
            if form.is_valid():
                rules = dict.fromkeys(form.cleaned_data["rules"], form.cleaned_data["years"])
                with refusals_on_page(request, success="Must-have gates saved."):
                    services.knockout_rule_set(evaluation=evaluation, user=request.user, rules=rules)
            else:
                messages.error(
                    request, "Check the gates: " + "; ".join(e for errors in form.errors.values() for e in errors)
                )
        elif action == "add_criterion":
            fields = {k: request.POST.get(k, "") for k in ("name", "description", "rubric_1", "rubric_3", "rubric_5")}
            parent = Criterion.objects.filter(evaluation=evaluation, pk=posted_id(request, "parent")).first()
            with refusals_on_page(
                request,
                success="Sub-criterion added." if parent else "Criterion added at weight 0: adjust the weights.",
            ):
                services.criterion_add(
                    evaluation=evaluation,
                    user=request.user,
                    parent=parent,
                    local_weight=request.POST.get("local_weight") or 1,
                    **fields,
                )
        elif action in ("update_criterion", "remove_criterion"):
            criterion = get_object_or_404(
                Criterion.objects.select_related("evaluation"),
                evaluation=evaluation,
                pk=posted_id(request, "criterion"),
            )
            if action == "remove_criterion":
                with refusals_on_page(request, success="Criterion removed; the other weights were rescaled to 100 %."):
                    services.criterion_remove(criterion=criterion, user=request.user)
            else:
                fields = {
                    k: request.POST.get(k, "") for k in ("name", "description", "rubric_1", "rubric_3", "rubric_5")
                }
                if "evidence" in request.POST:
                    fields["evidence"] = request.POST["evidence"]
                with refusals_on_page(request, success="Criterion saved."):
                    services.criterion_update(criterion=criterion, user=request.user, **fields)
        elif action in ("weights_direct", "weights_ahp"):
            _save_weights(request, evaluation, action)
        else:
            messages.error(request, "Unknown action.")
        return redirect(evaluation)
    weight_set = selectors.current_weight_set(evaluation)
    criteria = list(evaluation.top_criteria().prefetch_related("children"))
    percents = {w.criterion_id: w.percent for w in weight_set.weights.all()} if weight_set else {}
    result = selectors.ranking(evaluation, request.user)
    suggestions, needed = selectors.candidate_suggestions(evaluation) if is_lead else ([], 0)
    rules = {r.rule: r.years for r in evaluation.knockout_rules.all()}
    return render(
        request,
        "scoring/evaluation_detail.html",
        {
            "evaluation": evaluation,
            "is_lead": is_lead,
            "is_evaluator": access.is_evaluator(request.user, evaluation),
            "criteria_weights": [(c, percents.get(c.pk)) for c in criteria],
            "weight_set": weight_set,
            "weight_history": evaluation.weight_sets.select_related("created_by").order_by("-version"),
            "ahp_rows": _ahp_rows(criteria, weight_set),
            "ranking": result,
            # A list of candidates, not a ranking: in name order for everyone, whatever anyone scored.
            "candidate_rows": sorted(result.rows, key=lambda r: (r.candidate.vendor.name.casefold(), r.candidate.pk)),
            "waiting_for": [user for user, _done, _expected, submitted in result.evaluator_progress if not submitted],
            "suggestions": suggestions,
            "services_needed": needed,
            "knockout_form": KnockoutForm(initial={"rules": list(rules), "years": next(iter(rules.values()), 5)}),
            "transitions": [
                (name, label) for name, label in services.TRANSITIONS.items() if _can_transition(evaluation, name)
            ],
            "evidence_choices": Criterion.Evidence.choices,
        },
    )


VENDOR_SEARCH_LIMIT = 15


@login_required
@require_GET
def vendor_search(request, pk: int):
    """The lead's vendor picker: register vendors whose name matches, not yet candidates (htmx).
    A search instead of a list of the whole register, which may hold thousands."""
    evaluation = _evaluation(request, pk)
    if not access.is_lead(request.user, evaluation):
        raise PermissionDenied("Only the evaluation's lead adds candidates.")
    query = request.GET.get("q", "").strip()[:100].replace("\x00", "")
    vendors = []
    if len(query) >= 2:
        vendors = list(
            Vendor.objects.filter(name__icontains=query)
            .exclude(candidacies__evaluation=evaluation)
            .prefetch_related("kinds")
            .order_by("name")[: VENDOR_SEARCH_LIMIT + 1]
        )
    return render(
        request,
        "scoring/_vendor_search.html",
        {
            "evaluation": evaluation,
            "query": query,
            "vendors": vendors[:VENDOR_SEARCH_LIMIT],
            "more": len(vendors) > VENDOR_SEARCH_LIMIT,
        },
    )


def _can_transition(evaluation: Evaluation, name: str) -> bool:
    return any(t.name == name for t in evaluation.get_available_status_transitions())


def _ahp_rows(criteria, weight_set):
    matrix = weight_set.pairwise if weight_set and weight_set.pairwise else None
    return [
        (row, [(col, (matrix[i][j] if matrix else 1), j > i) for j, col in enumerate(criteria)])
        for i, row in enumerate(criteria)
    ]


def _save_weights(request, evaluation: Evaluation, action: str) -> None:
    criteria = list(evaluation.top_criteria())
    reason = request.POST.get("reason", "")
    if action == "weights_direct":
        percents = {c.key: request.POST.get(f"weight_{c.key}", "").strip() or "0" for c in criteria}
        try:
            parsed = {k: Decimal(v) for k, v in percents.items()}
        except InvalidOperation:
            messages.error(request, "Weights must be numbers.")
            return
        with refusals_on_page(request, success="New weights saved."):
            services.weights_set_direct(evaluation=evaluation, user=request.user, percents=parsed, reason=reason)
        return
    n = len(criteria)
    matrix = [[1.0] * n for _ in range(n)]
    try:
        for i in range(n):
            for j in range(i + 1, n):
                value = _saaty(request.POST.get(f"ahp_{i}_{j}", "1"))
                matrix[i][j], matrix[j][i] = value, 1 / value
    except ValueError:
        messages.error(request, "Each comparison is a number from 1/9 to 9 (e.g. 3 or 1/3).")
        return
    with refusals_on_page(request, success="Weights derived from the pairwise comparisons."):
        services.weights_set_ahp(
            evaluation=evaluation,
            user=request.user,
            pairwise=matrix,
            justification=request.POST.get("justification", ""),
            reason=reason,
        )


def _saaty(text: str) -> float:
    text = text.strip()
    if "/" in text:
        top, bottom = text.split("/", 1)
        value = float(top) / float(bottom)
    else:
        value = float(text)
    if not 1 / 9 - 1e-9 <= value <= 9 + 1e-9:
        raise ValueError(text)
    return value


RANKING_BAR_WIDTH = 140  # px: narrow enough for six criteria columns beside it at 1440 px


@login_required
@require_http_methods(["GET", "POST"])
def ranking_page(request, pk: int):
    evaluation = _evaluation(request, pk)
    if request.method == "POST":
        candidate = (
            Candidate.objects.filter(evaluation=evaluation, pk=posted_id(request, "candidate"))
            .select_related("evaluation", "vendor")
            .first()
        )
        criterion = Criterion.objects.filter(evaluation=evaluation, pk=posted_id(request, "criterion")).first()
        if candidate is None or criterion is None:
            messages.error(request, "Choose a candidate and a derived criterion.")
        else:
            with refusals_on_page(request, success=f"{criterion.name} of {candidate.vendor.name} overridden."):
                services.derived_override(
                    candidate=candidate,
                    criterion=criterion,
                    user=request.user,
                    value=request.POST.get("value", ""),
                    justification=request.POST.get("justification", ""),
                )
        return redirect("scoring:ranking", pk=evaluation.pk)
    result = selectors.ranking(evaluation, request.user)
    if request.GET.get("export") in exports.FORMATS and not result.withheld:
        return exports.ranking_export(result, request.GET["export"])
    return render(
        request,
        "scoring/ranking.html",
        {
            "evaluation": evaluation,
            "ranking": result,
            "table": [
                (row, charts.contribution_bar(row.contributions, result.criteria, width=RANKING_BAR_WIDTH))
                for row in result.rows
            ],
            "header": list(zip(result.criteria, result.weights, result.not_applicable_reasons, strict=True)),
            "not_applicable": [
                (c, reason) for c, reason in zip(result.criteria, result.not_applicable_reasons, strict=True) if reason
            ],
            "agreement": list(zip(result.criteria, result.agreement, strict=True)),
            "legend": charts.legend(result.criteria),
            "flag": selectors.DISAGREEMENT_FLAG,
            "is_evaluator": access.is_evaluator(request.user, evaluation),
            "can_override": evaluation.status != Evaluation.Status.CLOSED
            and (access.is_lead(request.user, evaluation) or access.is_evaluator(request.user, evaluation)),
            # A criterion that does not apply has no value to override.
            "derived_criteria": [
                c for c, na in zip(result.criteria, result.not_applicable_reasons, strict=True) if c.evidence and not na
            ],
        },
    )


HEATMAP_SIZE = 15


@login_required
@require_GET
def sensitivity_page(request, pk: int):
    evaluation = _evaluation(request, pk)
    result = selectors.ranking(evaluation, request.user)
    data = None if result.withheld else selectors.sensitivity(result)
    context = {
        "evaluation": evaluation,
        "ranking": result,
        "data": data,
        "is_evaluator": access.is_evaluator(request.user, evaluation),
    }
    if data and data["tipping"] is not None:
        names = [c.vendor.name for c in data["candidates"]]
        context["tipping_chart"] = charts.tipping_points(data["tipping"], result.criteria, names)
        # The heat map shows the top of the ranking; the shares are computed over every candidate.
        top = HEATMAP_SIZE
        context["heatmap"] = charts.acceptability_heatmap(data["acceptability"][:top, :top], names[:top])
        context["heatmap_cut"] = len(names) > top
        context["leader"] = names[data["tipping"].leader]
    return render(request, "scoring/sensitivity.html", context)


@login_required
@require_GET
def compare_page(request, pk: int):
    evaluation = _evaluation(request, pk)
    result = selectors.ranking(evaluation, request.user)
    chosen = [int(x) for x in request.GET.getlist("c") if x.isascii() and x.isdecimal()][:4]
    rows = (
        [row for row in result.rows if row.candidate.pk in chosen] if chosen else [r for r in result.rows if r.rank][:4]
    )
    return render(
        request,
        "scoring/compare.html",
        {
            "evaluation": evaluation,
            "ranking": result,
            "rows": rows,
            "is_evaluator": access.is_evaluator(request.user, evaluation),
            "legend": [(row.candidate.vendor.name, charts.colour(i)) for i, row in enumerate(rows)],
            "by_criterion": [
                (c, reason, [row.cells[j] for row in rows])
                for j, (c, reason) in enumerate(zip(result.criteria, result.not_applicable_reasons, strict=True))
            ],
            "not_applicable": result.not_applicable,
            "radar": None if result.withheld or not rows else charts.radar(rows, result.criteria),
        },
    )


@login_required
@require_GET
def scoring_grid(request, pk: int):
    evaluation = _evaluation(request, pk)
    if not access.is_evaluator(request.user, evaluation):
        raise PermissionDenied("Only the evaluation's evaluators score it.")
    criteria = list(evaluation.scored_criteria().select_related("parent"))
    # Whatever their source says now: a lead can turn a judged criterion into a derived one.
    derived_criteria = list(evaluation.criteria.exclude(evidence="").only("name"))
    candidates = list(evaluation.candidates.select_related("vendor"))
    mine = {
        (s.candidate_id, s.criterion_id): s
        for s in Score.objects.filter(candidate__evaluation=evaluation, evaluator=request.user)
    }
    submitted = Submission.objects.filter(evaluation=evaluation, evaluator=request.user).first()
    grid = [
        (candidate, [(criterion, mine.get((candidate.pk, criterion.pk))) for criterion in criteria])
        for candidate in candidates
    ]
    done = len(mine)
    return render(
        request,
        "scoring/grid.html",
        {
            "evaluation": evaluation,
            "criteria": criteria,
            "derived_criteria": derived_criteria,
            "grid": grid,
            "submitted": submitted,
            "is_evaluator": True,
            "open": evaluation.status == Evaluation.Status.SCORING and not submitted,
            "done": done,
            "expected": len(criteria) * len(candidates),
        },
    )


@login_required
@require_POST
def score_cell(request, pk: int):
    """Saves one cell from the grid (htmx) and answers with the cell's new state."""
    evaluation = _evaluation(request, pk)
    if not access.is_evaluator(request.user, evaluation):
        raise PermissionDenied("Only the evaluation's evaluators score it.")
    revision = request.POST.get("revision") or None
    candidate_id, criterion_id = request.POST.get("candidate", ""), request.POST.get("criterion", "")
    if not (
        candidate_id.isascii() and candidate_id.isdecimal() and criterion_id.isascii() and criterion_id.isdecimal()
    ):
        return HttpResponse("Unknown cell.", status=400)
    criterion = get_object_or_404(Criterion, pk=criterion_id, evaluation=evaluation)
    candidate = get_object_or_404(Candidate.objects.select_related("vendor"), pk=candidate_id, evaluation=evaluation)
    score = None
    with refusals_on_page(request, notify=False) as outcome:  # the cell shows the refusal itself
        score = services.score_save(
            evaluation=evaluation,
            user=request.user,
            candidate_id=candidate.pk,
            criterion_id=criterion.pk,
            value=request.POST.get("value", ""),
            rationale=request.POST.get("rationale", "")[:5000],
            evidence_url=request.POST.get("evidence_url", "").strip(),
            revision=int(revision) if revision and revision.isascii() and revision.isdecimal() else None,
        )
    error = ""
    if outcome.error:
        error = outcome.error.message
        score = Score.objects.filter(candidate=candidate, criterion=criterion, evaluator=request.user).first()
    response = render(
        request,
        "scoring/_cell.html",
        {
            "evaluation": evaluation,
            "candidate": candidate,
            "criterion": criterion,
            "score": score,
            "error": error,
            "open": True,
        },
    )
    if error:
        response.status_code = 200  # htmx swaps 2xx only; the cell shows the error itself
    return response


@login_required
@require_POST
def submit_scores(request, pk: int):
    evaluation = _evaluation(request, pk)
    with refusals_on_page(
        request, success="Scores submitted. You now see the other evaluators' scores and the ranking."
    ):
        services.evaluator_submit(evaluation=evaluation, user=request.user)
    return redirect("scoring:grid", pk=evaluation.pk)


def _shortlist_context(request, evaluation: Evaluation) -> dict:
    versions = list(evaluation.shortlists.select_related("proposed_by").order_by("-version"))
    latest = versions[0] if versions else None
    return {"evaluation": evaluation, "versions": versions, "latest": latest, "tab": "shortlist"}


@login_required
@require_http_methods(["GET", "POST"])
def shortlist_page(request, pk: int):
    """The lead picks vendors from the ranking, gives the rationale and submits for signatures."""
    evaluation = _evaluation(request, pk)
    is_lead = access.is_lead(request.user, evaluation)
    if request.method == "POST":
        if not is_lead:
            raise PermissionDenied("Only the evaluation's lead proposes shortlists.")
        submit = request.POST.get("action") == "submit"
        with refusals_on_page(request, success="Submitted for approval." if submit else "Draft saved.") as outcome:
            shortlist = shortlists.shortlist_propose(
                evaluation=evaluation,
                user=request.user,
                candidate_ids=request.POST.getlist("candidates"),
                rationale=request.POST.get("rationale", ""),
                required_approvals=request.POST.get("required_approvals"),
            )
            if submit:
                shortlists.shortlist_submit(shortlist=shortlist, user=request.user)
        if submit and not outcome.refused:
            return redirect(shortlist.get_absolute_url())
        return redirect("scoring:shortlists", pk=evaluation.pk)
    context = _shortlist_context(request, evaluation)
    latest = context["latest"]
    result = selectors.ranking(evaluation, request.user)
    draft = latest if latest and latest.status == Shortlist.Status.DRAFT else None
    basis = draft or latest
    chosen = set(basis.entries.values_list("candidate_id", flat=True)) if basis else set()
    can_propose = (
        is_lead
        and evaluation.status in (Evaluation.Status.REVIEW, Evaluation.Status.CLOSED)
        and not (latest and latest.status in (Shortlist.Status.SUBMITTED, Shortlist.Status.APPROVED))
    )
    context.update(
        {
            "ranking": result,
            "rows": [(row, row.candidate.pk in chosen) for row in result.rows],
            "draft": draft,
            "basis": basis,
            "can_propose": can_propose,
            "minimum_approvals": max(evaluation.required_approvals, settings.SHORTLIST_REQUIRED_APPROVALS),
            "policy_raised": evaluation.required_approvals > settings.SHORTLIST_REQUIRED_APPROVALS,
            "is_evaluator": access.is_evaluator(request.user, evaluation),
        }
    )
    return render(request, "scoring/shortlists.html", context)


def _shortlist(request, pk: int, shortlist_pk: int) -> tuple[Evaluation, Shortlist]:
    evaluation = _evaluation(request, pk)
    shortlist = get_object_or_404(
        Shortlist.objects.select_related("proposed_by", "evaluation"), evaluation=evaluation, pk=shortlist_pk
    )
    return evaluation, shortlist


@login_required
@require_http_methods(["GET", "POST"])
def shortlist_detail(request, pk: int, shortlist_pk: int):
    """Exactly what was submitted (the frozen snapshot), its hash, the signatures, and the decision form."""
    evaluation, shortlist = _shortlist(request, pk, shortlist_pk)
    if request.method == "POST":
        with refusals_on_page(request, success="Your decision is signed and recorded."):
            shortlists.shortlist_decide(
                request=request,
                shortlist=shortlist,
                user=request.user,
                decision=request.POST.get("decision", ""),
                password=request.POST.get("password", ""),
                seen_hash=request.POST.get("snapshot_hash", ""),
                comment=request.POST.get("comment", ""),
            )
        return redirect(shortlist.get_absolute_url())
    blind = access.blind_to_others(request.user, evaluation)
    if request.GET.get("export") == "pdf" and shortlist.snapshot:
        if blind:
            raise PermissionDenied("Blind scoring: the snapshot's scores and ranking are withheld from you for now.")
        pdf = shortlists.render_pdf(shortlist)
        response = HttpResponse(pdf, content_type="application/pdf")
        name = f"shortlist-{evaluation.pk}-v{shortlist.version}.pdf"
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response
    context = _shortlist_context(request, evaluation)
    snapshot = shortlists.snapshot_for(shortlist, request.user, blind=blind)
    manifest = shortlists.manifest(shortlist)
    if blind:  # an approver's comment may argue from the scores
        manifest = [{**signature, "comment": ""} for signature in manifest]
    decided_by_me = shortlist.decisions.filter(decided_by=request.user).exists()
    context.update(
        {
            "shortlist": shortlist,
            "snapshot": snapshot,
            "withheld": blind,
            "snapshot_rows": shortlists.snapshot_rows(snapshot) if snapshot and not blind else [],
            "intact": shortlists.snapshot_intact(shortlist),
            "entries_match": not shortlist.snapshot or shortlists.entries_match_snapshot(shortlist),
            "manifest": manifest,
            "can_decide": shortlist.status == Shortlist.Status.SUBMITTED
            and request.user.has_perm("scoring.decide_shortlist")
            and shortlist.proposed_by_id != request.user.pk
            and not decided_by_me,
            "decisions": ShortlistDecision.Decision.choices,
            "approvals": shortlist.decisions.filter(decision=ShortlistDecision.Decision.APPROVE).count(),
            "is_evaluator": access.is_evaluator(request.user, evaluation),
            "can_issue_rfp": shortlist.status == Shortlist.Status.APPROVED
            and access.is_lead(request.user, evaluation)
            and request.user.has_perm("rfp.add_rfp"),
        }
    )
    return render(request, "scoring/shortlist_detail.html", context)
