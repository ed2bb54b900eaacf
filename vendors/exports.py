"""Export of the filtered vendor list as CSV or XLSX, in the import's own columns (round-trips)."""

from django.http import HttpResponse
from django.utils import timezone

from core.tabular import FORMATS, table_response
from vendors.importing import SITE_COLUMNS, VENDOR_COLUMNS

__all__ = ["COLUMN_HELP", "FORMATS", "vendor_export", "vendor_rows"]

COLUMN_HELP = {"vendors": list(VENDOR_COLUMNS), "sites": list(SITE_COLUMNS)}


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
    stamp = timezone.now().strftime("%Y%m%d-%H%M")
    return table_response([list(VENDOR_COLUMNS), *vendor_rows(queryset)], fmt, f"vendors-{stamp}.{fmt}", "Vendors")
