"""Evaluation pages. Every write goes through scoring.services; refusals become messages."""

from __future__ import annotations

from decimal import Decimal
from functools import partial

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Count
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from core.errors import refusals_on_page
from scoring import access, ahp, charts, exports, program, selectors, services, shortlists
from scoring.forms import (
    AhpForm,
    CandidateAddForm,
    CriterionAddForm,
    CriterionUpdateForm,
    DerivedOverrideForm,
    EvaluationForm,
    KnockoutForm,
    KnockoutOverrideForm,
    ProgramStepForm,
    ProposedSitesForm,
    ScoreCellForm,
    ShortlistDecisionForm,
    ShortlistProposeForm,
    TransitionForm,
    WeightsDirectForm,
)
from scoring.models import (
    Candidate,
    Criterion,
    Evaluation,
    KnockoutRule,
    ProgramStep,
    ProposedSite,
    Score,
    Shortlist,
    ShortlistDecision,
    Submission,
)
from scoring.serializers import RankingSerializer
from vendors.models import Site


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
@require_GET
def evaluation_detail(request, pk: int):
    return _render_detail(request, _evaluation(request, pk))


def _render_detail(request, evaluation: Evaluation, forms: dict | None = None):
    """The overview page; `forms` are bound forms shown again with their errors (weights)."""
    flags = access.evaluation_flags(request.user, evaluation)
    weight_set = selectors.current_weight_set(evaluation)
    criteria = list(evaluation.top_criteria().prefetch_related("children"))
    percents = {w.criterion_id: w.percent for w in weight_set.weights.all()} if weight_set else {}
    result = selectors.ranking(evaluation, request.user)
    suggestions, needed = services.candidate_suggestions(evaluation) if flags["can_add_candidates"] else ([], 0)
    gates = list(evaluation.knockout_rules.order_by("pk"))
    red_flag_years = next((g.years for g in gates if g.rule == KnockoutRule.Rule.NO_RED_FLAGS), None)
    steps = list(evaluation.steps.select_related("dosage_form").prefetch_related("services"))
    candidate_rows = sorted(result.rows, key=lambda r: (r.candidate.vendor.name.casefold(), r.candidate.pk))
    forms = forms or {}
    locked = flags["weights_locked"]
    direct_form = forms.get("direct") or WeightsDirectForm(
        criteria=criteria,
        locked=locked,
        initial={f"weight_{c.key}": _two_decimals(percents.get(c.pk)) for c in criteria},
    )
    ahp_form = forms.get("ahp") or AhpForm(
        criteria=criteria, locked=locked, matrix=weight_set.pairwise if weight_set else None
    )
    return render(
        request,
        "scoring/evaluation_detail.html",
        {
            "evaluation": evaluation,
            **flags,
            "flags": flags,
            "criteria_weights": [(c, percents.get(c.pk)) for c in criteria],
            "weight_set": weight_set,
            "weight_history": evaluation.weight_sets.select_related("created_by").order_by("-version"),
            "direct_form": direct_form,
            "ahp_form": ahp_form,
            "ahp_help": ahp.HELP,
            "open_form": next(iter(forms), ""),
            "ranking": result,
            # A list of candidates, not a ranking: in name order for everyone, whatever anyone scored.
            "candidate_rows": candidate_rows,
            "candidate_entries": list(
                zip(candidate_rows, _site_forms(evaluation, flags, steps, candidate_rows), strict=True)
            ),
            "steps": steps,
            "step_form": ProgramStepForm(),
            "gates": gates,
            "waiting_for": [user for user, _done, _expected, submitted in result.evaluator_progress if not submitted],
            "suggestions": suggestions,
            "services_needed": needed,
            "knockout_form": KnockoutForm(
                initial={
                    "rules": [g.rule for g in gates if g.enabled],
                    "years": red_flag_years or KnockoutRule.DEFAULT_YEARS,
                }
            ),
            "transitions": [
                (name, label) for name, label in services.TRANSITIONS.items() if _can_transition(evaluation, name)
            ],
            "confirm_first": CONFIRMED_TRANSITIONS,
            "evidence_choices": Criterion.Evidence.choices,
        },
    )


def _site_forms(evaluation: Evaluation, flags: dict, steps: list, rows) -> list:
    """Per candidate row, the lead's form of the sites it proposes for each step (None when the page
    offers no such form): two queries for all candidates."""
    if not (flags["can_propose_sites"] and steps):
        return [None] * len(rows)
    sites: dict[int, list[Site]] = {}
    for site in Site.objects.filter(vendor__candidacies__evaluation=evaluation).order_by("name"):
        sites.setdefault(site.vendor_id, []).append(site)
    chosen: dict[int, dict[str, list[int]]] = {}
    for candidate_id, step_id, site_id in ProposedSite.objects.filter(candidate__evaluation=evaluation).values_list(
        "candidate_id", "step_id", "site_id"
    ):
        chosen.setdefault(candidate_id, {}).setdefault(f"step_{step_id}", []).append(site_id)
    return [
        ProposedSitesForm(
            candidate=row.candidate,
            steps=steps,
            sites=sites.get(row.candidate.vendor_id, []),
            initial=chosen.get(row.candidate.pk, {}),
            prefix=f"c{row.candidate.pk}",
        )
        for row in rows
    ]


def _two_decimals(percent) -> Decimal:
    """A stored weight as the direct form shows it: 19.9637 -> 19.96 (the service accepts the rounding)."""
    return (percent or Decimal(0)).quantize(Decimal("0.01"))


def _errors_text(form) -> str:
    """A form's errors as one message, each field's under its label."""
    parts = []
    for name, errors in form.errors.items():
        label = form.fields[name].label if name in form.fields else None
        parts.extend(f"{label}: {error}" if label else error for error in errors)
    return " ".join(dict.fromkeys(parts))


def _apply(request, evaluation: Evaluation, form, service, success, *, back=None, in_place: str = ""):
    """One page operation: a valid form's cleaned_data are the service's keyword arguments (with the
    evaluation's user); a refusal goes to the form. Done: back to the page with the message (PRG).
    Refused: the form's errors as a message on the page, or, for `in_place` forms (the weights, with
    many inputs), the page again with the form and its errors."""
    if form.is_valid():
        data = form.cleaned_data
        text = success(data) if callable(success) else success
        with refusals_on_page(request, form, success=text) as outcome:
            service(user=request.user, **data)
        if not outcome.refused:
            return redirect(back or evaluation)
    if in_place:
        return _render_detail(request, evaluation, {in_place: form})
    messages.error(request, _errors_text(form))
    return redirect(back or evaluation)


def _lead_evaluation(request, pk: int, action: str = "change it") -> Evaluation:
    evaluation = _evaluation(request, pk)
    if not access.is_lead(request.user, evaluation):
        raise PermissionDenied(f"Only the evaluation's lead can {action}.")
    return evaluation


# Transitions the lead confirms on a page of their own first (what is incomplete, and why go anyway).
CONFIRMED_TRANSITIONS = ("start_review",)


@login_required
@require_POST
def evaluation_transition(request, pk: int, action: str):
    evaluation = _lead_evaluation(request, pk)
    if action not in services.TRANSITIONS:
        raise Http404("No such step.")
    form = TransitionForm(request.POST)
    if action in CONFIRMED_TRANSITIONS and not (form.is_valid() and form.confirmed):
        return redirect("scoring:review-confirm", pk=evaluation.pk)  # not confirmed yet: show what it means
    if action in CONFIRMED_TRANSITIONS:
        with refusals_on_page(request, form, success=f"Done: {services.TRANSITIONS[action]}.") as outcome:
            services.evaluation_transition(user=request.user, evaluation=evaluation, action=action, **form.cleaned_data)
        if outcome.refused:  # the reason it asks for goes under the field, on the confirmation page
            return _render_review_confirm(request, evaluation, form)
        return redirect(evaluation)
    return _apply(
        request,
        evaluation,
        form,
        partial(services.evaluation_transition, evaluation=evaluation, action=action),
        f"Done: {services.TRANSITIONS[action]}.",
    )


@login_required
@require_GET
def review_confirm(request, pk: int):
    """Before "Move to review": completeness per evaluator, and a reason when anyone lacks something."""
    evaluation = _lead_evaluation(request, pk, "move it to review")
    return _render_review_confirm(request, evaluation, TransitionForm())


def _render_review_confirm(request, evaluation: Evaluation, form):
    rows = services.evaluator_completeness(evaluation)
    incomplete = [row for row in rows if not (row["complete"] and row["submitted"])]
    return render(
        request,
        "scoring/review_confirm.html",
        {
            "evaluation": evaluation,
            "rows": rows,
            "incomplete": incomplete,
            "form": form,
            "can_move": _can_transition(evaluation, "start_review"),
            "is_evaluator": access.is_evaluator(request.user, evaluation),
        },
    )


@login_required
@require_POST
def candidate_add(request, pk: int):
    evaluation = _lead_evaluation(request, pk, "add candidates")
    return _apply(
        request,
        evaluation,
        CandidateAddForm(request.POST),
        partial(services.candidate_add, evaluation=evaluation),
        lambda data: f"{data['vendor'].name} added.",
    )


@login_required
@require_POST
def knockout_override(request, pk: int):
    evaluation = _lead_evaluation(request, pk, "override a knock-out")
    return _apply(
        request,
        evaluation,
        KnockoutOverrideForm(request.POST, evaluation=evaluation),
        services.candidate_override_knockout,
        "Knock-out overridden.",
    )


@login_required
@require_POST
def knockouts_set(request, pk: int):
    evaluation = _lead_evaluation(request, pk, "change knock-out rules")
    form = KnockoutForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Check the gates: " + "; ".join(e for errors in form.errors.values() for e in errors))
        return redirect(evaluation)
    return _apply(
        request, evaluation, form, partial(program.gates_set, evaluation=evaluation), "Must-have gates saved."
    )


@login_required
@require_POST
def step_add(request, pk: int):
    evaluation = _lead_evaluation(request, pk, "define the program steps")
    return _apply(
        request,
        evaluation,
        ProgramStepForm(request.POST),
        partial(program.step_add, evaluation=evaluation),
        "Program step added; each candidate's sites that can do it are proposed.",
    )


@login_required
@require_POST
def step_remove(request, pk: int, step_id: int):
    evaluation = _lead_evaluation(request, pk, "define the program steps")
    step = get_object_or_404(ProgramStep.objects.select_related("evaluation"), evaluation=evaluation, pk=step_id)
    return _apply(
        request, evaluation, forms.Form(request.POST), partial(program.step_remove, step=step), f"{step} removed."
    )


@login_required
@require_POST
def candidate_sites(request, pk: int, candidate_id: int):
    evaluation = _lead_evaluation(request, pk, "change the proposed sites")
    candidate = get_object_or_404(
        Candidate.objects.select_related("evaluation", "vendor"), evaluation=evaluation, pk=candidate_id
    )
    form = ProposedSitesForm(
        request.POST,
        candidate=candidate,
        steps=evaluation.steps.all(),
        sites=candidate.vendor.sites.all(),
        prefix=f"c{candidate.pk}",
    )
    return _apply(
        request,
        evaluation,
        form,
        partial(program.proposals_set, candidate=candidate),
        f"Sites proposed by {candidate.vendor.name} saved.",
    )


@login_required
@require_POST
def criterion_add(request, pk: int):
    evaluation = _lead_evaluation(request, pk, "change the scorecard")
    return _apply(
        request,
        evaluation,
        CriterionAddForm(request.POST, evaluation=evaluation),
        partial(services.criterion_add, evaluation=evaluation),
        lambda data: "Sub-criterion added." if data["parent"] else "Criterion added at weight 0: adjust the weights.",
    )


def _criterion(evaluation: Evaluation, criterion_id: int) -> Criterion:
    return get_object_or_404(Criterion.objects.select_related("evaluation"), evaluation=evaluation, pk=criterion_id)


@login_required
@require_POST
def criterion_update(request, pk: int, criterion_id: int):
    evaluation = _lead_evaluation(request, pk, "change the scorecard")
    criterion = _criterion(evaluation, criterion_id)
    return _apply(
        request,
        evaluation,
        CriterionUpdateForm(request.POST),
        partial(services.criterion_update, criterion=criterion),
        "Criterion saved.",
    )


@login_required
@require_POST
def criterion_remove(request, pk: int, criterion_id: int):
    evaluation = _lead_evaluation(request, pk, "change the scorecard")
    criterion = _criterion(evaluation, criterion_id)
    with refusals_on_page(request, success="Criterion removed; the other weights were rescaled to 100 %."):
        services.criterion_remove(criterion=criterion, user=request.user)
    return redirect(evaluation)


@login_required
@require_POST
def weights_direct(request, pk: int):
    evaluation = _lead_evaluation(request, pk, "set weights")
    form = WeightsDirectForm(
        request.POST, criteria=evaluation.top_criteria(), locked=evaluation.status != Evaluation.Status.DRAFT
    )
    return _apply(
        request,
        evaluation,
        form,
        partial(services.weights_set_direct, evaluation=evaluation),
        "New weights saved.",
        in_place="direct",
    )


@login_required
@require_POST
def weights_ahp(request, pk: int):
    evaluation = _lead_evaluation(request, pk, "set weights")
    form = AhpForm(
        request.POST, criteria=evaluation.top_criteria(), locked=evaluation.status != Evaluation.Status.DRAFT
    )
    return _apply(
        request,
        evaluation,
        form,
        partial(services.weights_set_ahp, evaluation=evaluation, request=request),
        "Weights derived from the pairwise comparisons.",
        in_place="ahp",
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
    open_ = access.evaluation_flags(request.user, evaluation)["can_add_candidates"]
    if len(query) >= 2 and open_:
        vendors = list(
            services.addable_vendors(evaluation)  # of the allowed kinds, not yet candidates
            .filter(name__icontains=query)
            .prefetch_related("kinds")
            .order_by("name")[: VENDOR_SEARCH_LIMIT + 1]
        )
    return render(
        request,
        "scoring/_vendor_search.html",
        {
            "evaluation": evaluation,
            "open": open_,
            "kinds": list(evaluation.allowed_kinds.order_by("code").values_list("code", flat=True)),
            "query": query,
            "vendors": vendors[:VENDOR_SEARCH_LIMIT],
            "more": len(vendors) > VENDOR_SEARCH_LIMIT,
        },
    )


def _can_transition(evaluation: Evaluation, name: str) -> bool:
    return any(t.name == name for t in evaluation.get_available_status_transitions())


RANKING_BAR_WIDTH = 140  # px: narrow enough for six criteria columns beside it at 1440 px


@login_required
@require_POST
def derived_override(request, pk: int):
    """From the ranking page: a justified value instead of a derived one (lead or evaluators)."""
    evaluation = _evaluation(request, pk)
    if not access.evaluation_flags(request.user, evaluation)["can_override_derived"]:
        raise PermissionDenied("Only the evaluation's team can override a derived score, while it is open.")
    return _apply(
        request,
        evaluation,
        DerivedOverrideForm(request.POST, evaluation=evaluation),
        services.derived_override,
        lambda data: f"{data['criterion'].name} of {data['candidate'].vendor.name} overridden.",
        back=reverse("scoring:ranking", args=[evaluation.pk]),
    )


def effective_weights(weights) -> list[float]:
    """The weights the totals use, in percent: the criteria that do not apply are left out at 0 and the
    others share 100 % (the engine normalises the weights it is given; the headers show the same)."""
    weights = [float(w) for w in weights]
    total = sum(weights)
    return [100 * w / total if total > 0 else 0.0 for w in weights]


@login_required
@require_GET
def ranking_page(request, pk: int):
    """The ranking as the API presents it (RankingSerializer): the page shows the same row dicts."""
    evaluation = _evaluation(request, pk)
    result = selectors.ranking(evaluation, request.user)
    if request.GET.get("export") in exports.FORMATS and not result.withheld:
        return exports.ranking_export(result, request.GET["export"])
    data = RankingSerializer(result).data
    context = {"evaluation": evaluation, "ranking": data, "is_evaluator": access.is_evaluator(request.user, evaluation)}
    if data["withheld"]:
        return render(request, "scoring/ranking.html", context)
    criteria, reasons = data["criteria"], result.not_applicable_reasons
    context |= {
        "table": [
            (row, charts.contribution_bar(row["contributions"], criteria, width=RANKING_BAR_WIDTH))
            for row in data["rows"]
        ],
        "header": list(zip(criteria, effective_weights(data["weights"].values()), reasons, strict=True)),
        "not_applicable": [(c, reason) for c, reason in zip(criteria, reasons, strict=True) if reason],
        "agreement": list(zip(criteria, data["agreement"].values(), strict=True)),
        "legend": charts.legend(criteria),
        "can_override": access.evaluation_flags(request.user, evaluation)["can_override_derived"],
        # A criterion that does not apply has no value to override.
        "derived_criteria": [c for c, na in zip(criteria, reasons, strict=True) if c["derived"] and not na],
    }
    return render(request, "scoring/ranking.html", context)


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
    """Up to four candidates side by side, from the same row dicts as the API (RankingSerializer)."""
    evaluation = _evaluation(request, pk)
    result = selectors.ranking(evaluation, request.user)
    data = RankingSerializer(result).data
    context = {"evaluation": evaluation, "ranking": data, "is_evaluator": access.is_evaluator(request.user, evaluation)}
    if data["withheld"]:
        return render(request, "scoring/compare.html", context)
    chosen = [int(x) for x in request.GET.getlist("c") if x.isascii() and x.isdecimal()][:4]
    rows = (
        [row for row in data["rows"] if row["candidate"] in chosen]
        if chosen
        else [row for row in data["rows"] if row["rank"]][:4]
    )
    criteria, reasons = data["criteria"], result.not_applicable_reasons
    context |= {
        "rows": rows,
        "shown": [row["candidate"] for row in rows],
        "legend": [(row["vendor_name"], charts.colour(i)) for i, row in enumerate(rows)],
        "by_criterion": [
            (c, reason, [row["cells"][j] for row in rows])
            for j, (c, reason) in enumerate(zip(criteria, reasons, strict=True))
        ],
        "not_applicable": [c["name"] for c, reason in zip(criteria, reasons, strict=True) if reason],
        "radar": charts.radar(rows, criteria) if rows else None,
    }
    return render(request, "scoring/compare.html", context)


def _my_progress(evaluation: Evaluation, user) -> tuple[int, int]:
    """(scores entered, scores expected) of `user` in the grid: the judged cells as they are now."""
    scored = evaluation.scored_criteria().values("pk")
    done = Score.objects.filter(candidate__evaluation=evaluation, evaluator=user, criterion__in=scored).count()
    return done, evaluation.scored_criteria().count() * evaluation.candidates.count()


@login_required
@require_GET
def scoring_grid(request, pk: int):
    """The evaluator's grid: one form per cell, saved as it changes by static/js/grid.js (keyboard
    first: Enter goes to the next cell, nothing is re-rendered under the cursor)."""
    evaluation = _evaluation(request, pk)
    if not access.is_evaluator(request.user, evaluation):
        raise PermissionDenied("Only the evaluation's evaluators score it.")
    criteria = list(evaluation.scored_criteria().select_related("parent"))
    # Whatever their source says now: a lead can turn a judged criterion into a derived one.
    derived_criteria = list(evaluation.criteria.exclude(evidence="").only("name"))
    # The must-have gates come from evidence, not from anyone's scores: a blind evaluator sees them too.
    gates = {row.candidate.pk: row for row in selectors.ranking(evaluation, request.user).rows}
    candidates = sorted(evaluation.candidates.select_related("vendor"), key=lambda c: (c.vendor.name.casefold(), c.pk))
    scored_ids = {c.pk for c in criteria}
    mine = {
        (s.candidate_id, s.criterion_id): s
        for s in Score.objects.filter(candidate__evaluation=evaluation, evaluator=request.user)
        if s.criterion_id in scored_ids
    }
    submitted = Submission.objects.filter(evaluation=evaluation, evaluator=request.user).first()
    # The vendors' opened questionnaire answers next to the cell they inform (vendor data, not
    # anyone's scores: blind scoring does not hide them; sealed proposals give none).
    answers = selectors.answers_by_cell(evaluation, criteria)
    grid = [
        (
            candidate,
            gates.get(candidate.pk),
            [
                (criterion, mine.get((candidate.pk, criterion.pk)), answers.get((candidate.pk, criterion.pk), ()))
                for criterion in criteria
            ],
        )
        for candidate in candidates
    ]
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
            "done": len(mine),
            "expected": len(criteria) * len(candidates),
        },
    )


def _wants_json(request) -> bool:
    return "application/json" in request.headers.get("Accept", "")


@login_required
@require_POST
def score_cell(request, pk: int):
    """Saves one cell of the grid. static/js/grid.js asks for JSON (the cell's saved state and the
    evaluator's progress; the page keeps what is typed and where the focus is); other callers get
    the cell's HTML."""
    evaluation = _evaluation(request, pk)
    if not access.is_evaluator(request.user, evaluation):
        raise PermissionDenied("Only the evaluation's evaluators score it.")
    form = ScoreCellForm(request.POST, evaluation=evaluation)
    if not form.is_valid():
        if _wants_json(request):
            return JsonResponse({"saved": False, "error": "Unknown cell.", "field": None}, status=400)
        return HttpResponse("Unknown cell.", status=400)
    candidate, criterion = form.candidate, form.criterion
    score = None
    with refusals_on_page(request, notify=False) as outcome:  # the cell shows the refusal itself
        score = services.score_save(evaluation=evaluation, user=request.user, **form.cleaned_data)
    error = ""
    if outcome.error:
        error = outcome.error.message
        score = Score.objects.filter(candidate=candidate, criterion=criterion, evaluator=request.user).first()
    if _wants_json(request):
        done, expected = _my_progress(evaluation, request.user)
        return JsonResponse(
            {
                "saved": not error,
                "error": error,
                "field": outcome.error.field if outcome.error else None,
                # What is stored now (after a refusal: what another window saved, or nothing).
                "score": (
                    {
                        "value": score.value,
                        "revision": score.revision,
                        "rationale": score.rationale,
                        "evidence_url": score.evidence_url,
                    }
                    if score
                    else None
                ),
                "done": done,
                "expected": expected,
            }
        )
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
        submit = request.POST.get("action") == "submit"  # the button: save the draft, or save and submit
        form = ShortlistProposeForm(request.POST, evaluation=evaluation)
        if not form.is_valid():
            messages.error(request, _errors_text(form))
            return redirect("scoring:shortlists", pk=evaluation.pk)
        with refusals_on_page(request, success="Submitted for approval." if submit else "Draft saved.") as outcome:
            shortlist = shortlists.shortlist_propose(evaluation=evaluation, user=request.user, **form.cleaned_data)
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
            "incomplete_rows": [row for row in result.rows if row.completeness < 1],
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
        form = ShortlistDecisionForm(request.POST)
        if not form.is_valid():
            messages.error(request, _errors_text(form))
            return redirect(shortlist.get_absolute_url())
        with refusals_on_page(request, success="Your decision is signed and recorded."):
            shortlists.shortlist_decide(request=request, shortlist=shortlist, user=request.user, **form.cleaned_data)
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
