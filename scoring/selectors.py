"""Reads of evaluations: rows turned into arrays for the engine, in a fixed number of queries.

The ranking is loaded here (load_ranking_inputs: plain inputs, the blind-scoring rule), computed
without the database in scoring.ranking_compute and presented by scoring.serializers.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from django.db.models import Case, F, OuterRef, Subquery, When
from django.utils import timezone

from audits.models import Audit, Finding
from core.queries import count_of
from oversight import selectors as oversight_selectors
from scoring import access, providers
from scoring.models import (
    Candidate,
    Criterion,
    DerivedOverride,
    Evaluation,
    KnockoutRule,
    ProposedSite,
    Score,
    Shortlist,
    Submission,
    WeightSet,
)
from scoring.ranking_compute import (
    DISAGREEMENT_FLAG,
    NO_OFFER,
    CandidateInput,
    Cell,
    CriterionInput,
    EvaluatorInput,
    Ranking,
    RankingInputs,
    Row,
    VendorFacts,
    compute_ranking,
    sensitivity,
)
from vendors import selectors as vendor_selectors
from vendors.models import RegulatoryInspection, Site, Vendor

__all__ = [
    "DISAGREEMENT_FLAG",
    "Cell",
    "Ranking",
    "Row",
    "current_weight_set",
    "load_ranking_inputs",
    "ranking",
    "requirement_of",
    "sensitivity",
    "vendor_facts",
]


def current_weight_set(evaluation: Evaluation) -> WeightSet | None:
    return evaluation.weight_sets.prefetch_related("weights").order_by("-version").first()


def requirement_of(evaluation: Evaluation, gates: list[KnockoutRule] | None = None) -> dict:
    """What the program needs, as plain values: program-wide terms and, per program step, the
    dosage form, the services a site must do, its quality regime and batch sizes (three queries)."""
    gates = list(evaluation.knockout_rules.all()) if gates is None else gates
    red_flag = next((gate for gate in gates if gate.rule == KnockoutRule.Rule.NO_RED_FLAGS), None)
    return {
        "services": [s.code for s in evaluation.required_services.all()],
        # A foreign key that is None reads as None without a query.
        "modality": evaluation.modality.code if evaluation.modality else None,
        "dosage_form": evaluation.dosage_form.code if evaluation.dosage_form else None,
        "phase": evaluation.phase.code if evaluation.phase else None,
        "unit": evaluation.scale_unit,
        "min": evaluation.scale_min,
        "max": evaluation.scale_max,
        "launch": evaluation.launch_scale,
        "agencies": tuple(evaluation.target_agencies or ()),
        "red_flag_years": red_flag.years if red_flag else KnockoutRule.DEFAULT_YEARS,
        "steps": program_steps(evaluation),
    }


def program_steps(evaluation: Evaluation) -> list[dict]:
    steps = evaluation.steps.select_related("dosage_form").prefetch_related("services")
    return [
        {
            "id": step.pk,
            "step": step.step,
            "label": str(step),
            "dosage_form": step.dosage_form.code if step.dosage_form else None,
            "services": [service.code for service in step.services.all()],
            "service_names": {service.code: service.name for service in step.services.all()},
            "regime": step.quality_regime,
            "unit": step.scale_unit,
            "min": step.scale_min,
            "max": step.scale_max,
            "launch": step.launch_scale,
        }
        for step in steps
    ]


def _candidates(evaluation: Evaluation) -> list[Candidate]:
    # The timestamps and the description are never shown with a ranking: not parsed for every row.
    candidates = evaluation.candidates.select_related("vendor").order_by("vendor__name", "pk")
    return list(candidates.defer("added_at", "vendor__created_at", "vendor__updated_at", "vendor__description"))


def vendor_facts(evaluation: Evaluation) -> dict[int, VendorFacts]:
    """What the evidence functions need about every candidate vendor, as plain values.

    Thirteen queries whatever the number of candidates; tuples (values_list) rather than model
    instances or values() dicts, because building thousands of Python objects dominated the
    ranking's time. Each site's facts (capabilities, approved-supplier entries, red flags) are read
    once and shared by every criterion and gate that looks at the site.
    """
    in_evaluation = {"vendor__candidacies__evaluation": evaluation}
    facts: dict[int, VendorFacts] = {}

    def entry(vendor_id):
        found = facts.get(vendor_id)
        if found is None:
            found = facts[vendor_id] = ({"services": [], "modalities": [], "dosage_forms": [], "phases": []}, [], [])
        return found

    for relation, key in (
        ("services", "service"),
        ("modalities", "modality"),
        ("dosage_forms", "dosageform"),
        ("phases", "phase"),
    ):
        through = getattr(Vendor, relation).through
        for vendor_id, code in through.objects.filter(**in_evaluation).values_list("vendor_id", f"{key}__code"):
            entry(vendor_id)[0][relation].append(code)
    sites: dict[int, dict] = {}
    # The latest supplier-performance standing of each site comes along (oversight: annotations, no query).
    standing_q, score_q, period_q = oversight_selectors.standing_subqueries()
    for site_id, vendor_id, name, regime, scale_min, scale_max, scale_unit, standing, score, period in (
        Site.objects.filter(**in_evaluation)
        .annotate(performance_standing=standing_q, performance_score=score_q, performance_period=period_q)
        .order_by("name")
        .values_list(
            "id",
            "vendor_id",
            "name",
            "quality_regime",
            "scale_min",
            "scale_max",
            "scale_unit",
            "performance_standing",
            "performance_score",
            "performance_period",
        )
    ):
        site = sites[site_id] = {
            "id": site_id,
            "vendor_id": vendor_id,
            "name": name,
            "quality_regime": regime,
            "scale_min": scale_min,
            "scale_max": scale_max,
            "scale_unit": scale_unit,
            "capabilities": [],
        }
        entry(vendor_id)[1].append(site)
        if standing:
            entry(vendor_id)[0].setdefault("standings", []).append(
                {
                    "site": name,
                    "site_id": site_id,
                    "standing": standing,
                    "period": period,
                    "score": None if score is None else float(score),
                }
            )
    _site_evidence(evaluation, sites)
    names = {site_id: site["name"] for site_id, site in sites.items()}
    # Newest first; the id breaks ties, so that the evidence reads the same on every request.
    inspections = RegulatoryInspection.objects.filter(site__vendor__candidacies__evaluation=evaluation).order_by(
        "-end_date", "-pk"
    )
    for site_id, vendor_id, agency, end_date, classification, observations, letter in inspections.values_list(
        "site_id",
        "site__vendor_id",
        "agency",
        "end_date",
        "classification",
        "form_483_observations",
        "warning_letter",
    ):
        entry(vendor_id)[2].append(
            {
                "site_id": site_id,
                "agency": agency,
                "end_date": end_date,
                "classification": classification,
                "form_483_observations": observations,
                "warning_letter": letter,
                "site": names[site_id],
            }
        )
    for vendor_id, audits in _vendor_audits(evaluation).items():
        entry(vendor_id)
        facts[vendor_id][0]["audits"] = audits
    return facts


def _site_evidence(evaluation: Evaluation, sites: dict[int, dict]) -> None:
    """Each candidate site's capabilities, approved-supplier entries and red flags (warning letters,
    import alerts, statements of non-compliance: `vendors.selectors.site_red_flags`, the site page's
    reading too, every record whatever its date: the gates apply their own windows), five queries."""
    on_site = {"site__vendor__candidacies__evaluation": evaluation}
    for site_id, code in Site.capabilities.through.objects.filter(**on_site).values_list("site_id", "service__code"):
        sites[site_id]["capabilities"].append(code)
    candidate_sites = Site.objects.filter(vendor__candidacies__evaluation=evaluation)
    qualifications = vendor_selectors.site_qualifications(candidate_sites)
    flags = vendor_selectors.site_red_flags(candidate_sites, since=None, inspections=False)
    for site_id, site in sites.items():
        site["qualifications"] = qualifications.get(site_id, [])
        site["flags"] = flags.get(site_id, [])


def _vendor_audits(evaluation: Evaluation) -> dict[int, list[dict]]:
    """Completed audits of the candidates' sites with their findings and CAPA, as plain values."""
    audits: dict[int, dict] = {}
    by_vendor: dict[int, list[dict]] = {}
    for done in Audit.objects.filter(site__vendor__candidacies__evaluation=evaluation).values(
        "id", "site_id", "site__vendor_id", "site__name", "actual_end"
    ):
        audit: dict = {
            "site": done["site__name"],
            "site_id": done["site_id"],
            "end_date": done["actual_end"],
            "findings": [],
        }
        audits[done["id"]] = audit
        by_vendor.setdefault(done["site__vendor_id"], []).append(audit)
    for finding in Finding.objects.filter(audit__site__vendor__candidacies__evaluation=evaluation).values(
        "audit_id", "severity", "capa__status", "capa__due_date", "capa__completed_on"
    ):
        audits[finding["audit_id"]]["findings"].append(
            {
                "severity": finding["severity"],
                "capa_status": finding["capa__status"],
                "capa_due": finding["capa__due_date"],
                "capa_completed": finding["capa__completed_on"],
            }
        )
    return by_vendor


def load_ranking_inputs(evaluation: Evaluation, viewer) -> RankingInputs:
    """The evaluation's ranking inputs as plain values and arrays, in a fixed number of queries.

    For a viewer who is blind to the other evaluators (access.blind_to_others) their scores are
    not even loaded: only how many cells each has filled (progress, no values).
    """
    all_criteria = list(evaluation.criteria.all())
    children: dict[int, list[Criterion]] = {}
    for c in all_criteria:
        if c.parent_id is not None:
            children.setdefault(c.parent_id, []).append(c)
    leaves = [c for c in all_criteria if not c.evidence and c.pk not in children]
    leaf_index = {c.pk: j for j, c in enumerate(leaves)}
    criteria = []
    for c in all_criteria:
        if c.parent_id is not None:
            continue
        parts = children.get(c.pk, []) if not c.evidence else []
        if c.evidence:
            leaf_ids: tuple[int, ...] = ()
        elif parts:
            leaf_ids = tuple(leaf_index[p.pk] for p in parts)
        else:
            leaf_ids = (leaf_index[c.pk],)
        criteria.append(
            CriterionInput(
                id=c.pk,
                key=c.key,
                name=c.name,
                evidence=c.evidence,
                leaves=leaf_ids,
                local_weights=tuple(float(p.local_weight) for p in parts),
                parts=tuple(f"{p.name} (local weight {p.local_weight:g})" for p in parts),
                ref=c,
            )
        )
    weight_set = current_weight_set(evaluation)
    by_criterion = {w.criterion_id: float(w.percent) for w in weight_set.weights.all()} if weight_set else {}
    weights = np.array([by_criterion.get(c.id, 0.0) for c in criteria])
    users = list(evaluation.evaluators.order_by("username"))
    submitted = set(Submission.objects.filter(evaluation=evaluation).values_list("evaluator_id", flat=True))
    # Blind scoring (access.blind_to_others): the others' scores are not even loaded for this viewer.
    withheld = access.blind_to_others(viewer, evaluation)
    candidates = _candidates(evaluation)
    facts = vendor_facts(evaluation)
    for candidate in candidates:  # the register's status, for the disqualification gate
        facts.setdefault(candidate.vendor_id, ({**NO_OFFER}, [], []))[0]["status"] = candidate.vendor.status
    gates = list(evaluation.knockout_rules.all())
    requirement = requirement_of(evaluation, gates)
    rules = [{"rule": gate.rule, "years": gate.years} for gate in gates if gate.enabled]
    proposals: dict[int, dict[int, list[int]]] = {}
    proposed = ProposedSite.objects.filter(candidate__evaluation=evaluation).order_by("pk")
    for candidate_id, step_id, site_id in proposed.values_list("candidate_id", "step_id", "site_id"):
        proposals.setdefault(candidate_id, {}).setdefault(step_id, []).append(site_id)
    overrides = {
        (o.candidate_id, o.criterion_id): (float(o.value), o.justification)
        for o in DerivedOverride.objects.filter(candidate__evaluation=evaluation)
    }
    # The opened proposals' answers and costs (scoring.providers), asked for only when a criterion uses them.
    kinds = {c.evidence for c in criteria}
    answers = providers.answers(evaluation) if Criterion.Evidence.COMPLIANCE in kinds else {}
    costs = providers.costs(evaluation) if Criterion.Evidence.PRICE in kinds else {}
    requirement["answers_opened"], requirement["costs_opened"] = bool(answers), bool(costs)

    m, k = len(candidates), len(users)
    candidate_index = {c.pk: i for i, c in enumerate(candidates)}
    evaluator_index = {u.pk: e for e, u in enumerate(users)}
    leaf_scores = np.full((k, m, len(leaves)), np.nan)
    scores: Any = Score.objects.filter(candidate__evaluation=evaluation)
    if withheld:
        # Only the viewer's own values; the others' rows are counted, their values never read.
        scores = scores.annotate(
            own=Case(
                When(evaluator_id=viewer.pk, then="value"), default=None, output_field=Score._meta.get_field("value")
            )
        )
        rows = list(scores.values_list("evaluator_id", "candidate_id", "criterion_id", "own"))
    else:
        rows = list(scores.values_list("evaluator_id", "candidate_id", "criterion_id", "value"))
    # Into the array in one step (a Python loop writing 15,000 numpy cells one by one was slow).
    evaluator_at = np.array([evaluator_index.get(row[0], -1) for row in rows], dtype=int)
    candidate_at = np.array([candidate_index.get(row[1], -1) for row in rows], dtype=int)
    leaf_at = np.array([leaf_index.get(row[2], -1) for row in rows], dtype=int)
    values = np.array([np.nan if row[3] is None else row[3] for row in rows], dtype=float)
    counted = (evaluator_at >= 0) & (leaf_at >= 0) & (candidate_at >= 0)
    # cells each evaluator has filled: their progress, no values
    filled = np.bincount(evaluator_at[counted], minlength=k)[:k].astype(int)
    shown = counted & (evaluator_at == evaluator_index.get(viewer.pk, -2)) if withheld else counted
    leaf_scores[evaluator_at[shown], candidate_at[shown], leaf_at[shown]] = values[shown]
    return RankingInputs(
        aggregation=evaluation.aggregation,
        criteria=criteria,
        weights=weights,
        candidates=[
            CandidateInput(
                id=c.pk,
                vendor_id=c.vendor_id,
                vendor_name=c.vendor.name,
                knockout_override=bool(c.knockout_override),
                proposals={step: tuple(sites) for step, sites in proposals.get(c.pk, {}).items()},
                ref=c,
            )
            for c in candidates
        ],
        evaluators=[EvaluatorInput(id=u.pk, submitted=u.pk in submitted, ref=u) for u in users],
        leaf_scores=leaf_scores,
        filled=filled,
        requirement=requirement,
        today=timezone.localdate(),
        knockout_rules=rules,
        facts=facts,
        overrides=overrides,
        answers=answers,
        costs=costs,
        withheld=withheld,
        viewer_index=evaluator_index.get(viewer.pk) if withheld else None,
        evaluation=evaluation,
        weight_set=weight_set,
    )


def ranking(evaluation: Evaluation, viewer) -> Ranking:
    """The evaluation's ranking as `viewer` may see it: loaded (load_ranking_inputs), then computed
    without the database (ranking_compute.compute_ranking, which documents the rules).

    For a viewer who is blind to the other evaluators (access.blind_to_others) the result is
    `withheld` and carries none of their data.
    """
    return compute_ranking(load_ranking_inputs(evaluation, viewer))


def answers_by_cell(evaluation: Evaluation, criteria: list[Criterion]) -> dict[tuple[int, int], list]:
    """(candidate id, criterion id) -> the candidate's opened questionnaire answers (providers.AnswerFact)
    to the questions filed under the criterion's name (a sub-criterion: its own name, or else its
    parent's), for the scoring grid. Nothing while the proposals are sealed (scoring.providers)."""
    by_name: dict[tuple[int, str], list[providers.AnswerFact]] = {}
    for candidate_id, facts in providers.answers(evaluation).items():
        for fact in facts:
            by_name.setdefault((candidate_id, providers.criterion_key(fact.criterion)), []).append(fact)
    candidate_ids = {candidate_id for candidate_id, _ in by_name}
    found: dict[tuple[int, int], list] = {}
    for criterion in criteria:
        own = providers.criterion_key(criterion.name)
        parent = providers.criterion_key(criterion.parent.name) if criterion.parent else own
        for candidate_id in candidate_ids:
            shown = by_name.get((candidate_id, own)) or by_name.get((candidate_id, parent))
            if shown:
                found[(candidate_id, criterion.pk)] = shown
    return found


# --- Home page tasks ----------------------------------------------------------------------------


def lead_evaluations(user, limit: int = 10) -> list[Any]:
    """The lead's open evaluations with what each needs next, those that need the lead first. One query."""
    latest = Shortlist.objects.filter(evaluation=OuterRef("pk")).order_by("-version")
    evaluations: list[Any] = list(
        Evaluation.objects.filter(lead=user)
        .exclude(status=Evaluation.Status.CLOSED)
        .annotate(
            evaluator_count=count_of(
                Evaluation.evaluators.through.objects.filter(evaluation_id=OuterRef("pk")), "evaluation_id"
            ),
            submitted_count=count_of(Submission.objects.filter(evaluation=OuterRef("pk")), "evaluation"),
            candidate_count=count_of(Candidate.objects.filter(evaluation=OuterRef("pk")), "evaluation"),
            shortlist_status=Subquery(latest.values("status")[:1]),
            shortlist_id=Subquery(latest.values("pk")[:1]),
        )
        .order_by("-updated_at")[: limit * 2]
    )
    for e in evaluations:
        e.needs_action, e.next_step = evaluation_next_step(e)
    evaluations.sort(key=lambda e: not e.needs_action)  # stable: most recently changed first within each group
    return evaluations[:limit]


def evaluation_next_step(e: Any) -> tuple[bool, str]:
    """(whether the lead must act, what comes next) for an open evaluation annotated by lead_evaluations."""
    if e.status == Evaluation.Status.DRAFT:
        if not e.candidate_count or not e.evaluator_count:
            return True, "Add candidates and evaluators, set the weights, then start scoring."
        return True, "Check criteria and weights, then start scoring."
    if e.status == Evaluation.Status.SCORING:
        if e.evaluator_count and e.submitted_count >= e.evaluator_count:
            return True, "Every evaluator has submitted: move to review."
        return False, f"Scoring: {e.submitted_count} of {e.evaluator_count} evaluators have submitted."
    status = e.shortlist_status
    if status in (None, Shortlist.Status.DRAFT):
        return True, "Propose the shortlist from the ranking."
    if status == Shortlist.Status.RETURNED:
        return True, "The shortlist was returned for changes: revise it and submit a new version."
    if status == Shortlist.Status.REJECTED:
        return True, "The shortlist was rejected: propose a new version or close the evaluation."
    if status == Shortlist.Status.APPROVED:
        return True, "The shortlist is approved: issue the RFP."
    return False, "The shortlist awaits its approvers' signatures."


def grids_to_finish(user, limit: int = 10) -> list[Any]:
    """The evaluator's grids still open: evaluations in scoring without their submission, with their progress.
    One query."""
    scored = Criterion.objects.filter(evaluation=OuterRef("pk"), evidence="", children__isnull=True)
    mine = Score.objects.filter(
        candidate__evaluation=OuterRef("pk"), evaluator=user, criterion__evidence="", criterion__children__isnull=True
    )
    evaluations: list[Any] = list(
        Evaluation.objects.filter(evaluators=user, status=Evaluation.Status.SCORING)
        .exclude(submissions__evaluator=user)
        .select_related("lead")
        .annotate(
            criterion_count=count_of(scored, "evaluation"),
            candidate_count=count_of(Candidate.objects.filter(evaluation=OuterRef("pk")), "evaluation"),
            done=count_of(mine.annotate(e=F("candidate__evaluation")), "e"),
        )
        .order_by("needed_by", "-updated_at")[:limit]
    )
    for e in evaluations:
        e.expected = e.criterion_count * e.candidate_count
        e.percent = round(100 * e.done / e.expected) if e.expected else 0
    return evaluations


def evaluations_in_progress(limit: int = 10) -> list[Evaluation]:
    """Evaluations in scoring or review, most recently changed first, with their candidate count. One query."""
    return list(
        Evaluation.objects.filter(status__in=[Evaluation.Status.SCORING, Evaluation.Status.REVIEW])
        .select_related("lead")
        .annotate(candidate_count=count_of(Candidate.objects.filter(evaluation=OuterRef("pk")), "evaluation"))
        .order_by("-updated_at")[:limit]
    )
