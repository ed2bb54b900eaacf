"""Writes of supplier performance: records (form, API, import), KPI settings and standing rules, and the
scorecards computed from them (oversight/kpis.py decides; this module checks, locks, saves and recomputes).

Every write is one transaction; a refusal raises PerformanceError and changes nothing."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any, NoReturn

from django.db import transaction
from django.utils import timezone

from core import trail
from core.errors import ServiceError
from oversight import kpis, requalification
from oversight.models_performance import KpiSetting, PerformanceRecord, Scorecard, StandingRules
from vendors.importing import read_table
from vendors.models import Site


class PerformanceError(ServiceError):
    """A refused write of supplier performance, KPI settings or standing rules."""


def _refuse(message: str, field: str | None = None, status: int = 400) -> NoReturn:
    raise PerformanceError(message, field, status)


def can_enter(user) -> bool:
    return user.has_perm("oversight.add_performancerecord")


def can_configure(user) -> bool:
    """Quality assurance edits KPI settings and standing rules."""
    return user.has_perm("oversight.change_kpisetting") and user.has_perm("oversight.add_standingrules")


# --- The inputs of a scorecard -------------------------------------------------------------------


def settings_in_force() -> dict[str, kpis.Setting]:
    found = {
        s.kpi: kpis.Setting(
            float(s.weight),
            float(s.scores_1_at),
            float(s.scores_5_at),
            None if s.threshold is None else float(s.threshold),
            s.severity,
        )
        for s in KpiSetting.objects.all()
    }
    defaults = kpis.default_settings()
    return {code: found.get(code, defaults[code]) for code in defaults}


def rules_in_force() -> tuple[int | None, dict[str, Any]]:
    rules = StandingRules.objects.order_by("-version").first()
    if rules is None:
        return None, kpis.DEFAULT_RULES
    return rules.version, {"bands": rules.bands, "caps": rules.caps}


def counts_of(record: PerformanceRecord) -> dict[str, int]:
    return {name: getattr(record, name) for name in kpis.COUNT_FIELDS}


def _scorecard_values(record: PerformanceRecord, settings, version, rules) -> dict[str, Any]:
    result = kpis.scorecard(counts_of(record), settings, rules)
    return {
        "site_id": record.site_id,
        "period_end": record.end,
        "period_label": record.period_label,
        "score": None if result.score is None else Decimal(str(result.score)),
        "standing": result.standing,
        "kpis": {k.code: k.as_dict() for k in result.kpis},
        "flags": result.flags,
        "reasons": result.reasons,
        "rules_version": version,
    }


def _compute(record: PerformanceRecord) -> Scorecard:
    version, rules = rules_in_force()
    values = _scorecard_values(record, settings_in_force(), version, rules)
    scorecard, _ = Scorecard.objects.update_or_create(record=record, defaults=values)
    return scorecard


def recompute_all(records: Iterable[PerformanceRecord] | None = None) -> int:
    """Recompute the scorecards (after a change of the KPI settings or standing rules); only those whose
    result changed are written (and so appear in the trail). Returns how many changed."""
    version, rules = rules_in_force()
    settings = settings_in_force()
    if records is None:
        records = list(PerformanceRecord.objects.all())
        cards = Scorecard.objects.all()
    else:
        records = list(records)
        cards = Scorecard.objects.filter(record__in=[r.pk for r in records])
    existing = {s.record_id: s for s in cards}
    now = timezone.now()
    changed, created = [], []
    fields = ["site_id", "period_end", "period_label", "score", "standing", "kpis", "flags", "reasons", "rules_version"]
    for record in records:
        values = _scorecard_values(record, settings, version, rules)
        card = existing.get(record.pk)
        if card is None:
            created.append(Scorecard(record=record, **values))
            continue
        if any(getattr(card, name) != values[name] for name in fields if name != "rules_version"):
            for name, value in values.items():
                setattr(card, name, value)
            card.computed_at = now
            changed.append(card)
    Scorecard.objects.bulk_create(created, batch_size=1000)
    if changed:
        Scorecard.objects.bulk_update(changed, [*fields, "computed_at"], batch_size=1000)
    # Bulk writes send no post_save: the sites whose standing may have moved are reassessed here.
    for site_id in sorted({card.site_id for card in [*created, *changed]}):
        requalification.reassess_site_id(site_id, trigger="Performance scorecards recomputed (KPI settings or rules)")
    return len(changed) + len(created)


# --- Performance records ---------------------------------------------------------------------------


def _check_counts(counts: Mapping[str, Any]) -> dict[str, int]:
    clean = {}
    for name in kpis.COUNT_FIELDS:
        value = counts.get(name, 0)
        if value is None or value == "":
            value = 0
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            _refuse("Enter a whole number of zero or more.", name)
        clean[name] = value
    for part, message in kpis.contradictions(clean):
        _refuse(message, part)
    return clean


def _overlapping(site_id: int, start: date, end: date, exclude: int | None = None):
    found = PerformanceRecord.objects.filter(site_id=site_id, start__lte=end, end__gte=start)
    if exclude:
        found = found.exclude(pk=exclude)
    return found.order_by("start").first()


def performance_save(
    *,
    user,
    site: Site,
    start: date,
    end: date,
    note: str = "",
    record: PerformanceRecord | None = None,
    **counts: Any,
) -> PerformanceRecord:
    """Create (or, with `record`, correct) one period's performance of a site and compute its scorecard."""
    if not can_enter(user) or (record is not None and not user.has_perm("oversight.change_performancerecord")):
        _refuse("Only quality assurance and auditors enter supplier performance.", status=403)
    unknown = set(counts) - set(kpis.COUNT_FIELDS)
    if unknown:
        _refuse(f"Unknown counts: {', '.join(sorted(unknown))}.")
    if start is None:
        _refuse("Give the start of the period.", "start")
    if end is None:
        _refuse("Give the end of the period.", "end")
    if end < start:
        _refuse("The period cannot end before it starts.", "end")
    if record is not None and record.site_id != site.pk:
        _refuse("A record stays with its site; enter a new record for another site.", "site")
    clean = _check_counts(counts)
    with transaction.atomic():
        # The site's row lock serialises writers of one site: two overlapping periods entered at the same
        # time cannot both pass the check below.
        Site.objects.select_for_update().filter(pk=site.pk).first()
        other = _overlapping(site.pk, start, end, exclude=record.pk if record else None)
        if other is not None:
            _refuse(
                f"The period overlaps {other.period_label} ({other.start.isoformat()} to {other.end.isoformat()}) "
                f"of {site.name}: periods of one site may not overlap.",
                "start",
            )
        if record is None:
            record = PerformanceRecord(site=site, entered_by=user)
        else:
            trail.reason(f"Performance of {record.period_label} corrected")
        record.start, record.end, record.note = start, end, note
        for name, value in clean.items():
            setattr(record, name, value)
        record.save()
        _compute(record)
    return record


# --- Import ----------------------------------------------------------------------------------------

IMPORT_COLUMNS = ["vendor", "site", "start", "end", *kpis.COUNT_FIELDS, "note"]
IMPORT_REQUIRED = ["vendor", "site", "start", "end"]


@dataclass
class ImportOutcome:
    """What an import did: rows created and updated (same site and period again), or the errors (row as in
    the spreadsheet, column, message), in which case nothing was written."""

    created: int = 0
    updated: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)


def _parse_date(raw: str) -> date:
    value = raw.strip()
    if not value:
        raise ValueError("required")
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        raise ValueError(f"“{value}” is not a date; use YYYY-MM-DD") from None


def _parse_count(raw: str) -> int:
    value = raw.strip()
    if not value:
        return 0
    try:
        number = Decimal(value)
    except InvalidOperation:
        raise ValueError(f"“{value}” is not a number") from None
    if not number.is_finite() or number != number.to_integral_value() or number < 0:
        raise ValueError("must be a whole number of zero or more")
    if number > 10**9:
        raise ValueError("too large")
    return int(number)


def performance_import(*, user, data: bytes, filename: str) -> ImportOutcome:
    """Import performance records from CSV/XLSX (vendors.importing reads the file with its guards): every row
    is checked first, with its spreadsheet row number and column; any error and nothing is written. A row
    for a site and period already recorded (same start and end) corrects it; a row whose period overlaps
    another one of the same site (in the file or on record) is an error."""
    if not can_enter(user):
        _refuse("Only quality assurance and auditors import supplier performance.", status=403)
    columns, body = read_table(data, filename)  # ImportFileError (field "file") for a file it cannot read
    errors: list[dict[str, Any]] = []

    def error(row: int, column: str, message: str) -> None:
        errors.append({"row": row, "column": column, "message": message})

    for column in columns:
        if column and column not in IMPORT_COLUMNS:
            error(1, column, "unknown column; expected: " + ", ".join(IMPORT_COLUMNS))
    for column in IMPORT_REQUIRED:
        if column not in columns:
            error(1, column, "required column is missing")
    if errors:
        return ImportOutcome(errors=errors)
    sites = {
        (vendor.lower(), name.lower()): pk
        for pk, vendor, name in Site.objects.values_list("pk", "vendor__name", "name")
    }
    parsed = []
    for number, cells in body:
        raw = {column: (cells[i] if i < len(cells) else "") for i, column in enumerate(columns) if column}
        values: dict[str, Any] = {}
        bad = False
        for column in IMPORT_COLUMNS:
            text = str(raw.get(column, ""))
            try:
                if column in ("start", "end"):
                    values[column] = _parse_date(text)
                elif column in kpis.COUNT_FIELDS:
                    values[column] = _parse_count(text)
                elif column == "note":
                    values[column] = text.strip()[:5000]
                else:
                    if not text.strip():
                        raise ValueError("required")
                    values[column] = text.strip()
            except ValueError as exc:
                error(number, column, str(exc))
                bad = True
        if bad:
            continue
        site_id = sites.get((values["vendor"].lower(), values["site"].lower()))
        if site_id is None:
            error(number, "site", f"no site “{values['site']}” of “{values['vendor']}” in the register")
            continue
        if values["end"] < values["start"]:
            error(number, "end", "the period cannot end before it starts")
            continue
        for part, message in kpis.contradictions(values):
            error(number, part, message[0].lower() + message[1:].rstrip("."))
        parsed.append((number, site_id, values))
    # Overlaps within the file, then against the records (one query for the sites concerned).
    by_site: dict[int, list[tuple[int, dict]]] = {}
    for number, site_id, values in parsed:
        for other_number, other in by_site.get(site_id, []):
            if values["start"] <= other["end"] and other["start"] <= values["end"]:
                error(number, "start", f"the period overlaps row {other_number} for the same site")
                break
        by_site.setdefault(site_id, []).append((number, values))
    existing: dict[int, list[PerformanceRecord]] = {}
    for record in PerformanceRecord.objects.filter(site_id__in=by_site):
        existing.setdefault(record.site_id, []).append(record)
    plan: list[tuple[int, dict, PerformanceRecord | None]] = []
    for number, site_id, values in parsed:
        same = None
        for record in existing.get(site_id, []):
            if record.start == values["start"] and record.end == values["end"]:
                same = record
            elif values["start"] <= record.end and record.start <= values["end"]:
                error(
                    number,
                    "start",
                    f"the period overlaps {record.period_label} ({record.start} to {record.end}) on record",
                )
        plan.append((site_id, values, same))
    if errors:
        errors.sort(key=lambda e: (e["row"], IMPORT_COLUMNS.index(e["column"]) if e["column"] in IMPORT_COLUMNS else 0))
        return ImportOutcome(errors=errors)
    outcome = ImportOutcome()
    with transaction.atomic():
        list(Site.objects.select_for_update().filter(pk__in=by_site).order_by("pk").values_list("pk", flat=True))
        trail.reason(f"Imported from {filename[:200]}")
        saved = []
        for site_id, values, same in plan:
            record = same or PerformanceRecord(site_id=site_id, entered_by=user)
            for name in ("start", "end", "note", *kpis.COUNT_FIELDS):
                setattr(record, name, values[name])
            record.save()
            saved.append(record)
            if same:
                outcome.updated += 1
            else:
                outcome.created += 1
        recompute_all(saved)
    return outcome


# --- KPI settings and standing rules (quality assurance) -----------------------------------------------


def kpi_setting_update(
    *,
    user,
    kpi: str,
    weight: Decimal,
    scores_1_at: Decimal,
    scores_5_at: Decimal,
    threshold: Decimal | None,
    severity: str,
    reason: str = "",
) -> KpiSetting:
    """Change one KPI's weight, scale or threshold; every scorecard is recomputed with it."""
    if not can_configure(user):
        _refuse("Only quality assurance edits KPI settings.", status=403)
    if kpi not in kpis.KPI_BY_CODE:
        _refuse(f"Unknown KPI “{kpi}”.", "kpi", status=404)
    if weight is None or weight < 0:
        _refuse("The weight is zero or more.", "weight")
    if scores_1_at is None or scores_5_at is None:
        _refuse("Give the values that score 1 and 5.", "scores_1_at")
    if scores_1_at == scores_5_at:
        _refuse("The values that score 1 and 5 must differ.", "scores_5_at")
    if kpis.KPI_BY_CODE[kpi].higher_is_better != (scores_5_at > scores_1_at):
        direction = "higher" if kpis.KPI_BY_CODE[kpi].higher_is_better else "lower"
        _refuse(f"For this KPI {direction} is better: the value that scores 5 must be {direction}.", "scores_5_at")
    if kpis.KPI_BY_CODE[kpi].unit == "%":
        for name, value in (("scores_1_at", scores_1_at), ("scores_5_at", scores_5_at), ("threshold", threshold)):
            if value is not None and not (0 <= value <= 100):
                _refuse("A percentage is between 0 and 100.", name)
    elif threshold is not None and threshold < 0:
        _refuse("The threshold is zero or more.", "threshold")
    if severity not in KpiSetting.Severity.values:
        _refuse(f"The severity is one of {', '.join(KpiSetting.Severity.values)}.", "severity")
    with transaction.atomic():
        setting = KpiSetting.objects.select_for_update().filter(kpi=kpi).first() or KpiSetting(kpi=kpi)
        others = KpiSetting.objects.exclude(kpi=kpi).filter(weight__gt=0).exists()
        if weight == 0 and not others:
            _refuse("At least one KPI needs a weight above zero.", "weight")
        trail.reason(reason.strip() or f"KPI setting {kpi} changed")
        setting.weight, setting.scores_1_at, setting.scores_5_at = weight, scores_1_at, scores_5_at
        setting.threshold, setting.severity, setting.updated_by = threshold, severity, user
        setting.save()
        recompute_all()
    return setting


def standing_rules_save(*, user, bands: Any, caps: Any, note: str = "") -> StandingRules:
    """A new version of the standing rules (validated: bands cover 1-5 without gap or overlap); every
    scorecard is recomputed with it."""
    if not can_configure(user):
        _refuse("Only quality assurance edits the standing rules.", status=403)
    errors, clean = kpis.validate_rules(bands, caps)
    if errors:
        field_name, _ = errors[0]
        _refuse(" ".join(message for name, message in errors if name == field_name), field_name)
    with transaction.atomic():
        # The version number is taken under a lock on the table's newest row, so two editors get two versions.
        latest = StandingRules.objects.select_for_update().order_by("-version").first()
        version = (latest.version if latest else 0) + 1
        trail.reason(note.strip() or f"Standing rules v{version}")
        rules = StandingRules.objects.create(
            version=version, bands=clean["bands"], caps=clean["caps"], note=note.strip(), created_by=user
        )
        recompute_all()
    return rules
