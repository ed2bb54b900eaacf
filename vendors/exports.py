"""Export of the filtered vendor list as CSV or XLSX, in the import's own columns (round-trips)."""

import csv
import io

from django.http import HttpResponse
from django.utils import timezone

from vendors.importing import FORMULA_PREFIXES, SITE_COLUMNS, VENDOR_COLUMNS

FORMATS = {"csv", "xlsx"}
COLUMN_HELP = {"vendors": list(VENDOR_COLUMNS), "sites": list(SITE_COLUMNS)}


# OWASP CSV injection: a cell starting with = + - @, tab or carriage return may run as a formula
# (tab and CR also shift what follows into a formula in some spreadsheets).
FORMULA_STARTS = (*FORMULA_PREFIXES, "\t", "\r")


def spreadsheet_safe(value: str) -> str:
    """The value with a leading apostrophe if a spreadsheet could take it for a formula: it starts
    with = + - @ tab or CR, or with = + - @ after leading whitespace (which imports may trim)."""
    if value.startswith(FORMULA_STARTS) or value.lstrip().startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def vendor_rows(queryset):
    queryset = queryset.prefetch_related("services", "modalities", "dosage_forms", "phases")
    for vendor in queryset:
        yield [
            vendor.name,
            vendor.legal_name,
            "; ".join(k.code for k in vendor.kinds.all()),
            vendor.country.code,
            vendor.website,
            vendor.description,
            vendor.status,
            "; ".join(s.name for s in vendor.services.all()),
            "; ".join(m.name for m in vendor.modalities.all()),
            "; ".join(d.name for d in vendor.dosage_forms.all()),
            "; ".join(p.name for p in vendor.phases.all()),
        ]


def table_response(rows, fmt: str, filename: str, sheet_name: str) -> HttpResponse:
    """A download of rows (the first is the header) as CSV or XLSX; every cell is formula-safe."""
    rows = ([spreadsheet_safe(cell) if isinstance(cell, str) else cell for cell in row] for row in rows)
    if fmt == "csv":
        buffer = io.StringIO()
        csv.writer(buffer).writerows(rows)
        response = HttpResponse(buffer.getvalue().encode("utf-8-sig"), content_type="text/csv; charset=utf-8")
    else:
        from openpyxl import Workbook

        workbook = Workbook(write_only=True)
        sheet = workbook.create_sheet(sheet_name)
        for row in rows:
            sheet.append(row)
        buffer = io.BytesIO()
        workbook.save(buffer)
        response = HttpResponse(
            buffer.getvalue(), content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        )
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def vendor_export(queryset, fmt: str) -> HttpResponse:
    stamp = timezone.now().strftime("%Y%m%d-%H%M")
    return table_response([list(VENDOR_COLUMNS), *vendor_rows(queryset)], fmt, f"vendors-{stamp}.{fmt}", "Vendors")
