"""CSV/XLSX import of the regulatory records of sites (FDA warning letters, FDA import alerts, GMP
certificates and statements of non-compliance) and of the approved-supplier list per site.

Same contract as the vendor and site imports (`vendors.importing`): every row is checked before
anything is written, each bad row is reported with its spreadsheet row number and column, and the
file is written all or nothing. A row names its site by FEI number, or by vendor and site name
(case-insensitive). Rows match existing records on a natural key, so importing a file twice changes
nothing the second time:

- warning letters: site + reference (MARCS-CMS number), or site + issue date + subject without one;
- import alerts: site + alert number;
- GMP certificates and statements: site + authority + number;
- qualifications: site + activity (empty: all activities).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from vendors import fda
from vendors.importing import ImportResult, RowError, _check_header, _parse_rows, choice, text
from vendors.models import (
    Agency,
    GmpCertificate,
    ImportAlert,
    QualificationStatus,
    Service,
    Site,
    SiteQualification,
    WarningLetter,
)

SITE_COLUMNS = ("vendor", "site", "fei_number")

# The site-wide qualification row keeps the site's own qualification fields (read by the audits and
# older pages) in step.
STATUS_TO_SITE_OUTCOME = {
    QualificationStatus.APPROVED: "approved",
    QualificationStatus.APPROVED_WITH_CONDITIONS: "approved_with_conditions",
    QualificationStatus.DISQUALIFIED: "not_approved",
    QualificationStatus.NOT_YET_QUALIFIED: "",
}


def _date(required: bool) -> Callable:
    def parse(raw: str, ctx: dict) -> date | None:
        value = raw.strip()
        if not value:
            if required:
                raise ValueError("required (YYYY-MM-DD)")
            return None
        return fda._date(value[:10] if len(value) > 10 and value[10] == "T" else value)

    return parse


def _activity(raw: str, ctx: dict) -> int | None:
    value = raw.strip()
    if not value or value.lower() in ("all", "all activities", "*"):
        return None
    pk = ctx["services"].get(value.lower())
    if pk is None:
        raise ValueError(
            f"unknown activity “{value}”; leave it empty for all activities, or use one of: {ctx['allowed_services']}"
        )
    return pk


def _raw(max_length: int) -> Callable:
    return text(max_length)


@dataclass
class Target:
    model: type
    columns: dict[str, Callable]
    required: list[str]
    key: Callable[[dict], tuple]
    display: Callable[[dict], str]


TARGETS: dict[str, Target] = {
    "warning_letters": Target(
        model=WarningLetter,
        columns={
            "issued_on": _date(required=True),
            "subject": text(300, required=True),
            "reference": text(60),
            "closed_on": _date(required=False),
            "notes": text(5000),
        },
        required=["issued_on", "subject"],
        key=lambda v: (
            ("ref", v["reference"].lower()) if v.get("reference") else ("letter", v["issued_on"], v["subject"].lower())
        ),
        display=lambda v: f"Warning letter {v['issued_on']:%Y-%m-%d} {v.get('reference') or v['subject'][:40]}",
    ),
    "import_alerts": Target(
        model=ImportAlert,
        columns={
            "number": text(20, required=True),
            "status": choice(ImportAlert.Status.choices, default=ImportAlert.Status.ACTIVE),
            "listed_on": _date(required=True),
            "removed_on": _date(required=False),
            "reason": text(5000),
        },
        required=["number", "listed_on"],
        key=lambda v: (v["number"].lower(),),
        display=lambda v: f"Import alert {v['number']}",
    ),
    "gmp_certificates": Target(
        model=GmpCertificate,
        columns={
            "kind": choice(GmpCertificate.Kind.choices, default=GmpCertificate.Kind.CERTIFICATE),
            "authority": choice(Agency.choices, required=True),
            "number": text(60, required=True),
            "eudragmdp_reference": text(60),
            "issued_on": _date(required=True),
            "valid_until": _date(required=False),
            "notes": text(5000),
        },
        required=["authority", "number", "issued_on"],
        key=lambda v: (v["authority"], v["number"].lower()),
        display=lambda v: f"{v['authority']} {v['number']}",
    ),
    "site_qualifications": Target(
        model=SiteQualification,
        columns={
            "activity": _activity,
            "status": choice(QualificationStatus.choices, required=True),
            "decided_on": _date(required=True),
            "requalification_due": _date(required=False),
            "note": text(5000),
            "source": text(200),
        },
        required=["status", "decided_on"],
        key=lambda v: (v.get("activity"),),
        display=lambda v: "",
    ),
}


def _context() -> dict:
    sites_by_fei, sites_by_name, names = {}, {}, {}
    for pk, vendor, name, fei in Site.objects.values_list("pk", "vendor__name", "name", "fei_number"):
        if fei:
            sites_by_fei[fei] = pk
        sites_by_name[(vendor.lower(), name.lower())] = pk
        names[pk] = f"{vendor} / {name}"
    services, allowed = {}, []
    for pk, code, name in Service.objects.values_list("pk", "code", "name"):
        services[code.lower()] = pk
        services[name.lower()] = pk
        allowed.append(code)
    return {
        "sites_by_fei": sites_by_fei,
        "sites_by_name": sites_by_name,
        "site_names": names,
        "services": services,
        "allowed_services": ", ".join(allowed),
        "service_names": dict(Service.objects.values_list("pk", "name")),
    }


def _site_of(values: dict, ctx: dict) -> tuple[int | None, RowError | None, str]:
    fei = values.pop("fei_number", "")
    vendor = values.pop("vendor", "")
    name = values.pop("site", "")
    if fei:
        pk = ctx["sites_by_fei"].get(fei)
        if pk is None:
            return None, "fei_number", f"no site with FEI {fei} in the register"
        if (vendor or name) and ctx["sites_by_name"].get((vendor.lower(), name.lower())) != pk:
            return None, "site", f"FEI {fei} belongs to {ctx['site_names'][pk]}, not to “{vendor} / {name}”"
        return pk, None, ""
    if not vendor or not name:
        return None, "site", "name the site: its FEI number, or the vendor and the site name"
    pk = ctx["sites_by_name"].get((vendor.lower(), name.lower()))
    if pk is None:
        return None, "site", f"no site “{name}” of vendor “{vendor}” in the register"
    return pk, None, ""


def _check(target_name: str, columns, body, progress=None) -> ImportResult:
    target = TARGETS[target_name]
    spec = {
        "vendor": text(200),
        "site": text(200),
        "fei_number": text(10),
        **target.columns,
    }
    errors = _check_header(columns, spec, target.required)
    if not errors and "fei_number" not in columns and not {"vendor", "site"} <= set(columns):
        errors.append(RowError(1, "site", "name the sites: a fei_number column, or vendor and site columns"))
    if errors:
        return ImportResult(columns, [], errors)
    ctx = _context()
    rows, errors = _parse_rows(columns, body, spec, ctx, progress)
    model = target.model
    first_seen: dict[tuple, int] = {}
    for row in rows:
        values = row.values
        site_id, column, message = _site_of(values, ctx)
        if site_id is None:
            errors.append(RowError(row.row, column, message))
            continue
        for name, parse in target.columns.items():
            if name not in values:  # a column the file leaves out: its empty value (required ones are present)
                values[name] = parse("", ctx)
        row.key = (site_id, *target.key(values))
        label = target.display(values)
        if target_name == "site_qualifications":
            label = ctx["service_names"].get(values["activity"], "All activities")
        row.display = (ctx["site_names"][site_id], label)
        if row.key in first_seen:
            errors.append(RowError(row.row, columns[0], f"same record as row {first_seen[row.key]}"))
        first_seen.setdefault(row.key, row.row)
        fields = {("activity_id" if k == "activity" else k): v for k, v in values.items() if k in target.columns}
        candidate = model(site_id=site_id, **fields)
        try:
            candidate.clean()
        except ValidationError as error:
            for field, messages in error.message_dict.items():
                errors.append(RowError(row.row, field if field in columns else "", "; ".join(messages)))
        row.values = {"site_id": site_id, **{k: v for k, v in fields.items() if k in _columns_given(columns)}}
    if errors:
        return ImportResult(columns, [], sorted(errors, key=lambda e: e.row))
    existing = {}
    for instance in model.objects.filter(site_id__in={row.key[0] for row in rows}):
        existing[_key_of(target_name, instance)] = instance
    for row in rows:
        current = existing.get(row.key)
        if current is None:
            row.action = "create"
            continue
        row.instance = current
        row.changes = [k for k, v in row.values.items() if getattr(current, k) != v]
        row.action = "update" if row.changes else "unchanged"
    rows.sort(key=lambda r: r.row)
    return ImportResult(columns, rows, [])


def _columns_given(columns) -> set[str]:
    return {"activity_id" if c == "activity" else c for c in columns}


def _key_of(target_name: str, instance) -> tuple:
    target = TARGETS[target_name]
    values = {name: getattr(instance, "activity_id" if name == "activity" else name) for name in target.columns}
    return (instance.site_id, *target.key(values))


def check_warning_letters(columns, body, progress=None) -> ImportResult:
    return _check("warning_letters", columns, body, progress)


def check_import_alerts(columns, body, progress=None) -> ImportResult:
    return _check("import_alerts", columns, body, progress)


def check_gmp_certificates(columns, body, progress=None) -> ImportResult:
    return _check("gmp_certificates", columns, body, progress)


def check_site_qualifications(columns, body, progress=None) -> ImportResult:
    return _check("site_qualifications", columns, body, progress)


def _apply(model, result: ImportResult, extra: dict, progress=None) -> dict[str, int]:
    assert not result.errors
    with transaction.atomic():
        model.objects.bulk_create(
            [model(**row.values, **extra) for row in result.rows if row.action == "create"], batch_size=1000
        )
        changed = [row for row in result.rows if row.action == "update"]
        for row in changed:
            for name in row.changes:
                setattr(row.instance, name, row.values[name])
            for name, value in extra.items():
                setattr(row.instance, name, value)
        fields = sorted({name for row in changed for name in row.changes} | (set(extra) if changed else set()))
        if fields:
            model.objects.bulk_update([row.instance for row in changed], fields, batch_size=1000)
        if progress:
            progress(len(result.rows), len(result.rows))
    return result.counts


def apply_records(result: ImportResult, user=None, progress=None, *, model) -> dict[str, int]:
    """Write a checked warning-letter, import-alert or GMP-certificate file in one transaction."""
    return _apply(model, result, {}, progress)


def apply_site_qualifications(result: ImportResult, user=None, progress=None) -> dict[str, int]:
    """Write a checked qualification file in one transaction; site-wide rows also set the site's
    own qualification fields, as `services.record_site_qualification` does."""
    with transaction.atomic():
        counts = _apply(SiteQualification, result, {"decided_by": user}, progress)
        site_wide = [row for row in result.rows if row.key[1] is None and row.action != "unchanged"]
        sites = Site.objects.in_bulk([row.key[0] for row in site_wide])
        now = timezone.now()
        for row in site_wide:
            site = sites[row.key[0]]
            site.qualification = STATUS_TO_SITE_OUTCOME[row.values.get("status", site.qualification)]
            if "requalification_due" in row.values:
                site.requalification_due = row.values["requalification_due"]
            site.updated_at = now
        if sites:
            Site.objects.bulk_update(list(sites.values()), ["qualification", "requalification_due", "updated_at"])
    return counts
