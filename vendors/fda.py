"""Import of the FDA Data Dashboard "inspections classifications" export (CSV or XLSX).

The export has one row per inspection and project area, so one inspection can span several
rows: they are merged into one RegulatoryInspection keyed on the FDA Inspection ID (source
"fda_dashboard"), which makes a re-import update rather than duplicate. The classification of
a merged inspection is its most severe row (OAI > VAI > NAI). Rows are matched to sites by FEI
number; firms whose FEI belongs to no site are reported (not errors), so the user can add the
FEI to the right site, or create it, and import again.
"""

from __future__ import annotations

import re
from datetime import date, datetime

from django.db import transaction
from django.utils import timezone

from vendors.importing import CheckedRow, ImportResult, RowError
from vendors.models import RegulatoryInspection, Site

COLUMNS = [
    "fei_number",
    "legal_name",
    "address_line_1",
    "city",
    "state",
    "zip_code",
    "country/area",
    "fiscal_year",
    "inspection_id",
    "posted_citations",
    "inspection_end_date",
    "classification",
    "project_area",
    "product_type",
]
SEVERITY = {"NAI": 0, "VAI": 1, "OAI": 2}
# The register follows drug and biologic manufacturing; rows of other FDA programmes (devices,
# foods, tobacco, veterinary) are skipped and listed in the report.
KEPT_AREAS = ("drug", "biologic")
POSTED = {"yes": True, "y": True, "true": True, "no": False, "n": False, "false": False}


def _kept_area(project_area: str, product_type: str) -> bool:
    """Product type is the programme (Drugs, Biologics, Devices...); without it, the project area's name."""
    text = (product_type or project_area).strip().lower()
    return any(word in text for word in KEPT_AREAS)


def _posted(raw: str) -> bool | None:
    """Whether FDA posted citations for the row: True, False, or None when the file does not say."""
    return POSTED.get(raw.strip().lower())


DATE_FORMATS = ("%Y-%m-%d", "%m/%d/%Y", "%m/%d/%y", "%d-%b-%Y", "%Y-%m-%dT%H:%M:%S")
SOURCE = RegulatoryInspection.Source.FDA_DASHBOARD


def _classification(raw: str) -> str:
    value = raw.strip().upper()
    match = re.search(r"\b(NAI|VAI|OAI)\b", value)
    if match:
        return match.group(1)
    words = {"NO ACTION INDICATED": "NAI", "VOLUNTARY ACTION INDICATED": "VAI", "OFFICIAL ACTION INDICATED": "OAI"}
    if value in words:
        return words[value]
    raise ValueError(f"“{raw.strip()}” is not an FDA classification (NAI, VAI or OAI)")


def _date(raw: str) -> date:
    value = raw.strip()
    for fmt in DATE_FORMATS:
        try:
            parsed = datetime.strptime(value, fmt).date()
        except ValueError:
            continue
        if parsed > timezone.localdate():
            raise ValueError(f"{parsed:%Y-%m-%d} is in the future")
        return parsed
    raise ValueError(f"“{value}” is not a date (YYYY-MM-DD or MM/DD/YYYY)")


def _digits(raw: str, label: str, low: int, high: int) -> str:
    value = raw.strip()
    if value.endswith(".0"):  # spreadsheets turn IDs into floats
        value = value[:-2]
    if not (value.isascii() and value.isdecimal()) or not low <= len(value) <= high:
        raise ValueError(f"“{raw.strip()}” is not an {label}")
    return value


def check_inspections(columns: list[str], body: list[tuple[int, list[str]]], progress=None) -> ImportResult:
    errors = [
        RowError(1, c, "unknown column; this is not the FDA Data Dashboard export")
        for c in columns
        if c and c not in COLUMNS
    ]
    errors += [RowError(1, c, "required column is missing") for c in COLUMNS if c not in columns]
    if errors:
        return ImportResult(columns, [], errors)
    position = {c: i for i, c in enumerate(columns)}

    def cell(cells, name):
        index = position[name]
        return cells[index] if index < len(cells) else ""

    merged: dict[str, dict] = {}
    skipped: list[dict] = []
    total = len(body)
    for done, (number, cells) in enumerate(body, start=1):
        area, product = cell(cells, "project_area").strip(), cell(cells, "product_type").strip()
        if not _kept_area(area, product):
            skipped.append(
                {
                    "row": number,
                    "reason": f"not a drugs or biologics inspection ({' / '.join(x for x in (area, product) if x) or 'no project area'})",
                }
            )
            if progress and (done % 500 == 0 or done == total):
                progress(done, total)
            continue
        row_errors = []
        values = {}
        for name, parse in (
            ("fei_number", lambda v: _digits(v, "FEI number", 7, 10)),
            ("inspection_id", lambda v: _digits(v, "inspection ID", 1, 12)),
            ("inspection_end_date", _date),
            ("classification", _classification),
        ):
            try:
                values[name] = parse(cell(cells, name))
            except ValueError as error:
                row_errors.append(RowError(number, name, str(error)))
        if not row_errors:
            inspection = merged.get(values["inspection_id"])
            if inspection is None:
                merged[values["inspection_id"]] = {
                    "row": number,
                    **values,
                    "legal_name": cell(cells, "legal_name").strip(),
                    "city": cell(cells, "city").strip(),
                    "country": cell(cells, "country/area").strip(),
                    "citations": _posted(cell(cells, "posted_citations")),
                    "areas": [],
                    "worst_row": number,
                }
                inspection = merged[values["inspection_id"]]
            elif (
                inspection["fei_number"] != values["fei_number"]
                or inspection["inspection_end_date"] != values["inspection_end_date"]
            ):
                row_errors.append(
                    RowError(
                        number,
                        "inspection_id",
                        f"same inspection as row {inspection['row']} but another FEI number or end date",
                    )
                )
            if not row_errors:
                if SEVERITY[values["classification"]] > SEVERITY[inspection["classification"]]:
                    inspection["classification"] = values["classification"]
                area = " / ".join(
                    x for x in (cell(cells, "project_area").strip(), cell(cells, "product_type").strip()) if x
                )
                if area and area not in inspection["areas"]:
                    inspection["areas"].append(area)
                posted = _posted(cell(cells, "posted_citations"))
                if posted is not None:
                    inspection["citations"] = bool(inspection["citations"]) or posted
        errors.extend(row_errors)
        if progress and (done % 500 == 0 or done == total):
            progress(done, total)
    if errors:
        return ImportResult(columns, [], errors, skipped=skipped)

    sites = {
        s.fei_number: s
        for s in Site.objects.select_related("vendor").filter(fei_number__in={i["fei_number"] for i in merged.values()})
    }
    existing = {i.source_id: i for i in RegulatoryInspection.objects.filter(source=SOURCE, source_id__in=list(merged))}
    rows, unmatched = [], {}
    for inspection_id, inspection in merged.items():
        site = sites.get(inspection["fei_number"])
        if site is None:
            firm = unmatched.setdefault(
                inspection["fei_number"],
                {
                    "fei_number": inspection["fei_number"],
                    "legal_name": inspection["legal_name"],
                    "city": inspection["city"],
                    "country": inspection["country"],
                    "inspections": 0,
                },
            )
            firm["inspections"] += 1
            continue
        values = {
            "site_id": site.pk,
            "agency": RegulatoryInspection.Agency.FDA,
            "end_date": inspection["inspection_end_date"],
            "classification": inspection["classification"],
            "agency_classification": {
                "NAI": "No Action Indicated",
                "VAI": "Voluntary Action Indicated",
                "OAI": "Official Action Indicated",
            }[inspection["classification"]],
            # The export says whether citations were posted, never how many: the Form 483 count is
            # not known (null), never a made-up zero.
            "form_483_observations": None,
            "notes": "; ".join(
                [
                    *inspection["areas"],
                    {True: "citations posted", False: "no citations posted", None: "citations not known"}[
                        inspection["citations"]
                    ],
                ]
            ),
        }
        row = CheckedRow(
            row=inspection["row"],
            key=(inspection_id,),
            values=values,
            display=(f"FDA {inspection_id}", site.vendor.name, site.name),
        )
        current = existing.get(inspection_id)
        if current is None:
            row.action = "create"
        else:
            row.instance = current
            row.changes = [k for k, v in values.items() if getattr(current, k) != v]
            row.action = "update" if row.changes else "unchanged"
        rows.append(row)
    rows.sort(key=lambda r: r.row)
    return ImportResult(columns, rows, [], sorted(unmatched.values(), key=lambda f: f["legal_name"]), skipped=skipped)


def apply_inspections(result: ImportResult, user=None, progress=None) -> dict[str, int]:
    """Create new inspections and update changed ones, in one transaction."""
    with transaction.atomic():
        RegulatoryInspection.objects.bulk_create(
            [
                RegulatoryInspection(source=SOURCE, source_id=row.key[0], **row.values)
                for row in result.rows
                if row.action == "create"
            ],
            batch_size=1000,
        )
        changed = [row for row in result.rows if row.action == "update"]
        for row in changed:
            for field in row.changes:
                setattr(row.instance, field, row.values[field])
        fields = sorted({f for row in changed for f in row.changes})
        if fields:
            RegulatoryInspection.objects.bulk_update([row.instance for row in changed], fields, batch_size=1000)
        if progress:
            progress(len(result.rows), len(result.rows))
    return result.counts
