"""Tabular downloads (CSV or XLSX) whose every text cell is safe to open in a spreadsheet."""

import csv
import io

from django.http import HttpResponse

FORMATS = {"csv", "xlsx"}
# What a spreadsheet may take for the start of a formula; imports refuse values starting with "=".
FORMULA_PREFIXES = ("=", "+", "-", "@")
# OWASP CSV injection: a cell starting with = + - @, tab or carriage return may run as a formula
# (tab and CR also shift what follows into a formula in some spreadsheets).
FORMULA_STARTS = (*FORMULA_PREFIXES, "\t", "\r")


def spreadsheet_safe(value: str) -> str:
    """The value with a leading apostrophe if a spreadsheet could take it for a formula: it starts
    with = + - @ tab or CR, or with = + - @ after leading whitespace (which imports may trim)."""
    if value.startswith(FORMULA_STARTS) or value.lstrip().startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


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
        binary = io.BytesIO()
        workbook.save(binary)
        response = HttpResponse(
            binary.getvalue(), content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        )
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
