"""Supplier performance KPIs, their 1-5 scores, flags and the standing rules: pure functions on plain
values (no Django, no queries), each KPI with the formula it is computed by and the worked figures.

Counts of one period (a mapping with the PerformanceRecord's count fields) -> KPI values -> per KPI a
score on the rubric's 1-5 scale (linear between the value that scores 1 and the value that scores 5,
clamped) -> the weighted mean of the scored KPIs -> the standing: the score's band, then the caps
(e.g. "at most approved with a critical deviation"), each reason named.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from itertools import pairwise
from typing import Any

COUNT_FIELDS = [
    "batches_started",
    "batches_released",
    "batches_right_first_time",
    "deviations_minor",
    "deviations_major",
    "deviations_critical",
    "oos_results",
    "deliveries_due",
    "deliveries_on_time",
    "capas_due",
    "capas_closed_on_time",
    "change_notifications_due",
    "change_notifications_on_time",
    "complaints",
]

# (part, whole, message): a part may never exceed its whole.
CONSISTENCY = [
    ("batches_released", "batches_started", "More batches released than started."),
    ("batches_right_first_time", "batches_released", "More batches right first time than released."),
    ("deliveries_on_time", "deliveries_due", "More deliveries on time than due."),
    ("capas_closed_on_time", "capas_due", "More CAPAs closed on time than due."),
    ("change_notifications_on_time", "change_notifications_due", "More change notifications on time than due."),
]

# Deviations per batch weigh each deviation by its severity: a major counts as 3 minors, a critical as 9
# (each class three times the one below, as risk-based deviation triage in ICH Q9 treats them).
DEVIATION_WEIGHTS = {"minor": 1, "major": 3, "critical": 9}


def contradictions(counts: Mapping[str, int]) -> list[tuple[str, str]]:
    """(field, message) for every part that exceeds its whole."""
    return [(part, message) for part, whole, message in CONSISTENCY if (counts[part] or 0) > (counts[whole] or 0)]


@dataclass(frozen=True)
class Kpi:
    code: str
    name: str
    unit: str  # "%", "per batch" or "count"
    higher_is_better: bool
    formula: str
    compute: Callable[[Mapping[str, int]], tuple[float | None, str]]  # value and the worked figures


def _ratio(part: str, whole: str, label: str) -> Callable[[Mapping[str, int]], tuple[float | None, str]]:
    def compute(c: Mapping[str, int]) -> tuple[float | None, str]:
        if not c[whole]:
            return None, f"no {label} in the period"
        value = 100.0 * c[part] / c[whole]
        return value, f"100 × {c[part]} / {c[whole]} = {value:.1f} %"

    return compute


def _deviations(c: Mapping[str, int]) -> tuple[float | None, str]:
    if not c["batches_started"]:
        return None, "no batches started in the period"
    w = DEVIATION_WEIGHTS
    weighted = (
        w["minor"] * c["deviations_minor"]
        + w["major"] * c["deviations_major"]
        + w["critical"] * c["deviations_critical"]
    )
    value = weighted / c["batches_started"]
    return value, (
        f"({c['deviations_minor']} + 3 × {c['deviations_major']} + 9 × {c['deviations_critical']}) / "
        f"{c['batches_started']} = {value:.2f}"
    )


def _oos(c: Mapping[str, int]) -> tuple[float | None, str]:
    if not c["batches_started"]:
        return None, "no batches started in the period"
    value = c["oos_results"] / c["batches_started"]
    return value, f"{c['oos_results']} / {c['batches_started']} = {value:.2f}"


def _complaints(c: Mapping[str, int]) -> tuple[float | None, str]:
    return float(c["complaints"]), f"{c['complaints']} in the period"


KPIS: list[Kpi] = [
    Kpi(
        "right_first_time",
        "Right first time",
        "%",
        True,
        "100 × batches released right first time / batches released",
        _ratio("batches_right_first_time", "batches_released", "batches released"),
    ),
    Kpi(
        "on_time_delivery",
        "On-time delivery",
        "%",
        True,
        "100 × deliveries on time / deliveries due",
        _ratio("deliveries_on_time", "deliveries_due", "deliveries due"),
    ),
    Kpi(
        "capa_on_time",
        "CAPA closed on time",
        "%",
        True,
        "100 × CAPAs closed on time / CAPAs due",
        _ratio("capas_closed_on_time", "capas_due", "CAPAs due"),
    ),
    Kpi(
        "change_notifications_on_time",
        "Change notifications on time",
        "%",
        True,
        "100 × change notifications on time / change notifications due",
        _ratio("change_notifications_on_time", "change_notifications_due", "change notifications due"),
    ),
    Kpi(
        "deviations_per_batch",
        "Deviations per batch (severity-weighted)",
        "per batch",
        False,
        "(minor + 3 × major + 9 × critical deviations) / batches started",
        _deviations,
    ),
    Kpi("oos_per_batch", "OOS results per batch", "per batch", False, "OOS results / batches started", _oos),
    Kpi("complaints", "Complaints", "count", False, "quality complaints in the period", _complaints),
]
KPI_BY_CODE = {kpi.code: kpi for kpi in KPIS}

# The settings a fresh database starts with (migration 0001_performance): weight, value scoring 1, value
# scoring 5, flag threshold, flag severity. Right first time below 90 % is the example threshold.
DEFAULT_SETTINGS: dict[str, tuple[int, str, str, str | None, str]] = {
    "right_first_time": (30, "80", "98", "90", "critical"),
    "on_time_delivery": (20, "70", "98", "85", "warning"),
    "capa_on_time": (15, "50", "100", "80", "warning"),
    "change_notifications_on_time": (10, "50", "100", "90", "warning"),
    "deviations_per_batch": (15, "1", "0.05", "0.5", "warning"),
    "oos_per_batch": (5, "0.2", "0", "0.1", "warning"),
    "complaints": (5, "6", "0", "3", "warning"),
}


@dataclass(frozen=True)
class Setting:
    """A KPI's weight, scale and threshold as plain values (KpiSetting rows, or DEFAULT_SETTINGS)."""

    weight: float
    scores_1_at: float
    scores_5_at: float
    threshold: float | None = None
    severity: str = "warning"


def default_settings() -> dict[str, Setting]:
    return {
        code: Setting(float(w), float(at1), float(at5), None if t is None else float(t), sev)
        for code, (w, at1, at5, t, sev) in DEFAULT_SETTINGS.items()
    }


def kpi_score(value: float, scores_1_at: float, scores_5_at: float) -> float:
    """1 + 4 × (value − v1) / (v5 − v1), clamped to 1-5: works for both directions (v5 < v1 when lower is better)."""
    if scores_5_at == scores_1_at:
        raise ValueError("the value scoring 1 and the value scoring 5 must differ")
    raw = 1 + 4 * (value - scores_1_at) / (scores_5_at - scores_1_at)
    return round(min(5.0, max(1.0, raw)), 2)


def breaches(kpi: Kpi, value: float, threshold: float) -> bool:
    """Worse than the threshold: below it for a KPI where higher is better, above it otherwise."""
    return value < threshold if kpi.higher_is_better else value > threshold


def _fmt(kpi: Kpi, value: float) -> str:
    if kpi.unit == "%":
        return f"{value:.1f} %"
    if kpi.unit == "count":
        return f"{value:g}"
    return f"{value:.2f}"


@dataclass
class KpiResult:
    code: str
    name: str
    unit: str
    formula: str
    worked: str
    value: float | None
    display: str
    score: float | None
    weight: float
    threshold: float | None
    severity: str
    flagged: bool

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def compute_kpis(counts: Mapping[str, int], settings: Mapping[str, Setting]) -> list[KpiResult]:
    results = []
    for kpi in KPIS:
        setting = settings[kpi.code]
        value, worked = kpi.compute(counts)
        score = None if value is None else kpi_score(value, setting.scores_1_at, setting.scores_5_at)
        flagged = value is not None and setting.threshold is not None and breaches(kpi, value, setting.threshold)
        results.append(
            KpiResult(
                code=kpi.code,
                name=kpi.name,
                unit=kpi.unit,
                formula=kpi.formula,
                worked=worked,
                value=None if value is None else round(value, 4),
                display="n/a" if value is None else _fmt(kpi, value),
                score=score,
                weight=setting.weight,
                threshold=setting.threshold,
                severity=setting.severity,
                flagged=flagged,
            )
        )
    return results


def weighted_score(results: Sequence[KpiResult]) -> float | None:
    """Σ weight × score / Σ weight over the KPIs that have a value (a KPI without one, e.g. no deliveries
    due, leaves the others' weights to carry the score); None when nothing could be scored."""
    scored = [(r.weight, r.score) for r in results if r.score is not None and r.weight > 0]
    total = sum(w for w, _ in scored)
    if not total:
        return None
    return round(sum(w * s for w, s in scored) / total, 2)


def flag_text(result: KpiResult) -> str:
    side = "below" if KPI_BY_CODE[result.code].higher_is_better else "above"
    assert result.threshold is not None
    limit = _fmt(KPI_BY_CODE[result.code], result.threshold)
    return f"{result.name} {result.display} is {side} the threshold of {limit} ({result.severity})"


# --- Standing rules ------------------------------------------------------------------------------

STANDINGS = ["preferred", "approved", "on_watch", "under_probation"]  # best first
STANDING_LABELS = {
    "preferred": "Preferred",
    "approved": "Approved",
    "on_watch": "On watch",
    "under_probation": "Under probation",
    "not_rated": "Not rated",
}
CONDITIONS = {
    "critical_deviations": "critical deviations",
    "major_deviations": "major deviations",
    "critical_flags": "critical KPI flags",
    "warning_flags": "warning KPI flags",
    "flags": "KPI flags of any severity",
}
SCALE_MIN, SCALE_MAX = 1.0, 5.0

DEFAULT_RULES: dict[str, list[dict[str, Any]]] = {
    "bands": [
        {"standing": "preferred", "min_score": 4.2, "max_score": 5.0},
        {"standing": "approved", "min_score": 3.0, "max_score": 4.2},
        {"standing": "on_watch", "min_score": 2.0, "max_score": 3.0},
        {"standing": "under_probation", "min_score": 1.0, "max_score": 2.0},
    ],
    "caps": [
        {"condition": "critical_deviations", "at_least": 1, "standing": "approved"},
        {"condition": "critical_flags", "at_least": 1, "standing": "on_watch"},
        {"condition": "warning_flags", "at_least": 3, "standing": "on_watch"},
        {"condition": "critical_deviations", "at_least": 2, "standing": "under_probation"},
    ],
}


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float | Decimal):
        return float(value)
    if isinstance(value, str):
        try:
            return float(Decimal(value.strip()))
        except ArithmeticError:
            return None
    return None


def validate_rules(bands: Any, caps: Any) -> tuple[list[tuple[str, str]], dict[str, list[dict[str, Any]]]]:
    """Check a rule set; return (errors as (field, message), the normalised rules). Bands must cover 1-5
    without gap or overlap (each band from its minimum, inclusive, to its maximum, exclusive; the top one
    includes 5), each standing at most once and better standings on higher scores."""
    errors: list[tuple[str, str]] = []
    clean_bands: list[dict[str, Any]] = []
    if not isinstance(bands, list) or not bands:
        return [("bands", "Give at least one score band.")], {}
    for i, band in enumerate(bands, start=1):
        if not isinstance(band, dict):
            errors.append(("bands", f"Band {i}: give standing, min_score and max_score."))
            continue
        standing = band.get("standing")
        low, high = _number(band.get("min_score")), _number(band.get("max_score"))
        if standing not in STANDINGS:
            errors.append(("bands", f"Band {i}: the standing must be one of {', '.join(STANDINGS)}."))
        if low is None or high is None:
            errors.append(("bands", f"Band {i}: min_score and max_score must be numbers."))
            continue
        if not (SCALE_MIN <= low < high <= SCALE_MAX):
            errors.append(("bands", f"Band {i}: needs 1 ≤ min_score < max_score ≤ 5 (got {low:g}–{high:g})."))
            continue
        clean_bands.append({"standing": standing, "min_score": low, "max_score": high})
    if errors:
        return errors, {}
    clean_bands.sort(key=lambda b: b["min_score"])
    seen = [b["standing"] for b in clean_bands]
    for standing in set(seen):
        if seen.count(standing) > 1:
            errors.append(("bands", f"The standing “{STANDING_LABELS[standing]}” has more than one band."))
    if clean_bands[0]["min_score"] > SCALE_MIN:
        errors.append(("bands", f"Gap: scores from 1 to {clean_bands[0]['min_score']:g} have no band."))
    if clean_bands[-1]["max_score"] < SCALE_MAX:
        errors.append(("bands", f"Gap: scores from {clean_bands[-1]['max_score']:g} to 5 have no band."))
    for lower, upper in pairwise(clean_bands):
        if upper["min_score"] > lower["max_score"]:
            errors.append(("bands", f"Gap: scores from {lower['max_score']:g} to {upper['min_score']:g} have no band."))
        elif upper["min_score"] < lower["max_score"]:
            errors.append(
                (
                    "bands",
                    f"Overlap: {STANDING_LABELS[lower['standing']]} and {STANDING_LABELS[upper['standing']]} "
                    f"both cover {upper['min_score']:g}–{lower['max_score']:g}.",
                )
            )
        elif STANDINGS.index(upper["standing"]) > STANDINGS.index(lower["standing"]):
            errors.append(
                (
                    "bands",
                    f"{STANDING_LABELS[upper['standing']]} is on higher scores than "
                    f"{STANDING_LABELS[lower['standing']]}: better standings need higher scores.",
                )
            )
    clean_caps: list[dict[str, Any]] = []
    if not isinstance(caps, list):
        errors.append(("caps", "Caps must be a list."))
        caps = []
    for i, cap in enumerate(caps, start=1):
        if not isinstance(cap, dict):
            errors.append(("caps", f"Cap {i}: give condition, at_least and standing."))
            continue
        condition, standing, at_least = cap.get("condition"), cap.get("standing"), cap.get("at_least")
        if condition not in CONDITIONS:
            errors.append(("caps", f"Cap {i}: the condition must be one of {', '.join(CONDITIONS)}."))
        if standing not in STANDINGS:
            errors.append(("caps", f"Cap {i}: the standing must be one of {', '.join(STANDINGS)}."))
        if isinstance(at_least, bool) or not isinstance(at_least, int) or at_least < 1:
            errors.append(("caps", f"Cap {i}: at_least must be a whole number of 1 or more."))
        else:
            clean_caps.append({"condition": condition, "at_least": at_least, "standing": standing})
    return errors, {"bands": clean_bands, "caps": clean_caps}


def _band(score: float, bands: Sequence[Mapping[str, Any]]) -> Mapping[str, Any]:
    top = max(bands, key=lambda b: b["max_score"])
    for band in bands:
        if band["min_score"] <= score < band["max_score"] or (band is top and score == band["max_score"]):
            return band
    raise ValueError(f"no band covers {score}")  # validate_rules makes this unreachable


def condition_count(condition: str, counts: Mapping[str, int], results: Sequence[KpiResult]) -> int:
    if condition == "critical_deviations":
        return counts["deviations_critical"]
    if condition == "major_deviations":
        return counts["deviations_major"]
    flagged = [r for r in results if r.flagged]
    if condition == "flags":
        return len(flagged)
    severity = condition.removesuffix("_flags")
    return sum(1 for r in flagged if r.severity == severity)


def standing(
    score: float | None, counts: Mapping[str, int], results: Sequence[KpiResult], rules: Mapping[str, Any]
) -> tuple[str, list[str]]:
    """The standing and why: the band of the score, then every cap that applies (the worst wins)."""
    if score is None:
        return "not_rated", ["no KPI could be scored for the period"]
    band = _band(score, rules["bands"])
    code = band["standing"]
    top = max(b["max_score"] for b in rules["bands"])
    upper = "≤" if band["max_score"] == top else "<"
    reasons = [
        f"score {score:.2f} is in the band {band['min_score']:g} ≤ score {upper} {band['max_score']:g}: "
        f"{STANDING_LABELS[code]}"
    ]
    for cap in rules.get("caps", []):
        n = condition_count(cap["condition"], counts, results)
        if n >= cap["at_least"]:
            capped = STANDINGS.index(cap["standing"]) > STANDINGS.index(code)
            reasons.append(
                f"{n} {CONDITIONS[cap['condition']]} (≥ {cap['at_least']}): at most {STANDING_LABELS[cap['standing']]}"
                + ("" if capped else " (already there)")
            )
            if capped:
                code = cap["standing"]
    return code, reasons


@dataclass
class ScorecardResult:
    kpis: list[KpiResult]
    score: float | None
    standing: str
    reasons: list[str]
    flags: list[dict[str, Any]] = field(default_factory=list)


def scorecard(counts: Mapping[str, int], settings: Mapping[str, Setting], rules: Mapping[str, Any]) -> ScorecardResult:
    results = compute_kpis(counts, settings)
    score = weighted_score(results)
    code, reasons = standing(score, counts, results, rules)
    flags = [{"kpi": r.code, "severity": r.severity, "text": flag_text(r)} for r in results if r.flagged]
    return ScorecardResult(results, score, code, reasons, flags)


# --- Periods --------------------------------------------------------------------------------------


def quarter_of(day: date) -> tuple[date, date]:
    first_month = 3 * ((day.month - 1) // 3) + 1
    start = date(day.year, first_month, 1)
    following = date(day.year + (first_month + 3 > 12), (first_month + 2) % 12 + 1, 1)
    return start, following - timedelta(days=1)


def next_quarter(end: date) -> tuple[date, date]:
    return quarter_of(end + timedelta(days=1))


def period_label(start: date, end: date) -> str:
    """ "2026 Q1" for a calendar quarter, else the dates."""
    if quarter_of(start) == (start, end):
        return f"{start.year} Q{(start.month - 1) // 3 + 1}"
    return f"{start.isoformat()} – {end.isoformat()}"
