"""Export of the filtered vendor list as CSV or XLSX, in the import's own columns (round-trips)."""

import csv
import io

from django.http import HttpResponse
from django.utils import timezone

from vendors.importing import FORMULA_PREFIXES, SITE_COLUMNS, VENDOR_COLUMNS

FORMATS = {"csv", "xlsx"}
COLUMN_HELP = {"vendors": list(VENDOR_COLUMNS), "sites": list(SITE_COLUMNS)}


def spreadsheet_safe(value: str) -> str:
    # A leading = + - @ would run as a formula when the file is opened in a spreadsheet.
    return "'" + value if value.startswith(FORMULA_PREFIXES) else value


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


def vendor_export(queryset, fmt: str) -> HttpResponse:
    header = list(VENDOR_COLUMNS)
    stamp = timezone.now().strftime("%Y%m%d-%H%M")
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(header)
        for row in vendor_rows(queryset):
            writer.writerow([spreadsheet_safe(cell) for cell in row])
        response = HttpResponse(buffer.getvalue().encode("utf-8-sig"), content_type="text/csv; charset=utf-8")
    else:
        from openpyxl import Workbook

        workbook = Workbook(write_only=True)
        sheet = workbook.create_sheet("Vendors")
        sheet.append(header)
        for row in vendor_rows(queryset):
            sheet.append([spreadsheet_safe(cell) for cell in row])
        buffer = io.BytesIO()
        workbook.save(buffer)
        response = HttpResponse(
            buffer.getvalue(), content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        )
    response["Content-Disposition"] = f'attachment; filename="vendors-{stamp}.{fmt}"'
    return response
