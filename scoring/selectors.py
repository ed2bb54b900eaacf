"""Reads of evaluations: rows turned into arrays for the engine, in a fixed number of queries."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from django.db.models import Count, Q
from django.utils import timezone

from audits.models import Audit, Finding
from scoring import access, engine, evidence
from scoring.models import Candidate, Criterion, DerivedOverride, Evaluation, Score, Submission, WeightSet
from vendors.filters import VendorFilter
from vendors.models import RegulatoryInspection, Site, Vendor

DISAGREEMENT_FLAG = 2  # evaluators two or more rubric points apart
_NO_OFFER: dict[str, list[str]] = {"services": [], "modalities": [], "dosage_forms": [], "phases": []}


def current_weight_set(evaluation: Evaluation) -> WeightSet | None:
    return evaluation.weight_sets.prefetch_related("weights").order_by("-version").first()


def requirement_of(evaluation: Evaluation) -> dict:
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
    }


def _candidates(evaluation: Evaluation) -> list[Candidate]:
    return list(evaluation.candidates.select_related("vendor").order_by("vendor__name", "pk"))


def vendor_facts(evaluation: Evaluation) -> dict[int, tuple[dict, list[dict], list[dict]]]:
    """What the evidence functions need about every candidate vendor, as plain values.

    Seven queries whatever the number of candidates; values() rather than model instances,
    because building thousands of inspection objects dominated the ranking's time.
    """
    in_evaluation = {"vendor__candidacies__evaluation": evaluation}
    facts: dict[int, tuple[dict, list[dict], list[dict]]] = {}

    def entry(vendor_id):
        if vendor_id not in facts:
            facts[vendor_id] = ({"services": [], "modalities": [], "dosage_forms": [], "phases": []}, [], [])
        return facts[vendor_id]

    for relation, key in (
        ("services", "service"),
        ("modalities", "modality"),
        ("dosage_forms", "dosageform"),
        ("phases", "phase"),
    ):
        through = getattr(Vendor, relation).through
        for vendor_id, code in through.objects.filter(**in_evaluation).values_list("vendor_id", f"{key}__code"):
            entry(vendor_id)[0][relation].append(code)
    site_fields = ("id", "vendor_id", "name", "quality_regime", "scale_min", "scale_max", "scale_unit")
    for site in Site.objects.filter(**in_evaluation).order_by("name").values(*site_fields):
        entry(site["vendor_id"])[1].append(site)
    inspections = RegulatoryInspection.objects.filter(site__vendor__candidacies__evaluation=evaluation).order_by(
        "-end_date"
    )
    for row in inspections.values(
        "site__vendor_id",
        "site__name",
        "agency",
        "end_date",
        "classification",
        "form_483_observations",
        "warning_letter",
    ):
        inspection = {key: value for key, value in row.items() if not key.startswith("site__")}
        inspection["site"] = row["site__name"]
        entry(row["site__vendor_id"])[2].append(inspection)
    for vendor_id, audits in _vendor_audits(evaluation).items():
        entry(vendor_id)
        facts[vendor_id][0]["audits"] = audits
    return facts


def _vendor_audits(evaluation: Evaluation) -> dict[int, list[dict]]:
    """Completed audits of the candidates' sites with their findings and CAPA, as plain values."""
    audits: dict[int, dict] = {}
    by_vendor: dict[int, list[dict]] = {}
    for done in Audit.objects.filter(site__vendor__candidacies__evaluation=evaluation).values(
        "id", "site__vendor_id", "site__name", "actual_end"
    ):
        audit: dict = {"site": done["site__name"], "end_date": done["actual_end"], "findings": []}
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


@dataclass
class Cell:
    value: float | None
    derived: bool = False
    overridden: bool = False
    # The criterion does not apply to the evaluation (weight 0, see evidence.applicable): no value,
    # and not missing either. The reason is in `evidence`.
    not_applicable: bool = False
    spread: float | None = None
    scored_by: int = 0
    formula: str = ""
    evidence: list[str] = field(default_factory=list)


@dataclass
class Row:
    candidate: Candidate
    cells: list[Cell]
    total: float | None
    rank: int | None
    contributions: list[float]
    completeness: float
    knockouts: list[str]
    knocked_out: bool
    index: int = 0  # the row of this candidate in Ranking.matrix


@dataclass
class Ranking:
    evaluation: Evaluation
    criteria: list[Criterion]
    weights: np.ndarray
    weight_set: WeightSet | None
    rows: list[Row]
    agreement: Sequence[float | None]
    evaluator_progress: Sequence[tuple[Any, int, int, bool]]
    withheld: bool = False
    matrix: np.ndarray | None = None
    not_applicable: list[Criterion] = field(default_factory=list)
    # One entry per criterion: why it does not apply to the evaluation, or None when it applies.
    not_applicable_reasons: list[str | None] = field(default_factory=list)


def ranking(evaluation: Evaluation, viewer) -> Ranking:
    """Totals, ranks, contributions, completeness, disagreement and knock-outs of every candidate.

    Judged criteria take the mean or median of the evaluators' scores; derived criteria take
    their evidence score (or an evaluator's justified override). A missing cell stays missing:
    such a candidate has no total and no rank and is marked incomplete. Knocked-out candidates
    (not overridden) stay listed, with their reasons, but are not ranked.

    For a viewer who is blind to the other evaluators (access.blind_to_others) the result is
    `withheld` and carries none of their data (see _withheld_ranking).
    """
    all_criteria = list(evaluation.criteria.all())
    criteria = [c for c in all_criteria if c.parent_id is None]
    children: dict[int, list[Criterion]] = {}
    for c in all_criteria:
        if c.parent_id is not None:
            children.setdefault(c.parent_id, []).append(c)
    leaves = [c for c in all_criteria if not c.evidence and c.pk not in children]
    weight_set = current_weight_set(evaluation)
    by_criterion = {w.criterion_id: float(w.percent) for w in weight_set.weights.all()} if weight_set else {}
    weights = np.array([by_criterion.get(c.pk, 0.0) for c in criteria])
    evaluators = list(evaluation.evaluators.order_by("username"))
    submitted = set(Submission.objects.filter(evaluation=evaluation).values_list("evaluator_id", flat=True))
    # Blind scoring (access.blind_to_others): the others' scores are not even loaded for this viewer.
    withheld = access.blind_to_others(viewer, evaluation)
    candidates = _candidates(evaluation)
    facts = vendor_facts(evaluation)
    requirement = requirement_of(evaluation)
    rules = list(evaluation.knockout_rules.values("rule", "years"))
    overrides = {
        (o.candidate_id, o.criterion_id): o for o in DerivedOverride.objects.filter(candidate__evaluation=evaluation)
    }

    m, n, k = len(candidates), len(criteria), len(evaluators)
    candidate_index = {c.pk: i for i, c in enumerate(candidates)}
    leaf_index = {c.pk: j for j, c in enumerate(leaves)}
    evaluator_index = {u.pk: e for e, u in enumerate(evaluators)}
    leaf_scores = np.full((k, m, len(leaves)), np.nan)
    filled_by = np.zeros(k, dtype=int)  # cells each evaluator has filled: their progress, no values
    rows = Score.objects.filter(candidate__evaluation=evaluation).values_list(
        "evaluator_id", "candidate_id", "criterion_id", "value"
    )
    for evaluator_id, candidate_id, criterion_id, score in rows:
        if evaluator_id in evaluator_index and criterion_id in leaf_index:
            filled_by[evaluator_index[evaluator_id]] += 1
            if withheld and evaluator_id != viewer.pk:
                continue
            leaf_scores[evaluator_index[evaluator_id], candidate_index[candidate_id], leaf_index[criterion_id]] = score
    # Each evaluator's value per top-level criterion: its own score, or its sub-criteria's weighted
    # mean (missing if any sub-criterion is missing).
    scores = np.full((k, m, n), np.nan)
    for j, criterion in enumerate(criteria):
        if criterion.evidence:
            continue
        parts = children.get(criterion.pk)
        if not parts:
            scores[:, :, j] = leaf_scores[:, :, leaf_index[criterion.pk]]
            continue
        local = np.array([float(p.local_weight) for p in parts])
        local = local / local.sum() if local.sum() > 0 else np.full(len(parts), 1 / len(parts))
        scores[:, :, j] = leaf_scores[:, :, [leaf_index[p.pk] for p in parts]] @ local
    reasons = [evidence.not_applicable_reason(c.evidence, requirement) if c.evidence else None for c in criteria]
    not_applicable = np.array([reason is not None for reason in reasons], dtype=bool)
    weights = np.where(not_applicable, 0.0, weights)
    progress = [(u, int(filled_by[e]), len(leaves) * m, u.pk in submitted) for e, u in enumerate(evaluators)]
    if withheld:
        return _withheld_ranking(
            evaluation,
            viewer,
            criteria,
            weights,
            weight_set,
            candidates,
            evaluators,
            scores,
            leaf_scores,
            progress,
            reasons,
            knockout_inputs=(rules, requirement, facts),
        )
    aggregated = engine.aggregate(scores, evaluation.aggregation) if k else np.full((m, n), np.nan)
    spread = engine.disagreement(scores) if k else np.full((m, n), np.nan)

    today = timezone.localdate()
    matrix = aggregated.copy()
    cells_by_row, knockout_lists = [], []
    for i, candidate in enumerate(candidates):
        offer, sites, inspections = facts.get(candidate.vendor_id, (_NO_OFFER, [], []))
        knockout_lists.append(evidence.knockouts(rules, requirement, offer, sites, inspections, today))
        cells = []
        for j, criterion in enumerate(criteria):
            if not_applicable[j]:
                matrix[i, j] = 0.0  # weight 0: contributes nothing, and keeps the row complete
                cells.append(
                    Cell(
                        None,
                        derived=True,
                        not_applicable=True,
                        formula="not applicable",
                        evidence=[f"{reasons[j]}, so it is left out (weight 0)"],
                    )
                )
            elif criterion.evidence:
                derived = _derive(criterion.evidence, requirement, offer, sites, inspections, today)
                override = overrides.get((candidate.pk, criterion.pk))
                value = float(override.value) if override else derived.value
                matrix[i, j] = np.nan if value is None else value
                cells.append(
                    Cell(
                        value,
                        derived=True,
                        overridden=bool(override),
                        formula=derived.formula,
                        evidence=derived.evidence + ([f"overridden: {override.justification}"] if override else []),
                    )
                )
            else:
                value = None if np.isnan(aggregated[i, j]) else float(aggregated[i, j])
                cell_spread = None if np.isnan(spread[i, j]) else float(spread[i, j])
                scored_by = int((~np.isnan(scores[:, i, j])).sum()) if k else 0
                parts = children.get(criterion.pk)
                cells.append(
                    Cell(
                        value,
                        spread=cell_spread,
                        scored_by=scored_by,
                        formula="weighted mean of sub-criteria" if parts else "",
                        evidence=[f"{p.name} (local weight {p.local_weight:g})" for p in parts] if parts else [],
                    )
                )
        cells_by_row.append(cells)

    knocked_out = np.array(
        [bool(r) and not c.knockout_override for r, c in zip(knockout_lists, candidates, strict=True)], dtype=bool
    )
    totals = engine.weighted_sum(matrix, weights) if n and weights.sum() > 0 else np.full(m, np.nan)
    contributions = (
        engine.contributions(np.nan_to_num(matrix), weights) if n and weights.sum() > 0 else np.zeros((m, n))
    )
    rankable = np.where(knocked_out, np.nan, totals)
    ranks = engine.rank(rankable) if m else np.array([], dtype=int)
    result_rows = []
    expected_cells = max(len(leaves) * max(k, 1), 1)
    for i, candidate in enumerate(candidates):
        filled = int((~np.isnan(leaf_scores[:, i, :])).sum()) if k else 0
        complete_total = not np.isnan(totals[i])
        result_rows.append(
            Row(
                index=i,
                candidate=candidate,
                cells=cells_by_row[i],
                total=float(totals[i]) if complete_total else None,
                rank=int(ranks[i]) if complete_total and not knocked_out[i] else None,
                contributions=[float(x) for x in contributions[i]],
                completeness=filled / expected_cells if leaves else 1.0,
                knockouts=knockout_lists[i],
                knocked_out=bool(knocked_out[i]),
            )
        )
    result_rows.sort(key=lambda r: (r.rank is None, r.rank or 0, r.candidate.vendor.name))
    agreement = (
        [None if np.isnan(w) else float(w) for w in engine.kendall_w(scores)] if k >= 2 and m >= 2 else [None] * n
    )
    return Ranking(
        evaluation,
        criteria,
        weights,
        weight_set,
        result_rows,
        agreement,
        progress,
        withheld,
        matrix,
        [c for c, na in zip(criteria, not_applicable, strict=True) if na],
        reasons,
    )


def _withheld_ranking(
    evaluation,
    viewer,
    criteria,
    weights,
    weight_set,
    candidates,
    evaluators,
    scores,
    leaf_scores,
    progress,
    reasons,
    *,
    knockout_inputs,
) -> Ranking:
    """What a blind evaluator's Ranking holds: nothing derived from the other evaluators' scores.

    The candidates in a fixed order (by vendor name, whatever anyone scored), the must-have gates
    (evidence, not scores), and in each cell only the viewer's own score: no totals, ranks,
    contributions, spreads, agreement or derived values (another evaluator may have overridden
    one). No template or endpoint can leak what is not there.
    """
    rules, requirement, facts = knockout_inputs
    today = timezone.localdate()
    own = next((e for e, u in enumerate(evaluators) if u.pk == viewer.pk), None)
    leaves = leaf_scores.shape[2]
    rows = []
    for i, candidate in enumerate(candidates):
        offer, sites, inspections = facts.get(candidate.vendor_id, (_NO_OFFER, [], []))
        knockouts = evidence.knockouts(rules, requirement, offer, sites, inspections, today)
        cells = []
        for j, criterion in enumerate(criteria):
            value = None
            if own is not None and not criterion.evidence and not np.isnan(scores[own, i, j]):
                value = float(scores[own, i, j])
            cells.append(
                Cell(
                    value,
                    derived=bool(criterion.evidence),
                    not_applicable=reasons[j] is not None,
                    scored_by=int(value is not None),
                    formula="not applicable" if reasons[j] is not None else "",
                    evidence=[f"{reasons[j]}, so it is left out (weight 0)"] if reasons[j] is not None else [],
                )
            )
        filled = int((~np.isnan(leaf_scores[own, i, :])).sum()) if own is not None else 0
        rows.append(
            Row(
                index=i,
                candidate=candidate,
                cells=cells,
                total=None,
                rank=None,
                contributions=[0.0] * len(criteria),
                completeness=filled / leaves if leaves else 1.0,
                knockouts=knockouts,
                knocked_out=bool(knockouts) and not candidate.knockout_override,
            )
        )
    rows.sort(key=lambda r: (r.candidate.vendor.name.casefold(), r.candidate.vendor.name, r.candidate.pk))
    return Ranking(
        evaluation,
        criteria,
        weights,
        weight_set,
        rows,
        [None] * len(criteria),
        progress,
        withheld=True,
        matrix=None,
        not_applicable=[c for c, reason in zip(criteria, reasons, strict=True) if reason is not None],
        not_applicable_reasons=reasons,
    )


def _derive(kind: str, requirement, offer, sites, inspections, today) -> evidence.Derived:
    if kind == "regulatory":
        return evidence.regulatory_track_record(inspections, today, requirement["agencies"])
    if kind == "scope_fit":
        return evidence.scope_fit(requirement, offer)
    if kind == "quality":
        return evidence.quality_systems(offer.get("audits", []), today)
    return evidence.scale_flexibility(requirement, sites)


def sensitivity(result: Ranking, samples: int = 10_000, seed: int = 2026) -> dict:
    """Tipping points of the leader and rank acceptability over the complete, eligible candidates."""
    eligible = [i for i, row in enumerate(result.rows) if row.rank is not None]
    if result.withheld or result.matrix is None or len(eligible) < 2 or result.weights.sum() <= 0:
        return {"candidates": [result.rows[i].candidate for i in eligible], "tipping": None, "acceptability": None}
    matrix = result.matrix[[result.rows[i].index for i in eligible]]
    tipping = engine.weight_sensitivity(matrix, result.weights)
    acceptability = engine.rank_acceptability(matrix, result.weights, samples=samples, seed=seed)
    return {
        "candidates": [result.rows[i].candidate for i in eligible],
        "tipping": tipping,
        "acceptability": acceptability,
    }


def candidate_suggestions(evaluation: Evaluation, limit: int = 8):
    """Register vendors that fit the program (allowed kinds, modality, a site covering the scale),
    most required services first; returns them with the number of services required."""
    vendors = Vendor.objects.exclude(candidacies__evaluation=evaluation).exclude(status=Vendor.Status.DISQUALIFIED)
    kinds = list(evaluation.allowed_kinds.all())
    if kinds:
        vendors = vendors.filter(kinds__in=kinds)
    if evaluation.modality_id:
        vendors = vendors.filter(modalities=evaluation.modality_id)
    vendors = VendorFilter.filter_scale(
        vendors,
        {"scale_unit": evaluation.scale_unit, "scale_from": evaluation.scale_min, "scale_to": evaluation.scale_max},
    )
    services_needed = list(evaluation.required_services.all())
    vendors = vendors.annotate(matched=Count("services", filter=Q(services__in=services_needed), distinct=True))
    return vendors.distinct().order_by("-matched", "name")[:limit], len(services_needed)
