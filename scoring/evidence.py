"""Derived (evidence) scores and knock-out gates: documented value functions on plain data.

Each function takes plain values (no queries) and returns a score on the rubric's 1-5 scale
together with the evidence it used, or None when there is no evidence to score (shown as
"no evidence", never as a zero). `selectors.py` loads the data; these functions decide.
"""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

GRAMS = {"g": Decimal(1), "kg": Decimal(1000)}
REGULATORY_HALF_LIFE_YEARS = 3.0


@dataclass
class Derived:
    value: float | None
    formula: str
    evidence: list[str] = field(default_factory=list)


def _inspection_score(classification: str, observations: int | None, warning_letter: bool) -> float:
    if warning_letter:
        return 1.0
    if classification == "OAI":
        return 1.5
    if classification == "VAI":
        return max(2.0, 4.0 - 0.25 * max((observations or 0) - 2, 0))
    return 5.0


def inspection_flag(inspection: Mapping[str, Any]) -> dict | None:
    """An OAI or a warning letter from an inspection, as a red flag (None for NAI/VAI)."""
    if inspection["classification"] != "OAI" and not inspection["warning_letter"]:
        return None
    what = "OAI" + (", warning letter" if inspection["warning_letter"] else "")
    return {
        "site": inspection["site"],
        "date": inspection["end_date"],
        "active": False,
        "label": f"{inspection['agency']} {what} {inspection['end_date'].isoformat()}",
    }


def red_flags(sites: Sequence[dict], inspections: Sequence[dict], today: date, years: int) -> list[dict]:
    """The red flags that count now at `sites`: their OAI or warning-letter inspections and their own
    records (warning letters, import alerts, statements of non-compliance), within the last `years`
    or still active (an open warning letter, an active import alert, a statement still in force).
    Inspections without a site id (hand-built inputs) count for the sites given."""
    ids = {site.get("id") for site in sites}
    flags = [dict(flag, site=site["name"]) for site in sites for flag in site.get("flags", ())]
    flags += [
        flag
        for inspection in inspections
        if inspection.get("site_id") in ids or inspection.get("site_id") is None
        if (flag := inspection_flag(inspection)) is not None
    ]
    horizon = 365.25 * years
    return sorted(
        (f for f in flags if f["active"] or (today - f["date"]).days <= horizon), key=lambda f: f["date"], reverse=True
    )


def regulatory_track_record(
    inspections: list[dict],
    today: date,
    target_agencies=(),
    flags: Sequence[dict] = (),
    window_years: int | None = None,
) -> Derived:
    """Recency-weighted mean of per-inspection scores, capped at 1 by a recent red flag.

    Per inspection: NAI 5; VAI 4, minus 0.25 for each Form 483 observation beyond two (not
    below 2); OAI 1.5; any warning letter 1. Weight 0.5 ** (age in years / 3): an inspection
    three years old counts half as much as one today. When the program names its target
    agencies, inspections by other agencies count half (the history that matters most is with
    the agencies that will approve the product). The rubric says "1 = recent OAI or warning
    letter": a red flag (`flags`, already restricted to the window of `window_years` and to the
    sites that count) caps the score at 1 instead of being averaged away.
    """
    formula = (
        "Σ wᵢ·sᵢ / Σ wᵢ, wᵢ = 0.5^(ageᵢ/3 y) (× 0.5 if not a target agency); "
        "s: NAI 5, VAI 4 − 0.25 per 483 obs. > 2 (≥ 2), OAI 1.5, warning letter 1"
    )
    if window_years is not None:
        formula += (
            f"; capped at 1 by an OAI, warning letter, import alert or statement of non-compliance "
            f"in the last {window_years} years (or still open)"
        )
    if not inspections and not flags:
        return Derived(None, formula, ["no regulatory inspections on record"])
    total = weights = 0.0
    evidence = []
    for inspection in inspections:
        agency, end_date, count = inspection["agency"], inspection["end_date"], inspection["form_483_observations"]
        classification, warning_letter = inspection["classification"], inspection["warning_letter"]
        age = max((today - end_date).days / 365.25, 0.0)
        weight = 0.5 ** (age / REGULATORY_HALF_LIFE_YEARS)
        if target_agencies and agency not in target_agencies:
            weight *= 0.5
        score = _inspection_score(classification, count, warning_letter)
        total += weight * score
        weights += weight
        letter = ", warning letter" if warning_letter else ""
        observed = "obs. unknown" if count is None else f"{count} obs."
        if agency != "FDA" and count is None:
            observed = "no Form 483"
        evidence.append(
            f"{agency} {end_date.isoformat()} {classification} ({observed}{letter}) at {inspection['site']}: "
            f"{score:g} × {weight:.2f}"
        )
    value = round(total / weights, 2) if weights else None
    if flags:
        evidence.extend(f"red flag at {flag['site']}: {flag['label']}" for flag in flags)
        value = 1.0 if value is None else min(value, 1.0)
        evidence.append("capped at 1 by the red flag(s) above")
    return Derived(value, formula, evidence)


FINDING_PENALTY = {"critical": 2.0, "major": 1.0, "minor": 0.25, "observation": 0.0}


def quality_systems(audits: list[dict], today: date, standings: Sequence[Mapping[str, Any]] = ()) -> Derived:
    """Quality systems from the latest completed audit of each site, recency-weighted like inspections.

    Per audit: 5 minus a penalty per finding (critical 2, major 1, minor 0.25, observation 0),
    halved when its CAPA was verified or closed on time, plus 0.5 while a CAPA is overdue; not
    below 1. Audits are weighted 0.5 ** (age in years / 3).

    With supplier-performance scorecards of the sites after an award (`standings`: each site's latest,
    oversight), the value is the mean of the audit value and the mean scorecard score, and a site on
    watch caps it at 3, one under probation at 2 (PERFORMANCE_CAPS).
    """
    formula = "per audit 5 − Σ penalty (critical 2, major 1, minor 0.25; ½ if CAPA closed on time; +0.5 if overdue), ≥ 1; recency-weighted"
    latest: dict[str, dict] = {}
    for audit in audits:
        if audit["end_date"] and (audit["site"] not in latest or audit["end_date"] > latest[audit["site"]]["end_date"]):
            latest[audit["site"]] = audit
    if not latest:
        if standings:
            return _with_performance(None, formula, [], standings)
        return Derived(None, formula, ["no completed audit on record"])
    total = weights = 0.0
    evidence = []
    for audit in latest.values():
        penalty = 0.0
        counts: dict[str, int] = {}
        for finding in audit["findings"]:
            counts[finding["severity"]] = counts.get(finding["severity"], 0) + 1
            value = FINDING_PENALTY[finding["severity"]]
            done_on_time = finding["capa_status"] in ("verified", "closed") and (
                finding["capa_completed"] is None or finding["capa_completed"] <= finding["capa_due"]
            )
            if done_on_time:
                value /= 2
            elif (
                finding["capa_due"] is not None
                and finding["capa_status"] not in ("verified", "closed")
                and finding["capa_due"] < today
            ):
                value += 0.5
            penalty += value
        score = max(1.0, 5.0 - penalty)
        weight = 0.5 ** (max((today - audit["end_date"]).days / 365.25, 0.0) / REGULATORY_HALF_LIFE_YEARS)
        total += weight * score
        weights += weight
        summary = ", ".join(f"{n} {s}" for s, n in sorted(counts.items())) or "no findings"
        evidence.append(
            f"audit of {audit['site']} ended {audit['end_date'].isoformat()}: {summary} → {score:g} × {weight:.2f}"
        )
    if standings:
        return _with_performance(round(total / weights, 2), formula, evidence, standings)
    return Derived(round(total / weights, 2), formula, evidence)


PERFORMANCE_CAPS = {"on_watch": 3.0, "under_probation": 2.0}
STANDING_NAMES = {
    "preferred": "Preferred",
    "approved": "Approved",
    "on_watch": "On watch",
    "under_probation": "Under probation",
}


def _with_performance(
    audit_value: float | None, formula: str, evidence: list[str], standings: Sequence[Mapping[str, Any]]
) -> Derived:
    """The audit value combined with the sites' latest supplier scorecards (see quality_systems)."""
    formula += "; with scorecards: mean of the audit value and the scorecard score, ≤ 3 on watch, ≤ 2 under probation"
    evidence = list(evidence)
    scores = []
    cap = 5.0
    for s in standings:
        name = STANDING_NAMES.get(s["standing"], s["standing"])
        score = s.get("score")
        evidence.append(
            f"performance standing at {s['site']}: {name} ({s['period']}"
            + (f", score {score:.2f})" if score is not None else ")")
        )
        if score is not None:
            scores.append(score)
        cap = min(cap, PERFORMANCE_CAPS.get(s["standing"], 5.0))
    if not scores and audit_value is None:
        return Derived(None, formula, evidence or ["no completed audit on record"])
    performance = sum(scores) / len(scores) if scores else None
    parts = [v for v in (audit_value, performance) if v is not None]
    value = sum(parts) / len(parts)
    if audit_value is None:
        evidence.append("no completed audit on record: the scorecards alone")
    if value > cap:
        evidence.append(f"capped at {cap:g} by the performance standing")
        value = cap
    return Derived(round(max(1.0, value), 2), formula, evidence)


# Program-wide terms of scope fit: requirement key -> (the vendor's offer key, weight, label).
TERMS = {
    "modality": ("modalities", 0.2, "modality"),
    "dosage_form": ("dosage_forms", 0.2, "dosage form"),
    "phase": ("phases", 0.1, "phase"),
}


def _program_terms(requirement: Mapping[str, Any], offer: dict, keys, parts: list, evidence: list) -> None:
    """Each of `keys` the program sets: offered (1) or not (0), at its weight, with its evidence line."""
    for key in keys:
        offered_key, weight, label = TERMS[key]
        wanted = requirement.get(key)
        if wanted:
            hit = wanted in offer[offered_key]
            parts.append((weight, 1.0 if hit else 0.0))
            evidence.append(f"{label} {wanted}: {'offered' if hit else 'not offered'}")


def scope_fit(requirement: dict, offer: dict) -> Derived:
    """1 + 4 × coverage, coverage = weighted share of the program's requirements the vendor offers.

    Parts and their weights, counted only when the evaluation sets them: required services
    (share offered) 0.5, modality 0.2, dosage form 0.2, phase 0.1.
    """
    formula = "1 + 4 × (0.5·services offered/required + 0.2·modality + 0.2·dosage form + 0.1·phase), over the parts set"
    parts = []
    evidence = []
    required = set(requirement.get("services") or [])
    if required:
        offered = required & set(offer["services"])
        parts.append((0.5, len(offered) / len(required)))
        missing = sorted(required - offered)
        evidence.append(
            f"services: {len(offered)} of {len(required)} offered"
            + (f"; missing {', '.join(missing)}" if missing else "")
        )
    _program_terms(requirement, offer, ("modality", "dosage_form", "phase"), parts, evidence)
    if not parts:
        return Derived(None, formula, ["the evaluation sets no scope requirements"])
    coverage = sum(w * c for w, c in parts) / sum(w for w, _ in parts)
    return Derived(round(1 + 4 * coverage, 2), formula, evidence)


@functools.lru_cache(maxsize=512)
def _size(value: Decimal) -> str:
    """A batch size as people write it: 2000, 0.5 (not 2000.000 or 2E+3). Cached: the program's
    sizes are written once per candidate and criterion."""
    return f"{Decimal(value).normalize():f}"


def _in_unit(value: Decimal, from_unit: str, to_unit: str) -> Decimal | None:
    if from_unit == to_unit:
        return value
    if from_unit in GRAMS and to_unit in GRAMS:
        return value * GRAMS[from_unit] / GRAMS[to_unit]
    return None


def _site_covers(site: dict, low: Decimal, high: Decimal, unit: str) -> bool:
    if site["scale_min"] is None or site["scale_max"] is None or not site["scale_unit"]:
        return False
    site_low = _in_unit(site["scale_min"], site["scale_unit"], unit)
    site_high = _in_unit(site["scale_max"], site["scale_unit"], unit)
    return site_low is not None and site_high is not None and site_low <= low and site_high >= high


def _needed_range(requirement: dict) -> tuple[Decimal, Decimal] | None:
    """The batch-size range needed now; one bound given stands for both."""
    low, high = requirement.get("min"), requirement.get("max")
    low = high if low is None else low
    high = low if high is None else high
    if low is None or high is None:
        return None
    return low, high


def scale_flexibility(requirement: dict, sites: list[dict]) -> Derived:
    """Can the vendor serve today's batch sizes and the launch volume without a change of partner?

    5: one site covers today's range and the launch size; 4: today's range and launch are
    covered, by different sites (a site transfer inside the vendor); 3: only today's range is
    covered; 2: some site overlaps today's range without covering it; 1: nothing fits.
    """
    formula = "5 one site covers now and launch · 4 different sites · 3 now only · 2 partial overlap · 1 none"
    unit, needed, launch = requirement.get("unit"), _needed_range(requirement), requirement.get("launch")
    if not unit or needed is None:
        return Derived(None, formula, ["the evaluation sets no scale requirement"])
    low, high = needed
    now = [s for s in sites if _site_covers(s, low, high, unit)]
    later = [s for s in sites if launch is not None and _site_covers(s, launch, launch, unit)]

    def names(group):
        return ", ".join(site["name"] for site in group) or "none"

    evidence = [f"needed now {_size(low)}–{_size(high)} {unit}: {names(now)}"]
    if launch is not None:
        evidence.append(f"launch {_size(launch)} {unit}: {names(later)}")
    if now and (launch is None or {s["name"] for s in now} & {s["name"] for s in later}):
        value = 5.0 if launch is not None else 4.0
    elif now and later:
        value = 4.0
    elif now:
        value = 3.0
    else:
        overlapping = []
        for site in sites:
            if site["scale_min"] is None or site["scale_max"] is None:
                continue
            site_low = _in_unit(site["scale_min"], site["scale_unit"], unit)
            site_high = _in_unit(site["scale_max"], site["scale_unit"], unit)
            if site_low is not None and site_high is not None and site_low <= high and site_high >= low:
                overlapping.append(site)
        value = 2.0 if overlapping else 1.0
        if overlapping:
            evidence.append(f"partial overlap: {names(overlapping)}")
    return Derived(value, formula, evidence)


def _has_scale(requirement: Mapping[str, Any]) -> bool:
    return bool(requirement.get("unit")) and (requirement.get("min") is not None or requirement.get("max") is not None)


def applicable(kind: str, requirement: dict) -> bool:
    """Whether the evaluation sets what a derived criterion measures against.

    Scope fit needs required services, modality, dosage form or phase; scale flexibility needs
    a scale range. A criterion that does not apply is left out of the totals (weight 0), which
    is not the same as a candidate's missing evidence (shown as missing, never as zero).
    """
    if kind == "scope_fit":
        return bool(
            requirement.get("steps")
            or requirement.get("services")
            or requirement.get("modality")
            or requirement.get("dosage_form")
            or requirement.get("phase")
        )
    if kind == "scale":
        return _has_scale(requirement) or any(_has_scale(step) for step in requirement.get("steps") or ())
    # Until a proposal is opened nobody has answers or a cost: left out rather than every row incomplete.
    if kind == "compliance":
        return bool(requirement.get("answers_opened"))
    if kind == "price":
        return bool(requirement.get("costs_opened"))
    return True


# Why a derived criterion does not apply, in the words the pages show (see `applicable`).
NOT_APPLICABLE_REASONS = {
    "scope_fit": "the evaluation requires no program step, services, modality, dosage form or phase",
    "scale": "the evaluation sets no batch-size range",
    "compliance": "no questionnaire answers have been opened yet",
    "price": "no proposal's program cost has been opened yet",
}


def not_applicable_reason(kind: str, requirement: dict) -> str | None:
    """Why the derived criterion `kind` does not apply to the evaluation, or None when it applies."""
    if applicable(kind, requirement):
        return None
    return NOT_APPLICABLE_REASONS.get(kind, "the evaluation sets no requirement for this criterion")


@dataclass
class Scope:
    """The sites a candidate is judged on. With program steps: the sites it proposes for each step
    (GMP evidence is per site and activity); without steps: every site of the vendor."""

    steps: list[dict]
    by_step: dict[int, list[dict]]
    proposed: list[dict]
    others: list[dict]
    # What is worked out once per candidate and read by several criteria and gates (who must not
    # change it): red flags by window (scope_red_flags), able sites by step (able_sites).
    cache: dict[tuple, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def chosen(self) -> set[int]:
        """The ids of the proposed sites."""
        found = self.cache.get(("chosen",))
        if found is None:
            found = self.cache[("chosen",)] = {site["id"] for site in self.proposed}
        return found


def candidate_scope(requirement: Mapping[str, Any], sites: list[dict], proposals: Mapping[int, Sequence[int]]) -> Scope:
    steps = list(requirement.get("steps") or ())
    if not steps:
        return Scope([], {}, list(sites), [])
    by_id = {site["id"]: site for site in sites}
    by_step = {
        step["id"]: [by_id[site_id] for site_id in proposals.get(step["id"], ()) if site_id in by_id] for step in steps
    }
    chosen = {site["id"] for group in by_step.values() for site in group}
    return Scope(steps, by_step, [s for s in sites if s["id"] in chosen], [s for s in sites if s["id"] not in chosen])


def scope_red_flags(scope: Scope, inspections: list[dict], today: date, years: int, others: bool = False) -> list[dict]:
    """`red_flags` at the proposed sites of `scope` (or at its other sites), worked out once per window:
    the regulatory score, the gates and the warnings of a candidate read the same list (not to be
    changed by its readers). `inspections` are the candidate vendor's."""
    key = ("flags", others, years, today)
    found = scope.cache.get(key)
    if found is None:
        sites = scope.others if others else scope.proposed
        found = scope.cache[key] = red_flags(sites, _at(inspections, sites, scope), today, years)
    return found


def site_cannot(site: dict, step: Mapping[str, Any]) -> str | None:
    """Why `site` cannot do `step` (quality regime, services), or None when it can."""
    if site["quality_regime"] != step["regime"]:
        return f"{site['name']} works under {site['quality_regime']}, the step needs {step['regime']}"
    missing = [code for code in step["services"] if code not in site.get("capabilities", ())]
    if missing:
        names = step.get("service_names", {})
        return f"{site['name']} does not do {', '.join(names.get(code, code) for code in missing)}"
    return None


def able_sites(scope: Scope, step: Mapping[str, Any]) -> list[dict]:
    """The sites proposed for `step` that can do it (worked out once per scope and step)."""
    key = ("able", step["id"])
    found = scope.cache.get(key)
    if found is None:
        found = scope.cache[key] = [
            site for site in scope.by_step.get(step["id"], ()) if site_cannot(site, step) is None
        ]
    return found


def step_scope_fit(requirement: dict, offer: dict, scope: Scope) -> Derived:
    """Scope fit of a program with steps: 1 + 4 × coverage over the parts the evaluation sets.

    Parts and weights: each step done by a proposed site under the step's regime with the step's
    services 0.5 (shared between the steps, with the program-wide services the vendor offers);
    the steps' dosage forms made by the vendor 0.2; modality 0.2; phase 0.1.
    """
    formula = (
        "1 + 4 × (0.5·steps covered at a proposed site (and program services offered) + 0.2·dosage forms "
        "+ 0.2·modality + 0.1·phase), over the parts set"
    )
    evidence, covered, counted = [], 0.0, 0
    for step in scope.steps:
        counted += 1
        able = able_sites(scope, step)
        if able:
            covered += 1
            evidence.append(f"{step['label']}: at {', '.join(site['name'] for site in able)}")
        elif scope.by_step.get(step["id"]):
            reasons = "; ".join(filter(None, (site_cannot(site, step) for site in scope.by_step[step["id"]])))
            evidence.append(f"{step['label']}: not covered ({reasons})")
        else:
            evidence.append(f"{step['label']}: no site proposed")
    required = set(requirement.get("services") or [])
    if required:
        offered = required & set(offer["services"])
        counted += 1
        covered += len(offered) / len(required)
        missing = sorted(required - offered)
        evidence.append(
            f"program services: {len(offered)} of {len(required)} offered"
            + (f"; missing {', '.join(missing)}" if missing else "")
        )
    parts = [(0.5, covered / counted)] if counted else []
    forms = [step["dosage_form"] for step in scope.steps if step.get("dosage_form")]
    if forms:
        made = [form for form in forms if form in offer["dosage_forms"]]
        parts.append((0.2, len(made) / len(forms)))
        evidence.append(
            "dosage forms: "
            + ", ".join(f"{form} {'made' if form in made else 'not made'}" for form in dict.fromkeys(forms))
        )
    _program_terms(requirement, offer, ("modality", "phase"), parts, evidence)
    coverage = sum(w * c for w, c in parts) / sum(w for w, _ in parts)
    return Derived(round(1 + 4 * coverage, 2), formula, evidence)


def step_scale_flexibility(requirement: dict, scope: Scope) -> Derived:
    """Scale flexibility per step with a batch-size range, at the sites proposed for it that can do
    it; the weakest step sets the score (a program is only as scalable as its narrowest step)."""
    scaled = [step for step in scope.steps if _has_scale(step)]
    if not scaled:
        result = scale_flexibility(requirement, scope.proposed)
        result.evidence = [f"{line} (proposed sites)" for line in result.evidence]
        return result
    values: list[float | None] = []
    lines: list[str] = []
    formula = ""
    for step in scaled:
        result = scale_flexibility(step, able_sites(scope, step))
        formula = result.formula
        values.append(result.value)
        lines.extend(f"{step['label']}: {line}" for line in result.evidence)
    known = [v for v in values if v is not None]
    return Derived(min(known) if known else None, f"lowest over the steps of: {formula}", lines)


def knockouts(
    rules: Sequence[Mapping[str, Any]],
    requirement: dict,
    offer: dict,
    sites: list[dict],
    inspections: list[dict],
    today: date,
    proposals: Mapping[int, Sequence[int]] | None = None,
    scope: Scope | None = None,
) -> list[str]:
    """Reasons why the candidate fails the evaluation's must-have gates (empty: it passes).

    `rules` are the gates that are on. With program steps every gate is judged at the sites the
    candidate proposes for the steps, and each reason names the step and the site.
    """
    scope = scope or candidate_scope(requirement, sites, proposals or {})
    reasons = []
    for rule in rules:
        kind = rule["rule"]
        if kind == "all_services":
            missing = sorted(set(requirement.get("services") or []) - set(offer["services"]))
            if missing:
                reasons.append("does not offer " + ", ".join(missing))
        elif kind == "cgmp_dosage_form":
            reasons.extend(_steps_not_covered(requirement, offer, scope, sites))
        elif kind == "no_red_flags":
            where = "proposed site " if scope.steps else ""
            for flag in scope_red_flags(scope, inspections, today, rule["years"]):
                reasons.append(f"{flag['label']} at {where}{flag['site']} (last {rule['years']} years or still open)")
        elif kind == "company_red_flags" and scope.others:
            for flag in scope_red_flags(scope, inspections, today, rule["years"], others=True):
                reasons.append(f"{flag['label']} at {flag['site']}, another site of the company")
        elif kind == "no_open_critical":
            chosen = scope.chosen
            open_critical = [
                (a["site"], f)
                for a in offer.get("audits", ())
                if a.get("site_id") in chosen or a.get("site_id") is None
                for f in a["findings"]
                if f["severity"] == "critical" and f["capa_status"] not in ("verified", "closed")
            ]
            if open_critical:
                at = ", ".join(sorted({name for name, _ in open_critical}))
                reasons.append(f"{len(open_critical)} open critical audit finding(s) at {at}")
        elif kind == "scale_range":
            reasons.extend(_scale_not_covered(requirement, scope))
        elif kind == "not_disqualified":
            reasons.extend(disqualifications(requirement, offer, sites, proposals, scope))
    return reasons


def disqualifications(
    requirement: dict,
    offer: dict,
    sites: list[dict],
    proposals: Mapping[int, Sequence[int]] | None = None,
    scope: Scope | None = None,
) -> list[str]:
    """Why the candidate may not be shortlisted at all (whatever gate override): the register's
    disqualification of the vendor, or a proposed site disqualified for the work it would do."""
    scope = scope or candidate_scope(requirement, sites, proposals or {})
    key = ("disqualified", offer.get("status"))
    found = scope.cache.get(key)
    if found is None:
        found = ["disqualified in the register"] if offer.get("status") == "disqualified" else []
        for site, activity in _qualified(scope, "disqualified"):
            found.append(f"{site['name']} is disqualified ({activity}) on the approved-supplier list")
        scope.cache[key] = found
    return list(found)


def warnings(
    rules: Sequence[Mapping[str, Any]],
    requirement: dict,
    sites: list[dict],
    inspections: list[dict],
    today: date,
    proposals: Mapping[int, Sequence[int]] | None = None,
    scope: Scope | None = None,
) -> list[str]:
    """What a QA head should see although no gate is failed: red flags at the company's other sites
    (unless the lead made them a gate) and proposed sites not yet qualified."""
    scope = scope or candidate_scope(requirement, sites, proposals or {})
    on = {rule["rule"] for rule in rules}
    notes = []
    if "company_red_flags" not in on and scope.others:
        years = requirement.get("red_flag_years", 2)
        for flag in scope_red_flags(scope, inspections, today, years, others=True):
            notes.append(f"{flag['label']} at {flag['site']}, a site of the company not proposed")
    for site in scope.proposed if scope.steps else ():  # without steps no site is proposed as such
        if not any(q["status"] != "not_yet_qualified" for q in site.get("qualifications", ())):
            notes.append(f"{site['name']} is not yet qualified")
    return notes


def _steps_not_covered(requirement: dict, offer: dict, scope: Scope, sites: list[dict]) -> list[str]:
    if not scope.steps:  # without steps: the program's dosage form at the vendor, any cGMP site
        form = requirement.get("dosage_form")
        has_cgmp = any(site["quality_regime"] == "cGMP" for site in sites)
        return (
            [f"no cGMP manufacturing of {form}"] if form and (form not in offer["dosage_forms"] or not has_cgmp) else []
        )
    reasons = []
    for step in scope.steps:
        proposed = scope.by_step.get(step["id"], [])
        if step.get("dosage_form") and step["dosage_form"] not in offer["dosage_forms"]:
            reasons.append(f"{step['label']}: the vendor does not make {step['dosage_form']}")
        if not proposed:
            # Say why none was suggested: the vendor's sites that do part of the step, and what they lack.
            near = [
                site_cannot(site, step) for site in sites if set(step["services"]) & set(site.get("capabilities", ()))
            ]
            why = "; ".join(filter(None, near)) or "no site of the vendor does it"
            reasons.append(f"{step['label']}: no site proposed ({why})")
        elif not able_sites(scope, step):
            why = "; ".join(filter(None, (site_cannot(site, step) for site in proposed)))
            reasons.append(f"{step['label']}: no proposed site can do it ({why})")
    return reasons


def _scale_not_covered(requirement: dict, scope: Scope) -> list[str]:
    checks = [(step["label"] + ": ", step, able_sites(scope, step)) for step in scope.steps if _has_scale(step)]
    if not checks and _has_scale(requirement):
        checks = [("", requirement, scope.proposed)]
    reasons = []
    for label, needs, candidates in checks:
        needed, unit = _needed_range(needs), needs.get("unit") or ""
        if needed is None:
            continue
        low, high = needed
        if any(_site_covers(site, low, high, unit) for site in candidates):
            continue
        where = "proposed site" if scope.steps else "site"
        reasons.append(f"{label}no {where} covers {_size(low)}–{_size(high)} {unit}")
    return reasons


def _at(inspections: list[dict], sites: list[dict], scope: Scope) -> list[dict]:
    """The inspections of `sites`; without program steps every inspection counts (all sites are in)."""
    if not scope.steps:
        return inspections if sites is scope.proposed else []
    ids = {site["id"] for site in sites}
    return [i for i in inspections if i.get("site_id") in ids]


def _qualified(scope: Scope, status: str) -> list[tuple[dict, str]]:
    """(site, activity label) pairs of the proposed sites whose approved-supplier entry has `status`
    for the whole site or for an activity the site is proposed for."""
    hits = []
    for site in scope.proposed:
        activities: set[str] = set()
        for step in scope.steps:
            if site in scope.by_step.get(step["id"], ()):
                activities.update(step["services"])
        for entry in site.get("qualifications", ()):
            if entry["status"] != status:
                continue
            if entry["activity"] is None:
                hits.append((site, "all activities"))
            elif not scope.steps or entry["activity"] in activities:
                hits.append((site, entry["activity"]))
    return hits


# --- Evidence from the vendors' proposals (opened questionnaires and program costs) ---------------

# Points per compliance answer; "n/a" and an unanswered question are left out, not counted as zero.
COMPLIANCE_POINTS = {"yes": 5.0, "partly": 3.0, "no": 1.0}
COMPLIANCE_LABELS = {"yes": "Yes", "partly": "Partly", "no": "No", "n/a": "N/A"}
COMPLIANCE_FORMULA = "mean of the compliance answers to the criterion's questions: Yes 5, Partly 3, No 1 (N/A left out)"


def questionnaire_compliance(answers: Sequence[tuple[int, str]]) -> Derived:
    """The compliance answers (question number, "yes"/"partly"/"no"/"n/a"/"") to one criterion's
    questions as a 1-5 value: Yes 5, Partly 3, No 1, their mean. "N/A" and unanswered questions are
    left out; with nothing left there is no evidence (never a zero)."""
    counted = [(number, answer) for number, answer in answers if answer in COMPLIANCE_POINTS]
    if not answers:
        return Derived(None, COMPLIANCE_FORMULA, ["no opened questionnaire answers to this criterion's questions"])
    skipped = [number for number, answer in answers if answer not in COMPLIANCE_POINTS]
    notes = [f"left out: question {', '.join(map(str, skipped))} (N/A or unanswered)"] if skipped else []
    if not counted:
        return Derived(None, COMPLIANCE_FORMULA, ["no Yes, Partly or No answer", *notes])
    value = round(sum(COMPLIANCE_POINTS[answer] for _, answer in counted) / len(counted), 2)
    counts = Counter(answer for _, answer in counted)
    summary = ", ".join(f"{counts[key]} {label}" for key, label in COMPLIANCE_LABELS.items() if counts[key])
    gaps = [f"question {number}: {COMPLIANCE_LABELS[answer]}" for number, answer in counted if answer != "yes"]
    return Derived(value, COMPLIANCE_FORMULA, [f"{summary} of {len(counted)} counted → {value:g}", *gaps, *notes])


PRICE_FORMULA = "1 + 4 × lowest total program cost ÷ this candidate's (complete costs only)"


def lowest_cost_scaled(candidate_ids: Sequence[int], costs: Mapping[int, Any]) -> dict[int, Derived]:
    """The price criterion for every candidate: 1 + 4 × lowest / this total program cost, so the
    cheapest gets 5 and one twice as expensive 3. `costs` maps a candidate id to a
    providers.CostFact-like value (total, complete, currency, missing). Only complete, positive
    totals in one currency compete; a candidate with no cost, an incomplete one or another currency
    has no evidence (never a good score by omission). The lowest is taken over every candidate with
    a complete cost, knocked-out ones included: the scale must not move when a gate is overridden."""
    complete = {
        cid: (float(cost.total), cost.currency)
        for cid, cost in costs.items()
        if cost.complete and cost.total is not None and cost.total > 0
    }
    currencies = {currency for _, currency in complete.values()}
    mixed = len(currencies) > 1
    lowest = min((total for total, _ in complete.values()), default=None)
    result = {}
    for cid in candidate_ids:
        cost = costs.get(cid)
        if cost is None:
            result[cid] = Derived(None, PRICE_FORMULA, ["no opened proposal with a program cost"])
        elif cid not in complete:
            missing = "; ".join(cost.missing) if cost.missing else "the total is missing or zero"
            result[cid] = Derived(None, PRICE_FORMULA, [f"incomplete program cost: {missing}"])
        elif mixed:
            result[cid] = Derived(
                None, PRICE_FORMULA, [f"costs in several currencies ({', '.join(sorted(currencies))}): no comparison"]
            )
        else:
            total, currency = complete[cid]
            value = round(1 + 4 * lowest / total, 2)  # type: ignore[operator]
            result[cid] = Derived(
                value,
                PRICE_FORMULA,
                [f"total {total:,.0f} {currency}; lowest {lowest:,.0f} {currency} → 1 + 4 × {lowest / total:.3f}"],  # type: ignore[operator]
            )
    return result
