"""Derived (evidence) scores and knock-out gates: documented value functions on plain data.

Each function takes plain values (no queries) and returns a score on the rubric's 1-5 scale
together with the evidence it used, or None when there is no evidence to score (shown as
"no evidence", never as a zero). `selectors.py` loads the data; these functions decide.
"""

from __future__ import annotations

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


def _inspection_score(classification: str, observations: int, warning_letter: bool) -> float:
    if warning_letter:
        return 1.0
    if classification == "OAI":
        return 1.5
    if classification == "VAI":
        return max(2.0, 4.0 - 0.25 * max(observations - 2, 0))
    return 5.0


def regulatory_track_record(inspections: list[dict], today: date, target_agencies=()) -> Derived:
    """Recency-weighted mean of per-inspection scores.

    Per inspection: NAI 5; VAI 4, minus 0.25 for each Form 483 observation beyond two (not
    below 2); OAI 1.5; any warning letter 1. Weight 0.5 ** (age in years / 3): an inspection
    three years old counts half as much as one today. When the program names its target
    agencies, inspections by other agencies count half (the history that matters most is with
    the agencies that will approve the product).
    """
    formula = (
        "Σ wᵢ·sᵢ / Σ wᵢ, wᵢ = 0.5^(ageᵢ/3 y) (× 0.5 if not a target agency); "
        "s: NAI 5, VAI 4 − 0.25 per 483 obs. > 2 (≥ 2), OAI 1.5, warning letter 1"
    )
    if not inspections:
        return Derived(None, formula, ["no regulatory inspections on record"])
    total = weights = 0.0
    evidence = []
    for inspection in inspections:
        age = max((today - inspection["end_date"]).days / 365.25, 0.0)
        weight = 0.5 ** (age / REGULATORY_HALF_LIFE_YEARS)
        if target_agencies and inspection["agency"] not in target_agencies:
            weight *= 0.5
        score = _inspection_score(
            inspection["classification"], inspection["form_483_observations"], inspection["warning_letter"]
        )
        total += weight * score
        weights += weight
        letter = ", warning letter" if inspection["warning_letter"] else ""
        evidence.append(
            f"{inspection['agency']} {inspection['end_date']:%Y-%m-%d} {inspection['classification']}"
            f" ({inspection['form_483_observations']} obs.{letter}) at {inspection['site']}: {score:g} × {weight:.2f}"
        )
    return Derived(round(total / weights, 2), formula, evidence)


FINDING_PENALTY = {"critical": 2.0, "major": 1.0, "minor": 0.25, "observation": 0.0}


def quality_systems(audits: list[dict], today: date) -> Derived:
    """Quality systems from the latest completed audit of each site, recency-weighted like inspections.

    Per audit: 5 minus a penalty per finding (critical 2, major 1, minor 0.25, observation 0),
    halved when its CAPA was verified or closed on time, plus 0.5 while a CAPA is overdue; not
    below 1. Audits are weighted 0.5 ** (age in years / 3).
    """
    formula = "per audit 5 − Σ penalty (critical 2, major 1, minor 0.25; ½ if CAPA closed on time; +0.5 if overdue), ≥ 1; recency-weighted"
    latest: dict[str, dict] = {}
    for audit in audits:
        if audit["end_date"] and (audit["site"] not in latest or audit["end_date"] > latest[audit["site"]]["end_date"]):
            latest[audit["site"]] = audit
    if not latest:
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
            f"audit of {audit['site']} ended {audit['end_date']:%Y-%m-%d}: {summary} → {score:g} × {weight:.2f}"
        )
    return Derived(round(total / weights, 2), formula, evidence)


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
    for key, offered_key, weight, label in (
        ("modality", "modalities", 0.2, "modality"),
        ("dosage_form", "dosage_forms", 0.2, "dosage form"),
        ("phase", "phases", 0.1, "phase"),
    ):
        wanted = requirement.get(key)
        if wanted:
            hit = wanted in offer[offered_key]
            parts.append((weight, 1.0 if hit else 0.0))
            evidence.append(f"{label} {wanted}: {'offered' if hit else 'not offered'}")
    if not parts:
        return Derived(None, formula, ["the evaluation sets no scope requirements"])
    coverage = sum(w * c for w, c in parts) / sum(w for w, _ in parts)
    return Derived(round(1 + 4 * coverage, 2), formula, evidence)


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

    evidence = [f"needed now {low:g}–{high:g} {unit}: {names(now)}"]
    if launch is not None:
        evidence.append(f"launch {launch:g} {unit}: {names(later)}")
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


def applicable(kind: str, requirement: dict) -> bool:
    """Whether the evaluation sets what a derived criterion measures against.

    Scope fit needs required services, modality, dosage form or phase; scale flexibility needs
    a scale range. A criterion that does not apply is left out of the totals (weight 0), which
    is not the same as a candidate's missing evidence (shown as missing, never as zero).
    """
    if kind == "scope_fit":
        return bool(
            requirement.get("services")
            or requirement.get("modality")
            or requirement.get("dosage_form")
            or requirement.get("phase")
        )
    if kind == "scale":
        return bool(requirement.get("unit")) and (
            requirement.get("min") is not None or requirement.get("max") is not None
        )
    return True


# Why a derived criterion does not apply, in the words the pages show (see `applicable`).
NOT_APPLICABLE_REASONS = {
    "scope_fit": "the evaluation requires no services, modality, dosage form or phase",
    "scale": "the evaluation sets no batch-size range",
}


def not_applicable_reason(kind: str, requirement: dict) -> str | None:
    """Why the derived criterion `kind` does not apply to the evaluation, or None when it applies."""
    if applicable(kind, requirement):
        return None
    return NOT_APPLICABLE_REASONS.get(kind, "the evaluation sets no requirement for this criterion")


def knockouts(
    rules: Sequence[Mapping[str, Any]],
    requirement: dict,
    offer: dict,
    sites: list[dict],
    inspections: list[dict],
    today: date,
) -> list[str]:
    """Reasons why the vendor fails the evaluation's must-have gates (empty: it passes)."""
    reasons = []
    for rule in rules:
        kind = rule["rule"]
        if kind == "all_services":
            missing = sorted(set(requirement.get("services") or []) - set(offer["services"]))
            if missing:
                reasons.append("does not offer " + ", ".join(missing))
        elif kind == "cgmp_dosage_form":
            form = requirement.get("dosage_form")
            has_cgmp = any(site["quality_regime"] == "cGMP" for site in sites)
            if form and (form not in offer["dosage_forms"] or not has_cgmp):
                reasons.append(f"no cGMP manufacturing of {form}")
        elif kind == "no_red_flags":
            years = rule["years"]
            flagged = [
                i
                for i in inspections
                if (today - i["end_date"]).days <= 365.25 * years
                and (i["classification"] == "OAI" or i["warning_letter"])
            ]
            if flagged:
                latest = max(flagged, key=lambda i: i["end_date"])
                what = "warning letter" if latest["warning_letter"] else "OAI"
                reasons.append(f"{what} in the last {years} years ({latest['agency']} {latest['end_date']:%Y-%m-%d})")
        elif kind == "no_open_critical":
            open_critical = [
                f
                for a in offer.get("audits", ())
                for f in a["findings"]
                if f["severity"] == "critical" and f["capa_status"] not in ("verified", "closed")
            ]
            if open_critical:
                reasons.append(f"{len(open_critical)} open critical audit finding(s)")
        elif kind == "scale_range":
            unit, needed = requirement.get("unit"), _needed_range(requirement)
            if unit and needed is not None:
                low, high = needed
                if not any(_site_covers(site, low, high, unit) for site in sites):
                    reasons.append(f"no site covers {low:g}–{high:g} {unit}")
    return reasons
