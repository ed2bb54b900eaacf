"""The risk score of an approved site and its audit interval: pure functions of plain values (no ORM).

Score 0-100, the sum of five factors (each capped), so a reader can see what moved it:
- GMP impact of the site's highest-impact activity: sterile drug product 40, drug product 30,
  drug substance 25, testing and release 15, non-GMP 5;
- last qualification outcome: approved 0, approved with conditions 15, not yet audited 20, not approved 30;
- inspection history (last 5 years): OAI 10, warning letter 15, import alert in force 20 (together at most 30);
- performance standing: preferred 0, approved 5, no standing yet 5, on watch 20, under probation 30;
- open CAPA of critical (10 each) and major (5 each) findings, at most 20.
The matrix (bands of scores -> months) is QA's, versioned; `check_bands` refuses a gap, an overlap or
an interval of zero.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any

SCORE_MAX = 100

IMPACT_POINTS = {"sterile": 40, "drug_product": 30, "drug_substance": 25, "testing": 15, "non_gmp": 5}
IMPACT_LABELS = {
    "sterile": "sterile drug product",
    "drug_product": "drug product",
    "drug_substance": "drug substance",
    "testing": "testing and release",
    "non_gmp": "non-GMP activity",
}
# vendors.Service codes -> GMP impact; a service not named here takes its group's default.
SERVICE_IMPACT = {
    "fill-finish": "sterile",
    "drug-product-manufacturing": "drug_product",
    "commercial-manufacturing": "drug_product",
    "clinical-trial-materials": "drug_product",
    "registration-batches": "drug_product",
    "api-manufacturing": "drug_substance",
    "process-validation": "drug_substance",
    "packaging-labelling": "testing",
    "release-testing": "testing",
    "stability-testing": "testing",
    "qualified-person-release": "testing",
}
GROUP_IMPACT = {"manufacturing": "drug_product", "regulatory_quality": "non_gmp"}
# A drug-product activity for a vendor that makes sterile dosage forms is sterile manufacturing.
STERILE_DOSAGE_FORMS = {"sterile-injectable", "ophthalmic"}

OUTCOME_POINTS = {"approved": 0, "approved_with_conditions": 15, None: 20, "not_approved": 30}
OUTCOME_LABELS = {
    "approved": "approved",
    "approved_with_conditions": "approved with conditions",
    None: "not yet audited",
    "not_approved": "not approved",
}
OAI_POINTS, WARNING_LETTER_POINTS, IMPORT_ALERT_POINTS, INSPECTION_CAP = 10, 15, 20, 30
STANDING_POINTS = {"preferred": 0, "approved": 5, None: 5, "on_watch": 20, "under_probation": 30}
CRITICAL_CAPA_POINTS, MAJOR_CAPA_POINTS, CAPA_CAP = 10, 5, 20


def activity_impact(service_code: str, group: str, dosage_forms: set[str] | frozenset[str] = frozenset()) -> str:
    impact = SERVICE_IMPACT.get(service_code) or GROUP_IMPACT.get(group, "non_gmp")
    if impact == "drug_product" and set(dosage_forms) & STERILE_DOSAGE_FORMS:
        return "sterile"
    return impact


def highest_impact(impacts) -> str:
    return max(impacts, key=IMPACT_POINTS.__getitem__, default="non_gmp")


@dataclass(frozen=True)
class Factors:
    impact: str = "non_gmp"
    last_outcome: str | None = None
    recent_oai: bool = False
    recent_warning_letter: bool = False
    import_alert: bool = False
    standing: str | None = None
    standing_label: str = ""
    open_critical_capas: int = 0
    open_major_capas: int = 0


@dataclass(frozen=True)
class Score:
    score: int
    reasons: list[str] = field(default_factory=list)  # "+40: sterile drug product", in factor order


def score(f: Factors) -> Score:
    reasons: list[str] = []

    def add(points: int, text: str) -> int:
        reasons.append(f"+{points}: {text}")
        return points

    total = add(IMPACT_POINTS[f.impact], f"GMP impact of the activity: {IMPACT_LABELS[f.impact]}")
    total += add(OUTCOME_POINTS[f.last_outcome], f"last qualification: {OUTCOME_LABELS[f.last_outcome]}")
    inspection, named = 0, []
    if f.recent_oai:
        inspection += OAI_POINTS
        named.append("OAI inspection in the last 5 years")
    if f.recent_warning_letter:
        inspection += WARNING_LETTER_POINTS
        named.append("warning letter in the last 5 years")
    if f.import_alert:
        inspection += IMPORT_ALERT_POINTS
        named.append("import alert in force")
    if named:
        capped = min(inspection, INSPECTION_CAP)
        total += add(capped, "inspection history: " + ", ".join(named) + (" (capped)" if capped < inspection else ""))
    standing = f.standing if f.standing in STANDING_POINTS else None
    label = f.standing_label or (standing or "no standing yet").replace("_", " ")
    total += add(STANDING_POINTS[standing], f"performance standing: {label}")
    capa = f.open_critical_capas * CRITICAL_CAPA_POINTS + f.open_major_capas * MAJOR_CAPA_POINTS
    if capa:
        capped = min(capa, CAPA_CAP)
        total += add(
            capped,
            f"open CAPA: {f.open_critical_capas} critical, {f.open_major_capas} major"
            + (" (capped)" if capped < capa else ""),
        )
    return Score(min(total, SCORE_MAX), reasons)


class BandError(ValueError):
    """A risk matrix that does not map every score to one interval (message names the problem)."""


def check_bands(bands: list[dict]) -> list[dict]:
    """The bands sorted by score, each {"low", "high", "months", "label"} with integers; every score
    0..100 in exactly one band, every interval at least one month. Raises BandError."""
    cleaned: list[dict[str, Any]] = []
    for i, band in enumerate(bands, start=1):
        try:
            low, high, months = int(band["low"]), int(band["high"]), int(band["months"])
        except (KeyError, TypeError, ValueError):
            raise BandError(f"Band {i}: give the lowest score, the highest score and the interval in months.") from None
        label = str(band.get("label") or "").strip() or f"Scores {low}-{high}"
        if low > high:
            raise BandError(f"Band {i} ({label}): the lowest score {low} is above the highest {high}.")
        if months <= 0:
            raise BandError(f"Band {i} ({label}): the audit interval must be at least one month, not {months}.")
        if months > 120:
            raise BandError(f"Band {i} ({label}): an audit interval above 120 months is not credible.")
        cleaned.append({"low": low, "high": high, "months": months, "label": label[:60]})
    if not cleaned:
        raise BandError("Give at least one band.")
    cleaned.sort(key=lambda b: (b["low"], b["high"]))
    if cleaned[0]["low"] > 0:
        raise BandError(f"Scores 0-{cleaned[0]['low'] - 1} are in no band (a gap).")
    if cleaned[0]["low"] < 0:
        raise BandError("Scores start at 0.")
    for before, after in pairwise(cleaned):
        if after["low"] <= before["high"]:
            raise BandError(
                f"“{before['label']}” and “{after['label']}” overlap at scores {after['low']}-"
                f"{min(before['high'], after['high'])}."
            )
        if after["low"] > before["high"] + 1:
            raise BandError(f"Scores {before['high'] + 1}-{after['low'] - 1} are in no band (a gap).")
    if cleaned[-1]["high"] < SCORE_MAX:
        raise BandError(f"Scores {cleaned[-1]['high'] + 1}-{SCORE_MAX} are in no band (a gap).")
    if cleaned[-1]["high"] > SCORE_MAX:
        raise BandError(f"Scores end at {SCORE_MAX}.")
    return cleaned


# Conditions to verify: the next audit comes within a year whatever the score (the former fixed rule's 12 months).
CONDITIONAL_MAX_MONTHS = 12


def interval(value: int, bands: list[dict], last_outcome: str | None) -> tuple[dict, int, str]:
    """The band of the score, the months to the next audit, and the note when a cap applied."""
    band = band_for(value, bands)
    if last_outcome == "approved_with_conditions" and band["months"] > CONDITIONAL_MAX_MONTHS:
        return band, CONDITIONAL_MAX_MONTHS, f"approved with conditions: at most {CONDITIONAL_MAX_MONTHS} months"
    return band, band["months"], ""


def band_for(value: int, bands: list[dict]) -> dict:
    """The band of a score in checked bands."""
    for band in bands:
        if band["low"] <= value <= band["high"]:
            return band
    raise BandError(f"Score {value} is in no band.")
