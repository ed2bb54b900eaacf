"""The ranking as a pure computation: plain inputs in, a Ranking out (engine + evidence, no database).

`selectors.load_ranking_inputs` reads the evaluation into `RankingInputs` in a fixed number of
queries; `compute_ranking` turns them into the `Ranking` that the API, the pages, the exports and
the shortlist snapshot present. Nothing here touches the ORM: the model instances the loader
passes along (`ref`) are carried through to the result for presentation and never read.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from scoring import engine, evidence, providers

DISAGREEMENT_FLAG = 2  # evaluators two or more rubric points apart
PROPOSAL_KINDS = ("compliance", "price")  # derived from the opened proposals, not the register
NO_OFFER: dict[str, list[str]] = {"services": [], "modalities": [], "dosage_forms": [], "phases": []}

# What the evidence functions know about a vendor: its offer (services, modalities, dosage
# forms, phases, completed audits), its sites and its regulatory inspections, as plain values.
VendorFacts = tuple[dict, list[dict], list[dict]]


@dataclass(frozen=True)
class CriterionInput:
    """A top-level criterion. A judged one reads the leaf scores `leaves` (one leaf: its own score;
    several: its sub-criteria, averaged with `local_weights`); a derived one has `evidence`."""

    id: int
    key: str
    name: str
    evidence: str = ""
    leaves: tuple[int, ...] = ()
    local_weights: tuple[float, ...] = ()
    # The sub-criteria's labels, "<name> (local weight <w>)"; empty without sub-criteria.
    parts: tuple[str, ...] = ()
    ref: Any = None  # the model instance, for presentation


@dataclass(frozen=True)
class CandidateInput:
    id: int
    vendor_id: int
    vendor_name: str
    knockout_override: bool = False
    # program step id -> ids of the sites the candidate proposes for it (empty without steps)
    proposals: Mapping[int, tuple[int, ...]] = field(default_factory=dict)
    ref: Any = None


@dataclass(frozen=True)
class EvaluatorInput:
    id: int
    submitted: bool = False
    ref: Any = None


@dataclass
class RankingInputs:
    """Everything the ranking is computed from, as plain values and arrays.

    `leaf_scores[e, i, l]`: evaluator e's score of candidate i on leaf criterion l (NaN: missing).
    For a blind viewer (`withheld`) it holds only the viewer's own scores: the loader never loads
    the others'. `filled` counts each evaluator's filled cells (progress, no values).
    """

    aggregation: str
    criteria: list[CriterionInput]
    weights: np.ndarray  # percent per top-level criterion, before the not-applicable ones are zeroed
    candidates: list[CandidateInput]
    evaluators: list[EvaluatorInput]
    leaf_scores: np.ndarray  # (evaluators, candidates, leaves)
    filled: np.ndarray  # (evaluators,)
    requirement: dict
    today: datetime.date
    knockout_rules: Sequence[Mapping[str, Any]] = field(default_factory=list)
    facts: dict[int, VendorFacts] = field(default_factory=dict)
    # (candidate id, criterion id) -> (value, justification) of a derived value's override
    overrides: dict[tuple[int, int], tuple[float, str]] = field(default_factory=dict)
    # From the opened proposals (scoring.providers), per candidate id: the questionnaire answers
    # (AnswerFact) and the total program cost (CostFact); empty while the proposals are sealed.
    answers: Mapping[int, Sequence[providers.AnswerFact]] = field(default_factory=dict)
    costs: Mapping[int, providers.CostFact] = field(default_factory=dict)
    withheld: bool = False
    viewer_index: int | None = None  # the viewer's evaluator index, when the viewer evaluates
    evaluation: Any = None
    weight_set: Any = None


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
    candidate: Any  # scoring.models.Candidate (the input's ref)
    cells: list[Cell]
    total: float | None
    rank: int | None
    contributions: list[float]
    completeness: float
    knockouts: list[str]
    knocked_out: bool
    index: int = 0  # the row of this candidate in Ranking.matrix
    # Red flags at the company's other sites, sites not yet qualified: shown, not gates.
    warnings: list[str] = field(default_factory=list)
    # (step label, [site names]) the candidate proposes; empty without program steps.
    proposed: list[tuple[str, list[str]]] = field(default_factory=list)
    # Why it may not be shortlisted at all (disqualified vendor or proposed site), whatever override.
    disqualified: list[str] = field(default_factory=list)


@dataclass
class Ranking:
    evaluation: Any
    criteria: list[Any]  # scoring.models.Criterion (the inputs' refs)
    weights: np.ndarray
    weight_set: Any
    rows: list[Row]
    agreement: Sequence[float | None]
    evaluator_progress: Sequence[tuple[Any, int, int, bool]]
    withheld: bool = False
    matrix: np.ndarray | None = None
    not_applicable: list[Any] = field(default_factory=list)
    # One entry per criterion: why it does not apply to the evaluation, or None when it applies.
    not_applicable_reasons: list[str | None] = field(default_factory=list)
    steps: list[dict] = field(default_factory=list)  # the program steps (requirement_of), in order


def _ref(item: Any) -> Any:
    return item if item.ref is None else item.ref


def evaluator_scores(inputs: RankingInputs) -> np.ndarray:
    """Each evaluator's value per top-level criterion, (evaluators, candidates, criteria): its own
    score, or its sub-criteria's weighted mean (missing if any sub-criterion is missing)."""
    k, m, _ = inputs.leaf_scores.shape
    scores = np.full((k, m, len(inputs.criteria)), np.nan)
    for j, criterion in enumerate(inputs.criteria):
        if criterion.evidence or not criterion.leaves:
            continue
        if not criterion.local_weights:
            scores[:, :, j] = inputs.leaf_scores[:, :, criterion.leaves[0]]
            continue
        local = np.array(criterion.local_weights, dtype=float)
        local = local / local.sum() if local.sum() > 0 else np.full(len(local), 1 / len(local))
        scores[:, :, j] = inputs.leaf_scores[:, :, list(criterion.leaves)] @ local
    return scores


def derive(kind: str, requirement, offer, sites, inspections, today, proposals=None, scope=None) -> evidence.Derived:
    """A derived criterion's value for one candidate, from the sites it proposes (all the vendor's
    sites when the program has no steps)."""
    scope = scope or evidence.candidate_scope(requirement, sites, proposals or {})
    chosen = scope.chosen
    if kind == "regulatory":
        years = requirement.get("red_flag_years", 2)
        at_sites = [i for i in inspections if i.get("site_id") in chosen] if scope.steps else inspections
        flags = evidence.scope_red_flags(scope, inspections, today, years)
        return evidence.regulatory_track_record(at_sites, today, requirement["agencies"], flags, years)
    if kind == "scope_fit":
        return (
            evidence.step_scope_fit(requirement, offer, scope)
            if scope.steps
            else evidence.scope_fit(requirement, offer)
        )
    if kind == "quality":
        audits = offer.get("audits", [])
        standings = offer.get("standings", [])
        if scope.steps:
            audits = [a for a in audits if a.get("site_id") in chosen]
            standings = [s for s in standings if s.get("site_id") in chosen]
        return evidence.quality_systems(audits, today, standings)
    if scope.steps:
        return evidence.step_scale_flexibility(requirement, scope)
    return evidence.scale_flexibility(requirement, sites)


def answers_by_criterion(answers: Mapping[int, Sequence[providers.AnswerFact]]) -> dict[int, dict[str, list]]:
    """candidate id -> criterion key (providers.criterion_key) -> [(question number, compliance)]."""
    index: dict[int, dict[str, list]] = {}
    for candidate_id, facts in answers.items():
        by_key = index[candidate_id] = {}
        for fact in facts:
            by_key.setdefault(providers.criterion_key(fact.criterion), []).append((fact.number, fact.compliance))
    return index


def from_proposals(kind: str, name: str, candidate_id: int, prices, answers) -> evidence.Derived:
    """A compliance or price value of one candidate: its answers to the questions filed under the
    criterion's name (`answers`: answers_by_criterion), or its place on the lowest-cost scale
    (`prices`); both are worked out once for every candidate."""
    if kind == "price":
        return prices[candidate_id]
    return evidence.questionnaire_compliance(answers.get(candidate_id, {}).get(providers.criterion_key(name), []))


def _gates(inputs: RankingInputs, candidate: CandidateInput, scope) -> tuple[list[str], list[str], list, list[str]]:
    """Knock-out reasons, warnings, the proposed sites per step and the disqualifications of one candidate."""
    offer, sites, inspections = inputs.facts.get(candidate.vendor_id, (NO_OFFER, [], []))
    requirement, today, proposals = inputs.requirement, inputs.today, candidate.proposals
    reasons = evidence.knockouts(inputs.knockout_rules, requirement, offer, sites, inspections, today, proposals, scope)
    notes = evidence.warnings(inputs.knockout_rules, requirement, sites, inspections, today, proposals, scope)
    names = {site["id"]: site["name"] for site in sites}
    proposed = [
        (step["label"], [names[i] for i in proposals.get(step["id"], ()) if i in names])
        for step in requirement.get("steps") or ()
    ]
    barred = evidence.disqualifications(requirement, offer, sites, proposals, scope)
    return reasons, notes, proposed, barred


def _scope(inputs: RankingInputs, candidate: CandidateInput) -> evidence.Scope:
    """The sites the candidate is judged on, worked out once for its gates and derived values."""
    sites = inputs.facts.get(candidate.vendor_id, (NO_OFFER, [], []))[1]
    return evidence.candidate_scope(inputs.requirement, sites, candidate.proposals)


def compute_ranking(inputs: RankingInputs) -> Ranking:
    """Totals, ranks, contributions, completeness, disagreement and knock-outs of every candidate.

    Judged criteria take the mean or median of the evaluators' scores; derived criteria take
    their evidence score (or an evaluator's justified override). A missing cell stays missing:
    such a candidate has no total and no rank and is marked incomplete. Knocked-out candidates
    (not overridden) stay listed, with their reasons, but are not ranked.

    For blind inputs (`withheld`) the result carries nothing derived from the others' scores
    (see _withheld_ranking).
    """
    criteria, candidates, requirement = inputs.criteria, inputs.candidates, inputs.requirement
    k, m, n_leaves = inputs.leaf_scores.shape
    n = len(criteria)
    scores = evaluator_scores(inputs)
    reasons = [evidence.not_applicable_reason(c.evidence, requirement) if c.evidence else None for c in criteria]
    not_applicable = np.array([reason is not None for reason in reasons], dtype=bool)
    weights = np.where(not_applicable, 0.0, np.asarray(inputs.weights, dtype=float))
    progress = [(_ref(u), int(inputs.filled[e]), n_leaves * m, u.submitted) for e, u in enumerate(inputs.evaluators)]
    if inputs.withheld:
        return _withheld_ranking(inputs, weights, scores, progress, reasons)
    aggregated = engine.aggregate(scores, inputs.aggregation) if k else np.full((m, n), np.nan)
    spread = engine.disagreement(scores) if k else np.full((m, n), np.nan)

    today = inputs.today
    matrix = aggregated.copy()
    # Plain Python values, read once: per-cell numpy scalar access dominated the loop below.
    aggregated_values = aggregated.tolist()
    spread_values = spread.tolist()
    scored_by_counts = (~np.isnan(scores)).sum(axis=0).tolist()  # zeros without evaluators
    na_list = not_applicable.tolist()
    cells_by_row, knockout_lists, gate_notes = [], [], []
    # The price scale depends on every candidate's cost, the answers are indexed by criterion: once, before the rows.
    kinds = {c.evidence for c in criteria}
    prices = evidence.lowest_cost_scaled([c.id for c in candidates], inputs.costs) if "price" in kinds else {}
    answers = answers_by_criterion(inputs.answers) if "compliance" in kinds else {}
    for i, candidate in enumerate(candidates):
        offer, sites, inspections = inputs.facts.get(candidate.vendor_id, (NO_OFFER, [], []))
        scope = _scope(inputs, candidate)
        gate_reasons, notes, proposed, barred = _gates(inputs, candidate, scope)
        knockout_lists.append(gate_reasons)
        gate_notes.append((notes, proposed, barred))
        cells = []
        row_values, row_spread = aggregated_values[i], spread_values[i]
        for j, criterion in enumerate(criteria):
            if na_list[j]:
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
                derived = (
                    from_proposals(criterion.evidence, criterion.name, candidate.id, prices, answers)
                    if criterion.evidence in PROPOSAL_KINDS
                    else derive(
                        criterion.evidence, requirement, offer, sites, inspections, today, candidate.proposals, scope
                    )
                )
                override = inputs.overrides.get((candidate.id, criterion.id))
                value = float(override[0]) if override else derived.value
                matrix[i, j] = np.nan if value is None else value
                cells.append(
                    Cell(
                        value,
                        derived=True,
                        overridden=bool(override),
                        formula=derived.formula,
                        evidence=derived.evidence + ([f"overridden: {override[1]}"] if override else []),
                    )
                )
            else:
                value = row_values[j]
                cell_spread = row_spread[j]
                cells.append(
                    Cell(
                        None if value != value else value,  # NaN: missing
                        spread=None if cell_spread != cell_spread else cell_spread,
                        scored_by=scored_by_counts[i][j],
                        formula="weighted mean of sub-criteria" if criterion.parts else "",
                        evidence=list(criterion.parts),
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
    total_values, rank_values = totals.tolist(), ranks.tolist()
    contribution_values, knocked_values = contributions.tolist(), knocked_out.tolist()
    filled_counts = (~np.isnan(inputs.leaf_scores)).sum(axis=(0, 2)).tolist()
    rows = []
    expected_cells = max(n_leaves * max(k, 1), 1)
    for i, candidate in enumerate(candidates):
        filled = filled_counts[i]
        total = total_values[i]
        complete_total = total == total  # not NaN
        rows.append(
            (
                candidate.vendor_name,
                Row(
                    index=i,
                    candidate=_ref(candidate),
                    cells=cells_by_row[i],
                    total=total if complete_total else None,
                    rank=int(rank_values[i]) if complete_total and not knocked_values[i] else None,
                    contributions=contribution_values[i],
                    completeness=filled / expected_cells if n_leaves else 1.0,
                    knockouts=knockout_lists[i],
                    knocked_out=knocked_values[i],
                    warnings=gate_notes[i][0],
                    proposed=gate_notes[i][1],
                    disqualified=gate_notes[i][2],
                ),
            )
        )
    rows.sort(key=lambda r: (r[1].rank is None, r[1].rank or 0, r[0]))
    agreement = (
        [None if np.isnan(w) else float(w) for w in engine.kendall_w(scores)] if k >= 2 and m >= 2 else [None] * n
    )
    return Ranking(
        inputs.evaluation,
        [_ref(c) for c in criteria],
        weights,
        inputs.weight_set,
        [row for _, row in rows],
        agreement,
        progress,
        False,
        matrix,
        [_ref(c) for c, na in zip(criteria, not_applicable, strict=True) if na],
        reasons,
        list(requirement.get("steps") or ()),
    )


def _withheld_ranking(inputs: RankingInputs, weights, scores, progress, reasons) -> Ranking:
    """What a blind evaluator's Ranking holds: nothing derived from the other evaluators' scores.

    The candidates in a fixed order (by vendor name, whatever anyone scored), the must-have gates
    (evidence, not scores), and in each cell only the viewer's own score: no totals, ranks,
    contributions, spreads, agreement or derived values (another evaluator may have overridden
    one). No template or endpoint can leak what is not there.
    """
    criteria = inputs.criteria
    own = inputs.viewer_index
    leaves = inputs.leaf_scores.shape[2]
    rows = []
    for i, candidate in enumerate(inputs.candidates):
        knockouts, notes, proposed, barred = _gates(inputs, candidate, _scope(inputs, candidate))
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
        filled = int((~np.isnan(inputs.leaf_scores[own, i, :])).sum()) if own is not None else 0
        row = Row(
            index=i,
            candidate=_ref(candidate),
            cells=cells,
            total=None,
            rank=None,
            contributions=[0.0] * len(criteria),
            completeness=filled / leaves if leaves else 1.0,
            knockouts=knockouts,
            knocked_out=bool(knockouts) and not candidate.knockout_override,
            warnings=notes,
            proposed=proposed,
            disqualified=barred,
        )
        rows.append(((candidate.vendor_name.casefold(), candidate.vendor_name, candidate.id), row))
    rows.sort(key=lambda r: r[0])
    return Ranking(
        inputs.evaluation,
        [_ref(c) for c in criteria],
        weights,
        inputs.weight_set,
        [row for _, row in rows],
        [None] * len(criteria),
        progress,
        withheld=True,
        matrix=None,
        not_applicable=[_ref(c) for c, reason in zip(criteria, reasons, strict=True) if reason is not None],
        not_applicable_reasons=reasons,
        steps=list(inputs.requirement.get("steps") or ()),
    )


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
