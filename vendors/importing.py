"""CSV/XLSX import of vendors and sites: read, check every row, then write all or nothing.

A file is checked completely before anything is written, so the user sees every bad row
(row number as in the spreadsheet, column, reason) at once. Rows match existing records on
a natural key (vendor: name; site: vendor name + site name, case-insensitive), which makes a
second import of the same file change nothing.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator, URLValidator
from django.db import transaction
from django.db.models.functions import Lower
from django_countries import countries

from core.errors import ServiceError
from core.tabular import FORMULA_PREFIXES
from vendors.models import DosageForm, Kind, Modality, Phase, Service, Site, Vendor

LIST_SEPARATOR = ";"
PREVIEW_ROWS = 100


class ImportFileError(ServiceError):
    """The file as a whole cannot be read (wrong type, encoding, empty, too large, bad header): invalid input
    of the upload's "file" field. The import job keeps the message as its report."""

    field = "file"


@dataclass
class RowError:
    row: int
    column: str
    message: str


@dataclass
class CheckedRow:
    row: int
    key: tuple
    values: dict
    display: tuple = ()
    instance: object = None
    action: str = ""  # create, update or unchanged
    changes: list[str] = field(default_factory=list)


@dataclass
class ImportResult:
    columns: list[str]
    rows: list[CheckedRow]
    errors: list[RowError]
    unmatched: list[dict] = field(default_factory=list)  # FDA import: firms with no site of that FEI
    skipped: list[dict] = field(default_factory=list)  # rows left out on purpose: {"row", "reason"}

    @property
    def counts(self) -> dict[str, int]:
        counts = {"create": 0, "update": 0, "unchanged": 0}
        for row in self.rows:
            if row.action:
                counts[row.action] += 1
        if self.skipped:
            counts["skipped"] = len(self.skipped)
        return counts

    def as_report(self) -> dict:
        return {
            "columns": self.columns,
            "errors": [{"row": e.row, "column": e.column, "message": e.message} for e in self.errors],
            "counts": self.counts,
            "preview": [
                {"row": r.row, "key": " / ".join(r.display), "action": r.action, "changes": r.changes}
                for r in self.rows[:PREVIEW_ROWS]
            ]
            if not self.errors
            else [],
            "unmatched": self.unmatched,
            "skipped": self.skipped,
        }


# --- Reading files ------------------------------------------------------------------------


def read_table(data: bytes, filename: str) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """Return the normalised header and (spreadsheet row number, cells) for each non-empty row."""
    if not data:
        raise ImportFileError("The file is empty.")
    if len(data) > settings.IMPORT_MAX_BYTES:
        raise ImportFileError(f"The file is larger than {settings.IMPORT_MAX_BYTES // (1024 * 1024)} MB.")
    lower = filename.lower()
    if lower.endswith(".csv"):
        rows = _read_csv(data)
    elif lower.endswith(".xlsx"):
        rows = _read_xlsx(data)
    else:
        raise ImportFileError("Upload a .csv or .xlsx file.")
    rows = iter(rows)
    header = next(rows, None)
    if header is None or not any(cell.strip() for cell in header):
        raise ImportFileError("The file has no header row.")
    columns = [cell.strip().lower().replace(" ", "_") for cell in header]
    body = []
    for number, cells in enumerate(rows, start=2):
        if any(cell.strip() for cell in cells):
            body.append((number, cells))
            if len(body) > settings.IMPORT_MAX_ROWS:
                raise ImportFileError(f"The file has more than {settings.IMPORT_MAX_ROWS:,} rows; split it.")
    if not body:
        raise ImportFileError("The file has a header but no data rows.")
    return columns, body


def _read_csv(data: bytes) -> Iterable[list[str]]:
    if data[:4] == b"PK\x03\x04":
        raise ImportFileError("This looks like an Excel workbook: name it .xlsx, or save it as CSV.")
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:  # pragma: no cover - cp1252 fails only on five undefined bytes
        raise ImportFileError("The file's text encoding is not UTF-8 or Windows-1252.")
    if "\x00" in text:
        raise ImportFileError("The file is not a text CSV (it contains binary data).")
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    return list(csv.reader(io.StringIO(text, newline=""), dialect))


def _size_text(size: int) -> str:
    return f"{size / (1024 * 1024):.0f} MB" if size >= 1024 * 1024 else f"{max(1, size // 1024)} KB"


def _check_xlsx_archive(data: bytes) -> None:
    """Refuse what is not a zip, or unpacks to more than IMPORT_MAX_UNCOMPRESSED_BYTES, before
    openpyxl parses anything (a 157 KB upload can hold a 150 MB sheet). The sizes come from the
    zip's directory, and Python's zipfile (openpyxl's reader) never returns more of a member than
    its declared size, so an understated size cannot get more past this."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError, OSError) as exc:
        raise ImportFileError("The file is not a readable .xlsx workbook (it is not a valid zip archive).") from exc
    limit = settings.IMPORT_MAX_UNCOMPRESSED_BYTES
    total = sum(member.file_size for member in members)
    if total > limit:
        raise ImportFileError(
            f"The workbook unpacks to {_size_text(total)}, more than the {_size_text(limit)} allowed; "
            "remove unused sheets, rows and formatting, split it, or save it as CSV."
        )


def _read_xlsx(data: bytes) -> Iterable[list[str]]:
    _check_xlsx_archive(data)
    from openpyxl import load_workbook

    try:
        # data_only: a formula cell yields the value Excel saved, never the formula itself.
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for foreign files
        raise ImportFileError("The file is not a readable .xlsx workbook.") from exc
    return _xlsx_rows(workbook)


def _xlsx_rows(workbook) -> Iterable[list[str]]:
    # Rows are read lazily, so that IMPORT_MAX_ROWS stops the parse instead of counting after it.
    try:
        sheet = workbook.worksheets[0]
        for values in sheet.iter_rows(values_only=True):
            yield ["" if value is None else _cell_text(value) for value in values]
    except Exception as exc:  # a sheet that breaks part-way (bad XML, a missing part)
        raise ImportFileError("The file is not a readable .xlsx workbook.") from exc
    finally:
        workbook.close()


def _cell_text(value) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


# --- Column parsers: each returns the clean value or raises ValueError with the reason ----------


def text(max_length: int, required: bool = False) -> Callable:
    def parse(raw: str, ctx: dict):
        value = raw.strip()
        if required and not value:
            raise ValueError("required")
        if len(value) > max_length:
            raise ValueError(f"longer than {max_length} characters")
        if value.startswith(FORMULA_PREFIXES[0]):
            raise ValueError("looks like a spreadsheet formula; enter the value itself")
        return value

    return parse


def country(raw: str, ctx: dict) -> str:
    value = raw.strip()
    if not value:
        raise ValueError("required")
    code = countries.alpha2(value) or countries.by_name(value)
    if not code:
        raise ValueError(f"unknown country “{value}”; use an ISO 3166 code such as US, DE, IN")
    return code


def website(raw: str, ctx: dict) -> str:
    value = raw.strip()
    if value:
        try:
            URLValidator(schemes=["http", "https"])(value)
        except ValidationError:
            raise ValueError("not a valid http(s) address") from None
    return value


def choice(choices, default: str = "", required: bool = False) -> Callable:
    lookup = {}
    for value, label in choices:
        lookup[value.lower()] = value
        lookup[str(label).lower()] = value

    def parse(raw: str, ctx: dict) -> str:
        value = raw.strip()
        if not value:
            if required:
                raise ValueError("required; allowed: " + ", ".join(v for v, _ in choices))
            return default
        if value.lower() not in lookup:
            raise ValueError(f"“{value}” is not allowed; allowed: " + ", ".join(v for v, _ in choices))
        return lookup[value.lower()]

    return parse


def terms(vocabulary: str, required: bool = False) -> Callable:
    def parse(raw: str, ctx: dict) -> frozenset[int]:
        lookup = ctx["vocabularies"][vocabulary]
        names = [part.strip() for part in raw.replace("|", LIST_SEPARATOR).split(LIST_SEPARATOR) if part.strip()]
        if required and not names:
            raise ValueError("required; allowed: " + ctx["allowed"][vocabulary])
        unknown = [name for name in names if name.lower() not in lookup]
        if unknown:
            raise ValueError(
                "unknown "
                + ("term" if len(unknown) == 1 else "terms")
                + " "
                + ", ".join(f"“{u}”" for u in unknown)
                + "; allowed: "
                + ctx["allowed"][vocabulary]
            )
        return frozenset(lookup[name.lower()] for name in names)

    return parse


def decimal(raw: str, ctx: dict):
    value = raw.strip().replace(",", "")
    if not value:
        return None
    try:
        number = Decimal(value)
    except InvalidOperation:
        raise ValueError(f"“{raw.strip()}” is not a number") from None
    if not number.is_finite() or number < 0:
        raise ValueError("must be a number of zero or more")
    if number >= Decimal("1e9"):
        raise ValueError("too large")
    return number.quantize(Decimal("0.001"))


_fei_validator = RegexValidator(r"^\d{7,10}$")


def fei(raw: str, ctx: dict) -> str:
    value = raw.strip()
    if value and not _fei_validator.regex.match(value):
        raise ValueError("an FEI number has 7 to 10 digits")
    return value


def vendor_ref(raw: str, ctx: dict) -> int:
    value = raw.strip()
    if not value:
        raise ValueError("required")
    vendor_id = ctx["vendor_ids"].get(value.lower())
    if vendor_id is None:
        raise ValueError(f"no vendor named “{value}” in the register; import it first")
    return vendor_id


def certifications(raw: str, ctx: dict) -> str:
    return "\n".join(part.strip() for part in raw.split(LIST_SEPARATOR) if part.strip())


VENDOR_COLUMNS: dict[str, Callable] = {
    "name": text(200, required=True),
    "legal_name": text(255),
    "kinds": terms("kinds", required=True),
    "country": country,
    "website": website,
    "description": text(5000),
    "status": choice(Vendor.Status.choices, default=Vendor.Status.PROSPECT),
    "services": terms("services"),
    "modalities": terms("modalities"),
    "dosage_forms": terms("dosage_forms"),
    "phases": terms("phases"),
}
VENDOR_REQUIRED = ["name", "kinds", "country"]
VENDOR_M2M = ["kinds", "services", "modalities", "dosage_forms", "phases"]

SITE_COLUMNS: dict[str, Callable] = {
    "vendor": vendor_ref,
    "name": text(200, required=True),
    "address": text(1000),
    "country": country,
    "fei_number": fei,
    "quality_regime": choice(Site.QualityRegime.choices, required=True),
    "scale_min": decimal,
    "scale_max": decimal,
    "scale_unit": choice(Site.ScaleUnit.choices),
    "capabilities": terms("services"),
    "certifications": certifications,
}
SITE_REQUIRED = ["vendor", "name", "country", "quality_regime"]
SITE_M2M = ["capabilities"]

VOCABULARY_MODELS = {
    "kinds": Kind,
    "services": Service,
    "modalities": Modality,
    "dosage_forms": DosageForm,
    "phases": Phase,
}


def _context(with_vendors: bool) -> dict:
    vocabularies, allowed = {}, {}
    for key, model in VOCABULARY_MODELS.items():
        lookup = {}
        names = []
        for term in model.objects.all():
            lookup[term.code.lower()] = term.pk
            lookup[term.name.lower()] = term.pk
            names.append(term.name)
        vocabularies[key] = lookup
        allowed[key] = ", ".join(names)
    ctx = {"vocabularies": vocabularies, "allowed": allowed}
    if with_vendors:
        names = dict(Vendor.objects.values_list("pk", "name"))
        ctx["vendor_names"] = names
        ctx["vendor_ids"] = {name.lower(): pk for pk, name in names.items()}
    return ctx


def _check_header(columns: list[str], spec: dict, required: list[str]) -> list[RowError]:
    errors = []
    for _index, column in enumerate(columns, start=1):
        if column and column not in spec:
            errors.append(RowError(1, column, "unknown column; expected: " + ", ".join(spec)))
    seen = set()
    for column in columns:
        if column in seen and column:
            errors.append(RowError(1, column, "column appears twice"))
        seen.add(column)
    for column in required:
        if column not in columns:
            errors.append(RowError(1, column, "required column is missing"))
    return errors


def _parse_rows(columns, body, spec, ctx, progress) -> tuple[list[CheckedRow], list[RowError]]:
    rows, errors = [], []
    total = len(body)
    for index, (number, cells) in enumerate(body, start=1):
        values, row_errors = {}, []
        for position, column in enumerate(columns):
            if not column:
                continue
            raw = cells[position] if position < len(cells) else ""
            try:
                values[column] = spec[column](raw, ctx)
            except ValueError as exc:
                row_errors.append(RowError(number, column, str(exc)))
        if not row_errors:
            rows.append(CheckedRow(row=number, key=(), values=values))
        errors.extend(row_errors)
        if progress and (index % 500 == 0 or index == total):
            progress(index, total)
    return rows, errors


# --- Vendors ---------------------------------------------------------------------------------


def _vendor_state(vendor_ids: list[int]) -> dict[int, dict[str, frozenset[int]]]:
    state: dict[int, dict[str, set]] = {pk: {name: set() for name in VENDOR_M2M} for pk in vendor_ids}
    for name in VENDOR_M2M:
        through = getattr(Vendor, name).through
        target = getattr(Vendor, name).field.m2m_reverse_field_name()
        for start in range(0, len(vendor_ids), 2000):
            chunk = vendor_ids[start : start + 2000]
            for vendor_id, term_id in through.objects.filter(vendor_id__in=chunk).values_list("vendor_id", target):
                state[vendor_id][name].add(term_id)
    return {pk: {name: frozenset(ids) for name, ids in m2m.items()} for pk, m2m in state.items()}


def _existing_by_lower(model, lower_names: list[str], **filters) -> dict:
    found = {}
    for start in range(0, len(lower_names), 2000):
        chunk = lower_names[start : start + 2000]
        for obj in model.objects.annotate(lname=Lower("name")).filter(lname__in=chunk, **filters):
            found[obj.lname] = obj
    return found


def check_vendors(columns, body, progress=None) -> ImportResult:
    errors = _check_header(columns, VENDOR_COLUMNS, VENDOR_REQUIRED)
    if errors:
        return ImportResult(columns, [], errors)
    ctx = _context(with_vendors=False)
    rows, errors = _parse_rows(columns, body, VENDOR_COLUMNS, ctx, progress)
    first_seen: dict[str, int] = {}
    for row in rows:
        row.key = (row.values["name"].lower(),)
        if row.key[0] in first_seen:
            errors.append(RowError(row.row, "name", f"same vendor as row {first_seen[row.key[0]]}"))
        first_seen.setdefault(row.key[0], row.row)
    if errors:
        return ImportResult(
            columns, rows, sorted(errors, key=lambda e: (e.row, columns.index(e.column) if e.column in columns else 0))
        )
    existing = _existing_by_lower(Vendor, [row.key[0] for row in rows])
    m2m_state = _vendor_state([v.pk for v in existing.values()])
    for row in rows:
        row.display = (row.values["name"],)
        vendor = existing.get(row.key[0])
        if vendor is None:
            row.action = "create"
            continue
        row.instance = vendor
        for column, value in row.values.items():
            current = m2m_state[vendor.pk][column] if column in VENDOR_M2M else getattr(vendor, column)
            if column == "country":
                current = str(current)
            if current != value:
                row.changes.append(column)
        row.action = "update" if row.changes else "unchanged"
    return ImportResult(columns, rows, [])


def apply_vendors(result: ImportResult, user=None, progress=None) -> dict[str, int]:
    """Write a checked vendor file in one transaction; returns the counts."""
    assert not result.errors
    scalar = [c for c in result.columns if c in VENDOR_COLUMNS and c not in VENDOR_M2M and c != "name"]
    with transaction.atomic():
        new_rows = [row for row in result.rows if row.action == "create"]
        new_vendors = [Vendor(created_by=user, **{c: row.values[c] for c in ["name", *scalar]}) for row in new_rows]
        Vendor.objects.bulk_create(new_vendors, batch_size=1000)
        for row, vendor in zip(new_rows, new_vendors, strict=True):
            row.instance = vendor
        changed = [row for row in result.rows if row.action == "update"]
        to_update = []
        for row in changed:
            vendor = row.instance
            for column in row.changes:
                if column not in VENDOR_M2M:
                    setattr(vendor, column, row.values[column])
            to_update.append(vendor)
        update_fields = sorted({c for row in changed for c in row.changes if c not in VENDOR_M2M} | {"updated_at"})
        from django.utils import timezone

        now = timezone.now()
        for vendor in to_update:
            vendor.updated_at = now
        if to_update:
            Vendor.objects.bulk_update(to_update, update_fields, batch_size=1000)
        if progress:
            progress(len(result.rows) // 2, len(result.rows))
        _write_m2m(Vendor, VENDOR_M2M, "vendor_id", new_rows + changed, result.columns)
        if progress:
            progress(len(result.rows), len(result.rows))
    return result.counts


def _write_m2m(model, relations, owner_column, rows, columns) -> None:
    for name in relations:
        if name not in columns:
            continue
        descriptor = getattr(model, name)
        through = descriptor.through
        target = descriptor.field.m2m_reverse_field_name()
        touched = [row for row in rows if row.action == "create" or name in row.changes]
        # New records have no links yet: only updated ones need their old links removed.
        ids = [row.instance.pk for row in touched if row.action == "update"]
        for start in range(0, len(ids), 2000):
            through.objects.filter(**{f"{owner_column}__in": ids[start : start + 2000]}).delete()
        links = [
            through(**{owner_column: row.instance.pk, f"{target}_id": term_id})
            for row in touched
            for term_id in sorted(row.values[name])
        ]
        through.objects.bulk_create(links, batch_size=2000)


# --- Sites -------------------------------------------------------------------------------------


def check_sites(columns, body, progress=None) -> ImportResult:
    errors = _check_header(columns, SITE_COLUMNS, SITE_REQUIRED)
    if errors:
        return ImportResult(columns, [], errors)
    ctx = _context(with_vendors=True)
    rows, errors = _parse_rows(columns, body, SITE_COLUMNS, ctx, progress)
    first_seen: dict[tuple, int] = {}
    fei_seen: dict[str, int] = {}
    for row in rows:
        values = row.values
        row.key = (values["vendor"], values["name"].lower())
        row.display = (ctx["vendor_names"][values["vendor"]], values["name"])
        if row.key in first_seen:
            errors.append(RowError(row.row, "name", f"same site as row {first_seen[row.key]}"))
        first_seen.setdefault(row.key, row.row)
        has_scale = values.get("scale_min") is not None or values.get("scale_max") is not None
        if has_scale and not values.get("scale_unit"):
            errors.append(RowError(row.row, "scale_unit", "required when a batch size is given (L, kg or g)"))
        if (
            values.get("scale_min") is not None
            and values.get("scale_max") is not None
            and values["scale_min"] > values["scale_max"]
        ):
            errors.append(RowError(row.row, "scale_max", "smaller than scale_min"))
        if values.get("fei_number"):
            if values["fei_number"] in fei_seen:
                errors.append(
                    RowError(row.row, "fei_number", f"same FEI number as row {fei_seen[values['fei_number']]}")
                )
            fei_seen.setdefault(values["fei_number"], row.row)
    existing: dict[tuple, Site] = {}
    vendor_ids = sorted({row.key[0] for row in rows})
    for start in range(0, len(vendor_ids), 2000):
        for site in Site.objects.filter(vendor_id__in=vendor_ids[start : start + 2000]).prefetch_related(
            "capabilities"
        ):
            existing[(site.vendor_id, site.name.lower())] = site
    fei_owner = dict(
        Site.objects.exclude(fei_number="").filter(fei_number__in=list(fei_seen)).values_list("fei_number", "pk")
    )
    for row in rows:
        site = existing.get(row.key)
        fei_number = row.values.get("fei_number")
        if fei_number and fei_owner.get(fei_number) not in (None, site.pk if site else None):
            errors.append(RowError(row.row, "fei_number", f"FEI {fei_number} already belongs to another site"))
    if errors:
        return ImportResult(columns, rows, sorted(errors, key=lambda e: e.row))
    for row in rows:
        site = existing.get(row.key)
        if site is None:
            row.action = "create"
            continue
        row.instance = site
        for column, value in row.values.items():
            if column == "vendor":
                continue
            if column == "capabilities":
                current = frozenset(term.pk for term in site.capabilities.all())
            else:
                current = getattr(site, column)
                current = str(current) if column == "country" else current
            if current != value:
                row.changes.append(column)
        row.action = "update" if row.changes else "unchanged"
    return ImportResult(columns, rows, [])


def apply_sites(result: ImportResult, user=None, progress=None) -> dict[str, int]:
    assert not result.errors
    scalar = [c for c in result.columns if c in SITE_COLUMNS and c not in SITE_M2M and c not in ("vendor", "name")]
    with transaction.atomic():
        new_rows = [row for row in result.rows if row.action == "create"]
        new_sites = [
            Site(vendor_id=row.values["vendor"], name=row.values["name"], **{c: row.values[c] for c in scalar})
            for row in new_rows
        ]
        Site.objects.bulk_create(new_sites, batch_size=1000)
        for row, site in zip(new_rows, new_sites, strict=True):
            row.instance = site
        changed = [row for row in result.rows if row.action == "update"]
        for row in changed:
            for column in row.changes:
                if column not in SITE_M2M:
                    setattr(row.instance, column, row.values[column])
        update_fields = sorted({c for row in changed for c in row.changes if c not in SITE_M2M})
        if update_fields:
            Site.objects.bulk_update([row.instance for row in changed], update_fields, batch_size=1000)
        _write_m2m(Site, SITE_M2M, "site_id", new_rows + changed, result.columns)
        if progress:
            progress(len(result.rows), len(result.rows))
    return result.counts
