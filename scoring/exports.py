"""Ranking export to CSV or XLSX: one row per candidate, one column per criterion."""

from django.http import HttpResponse
from django.utils import timezone
from django.utils.text import slugify

from core.tabular import FORMATS, table_response
from scoring.serializers import RankingSerializer

__all__ = ["FORMATS", "ranking_export", "ranking_rows"]


def ranking_rows(result):
    header = ["rank", "vendor", "total", "complete", "completeness", "knocked_out", "knock_out_reasons"]
    header += [f"{c.name} ({w:.1f} %)" for c, w in zip(result.criteria, result.weights, strict=True)]
    yield header
    # The API's rows (scoring.serializers), formatted for a spreadsheet.
    for row in RankingSerializer(result).data["rows"]:
        yield [
            row["rank"] if row["rank"] is not None else "",
            row["vendor_name"],
            f"{row['total']:.3f}" if row["total"] is not None else "",
            "yes" if row["complete"] else "no",
            f"{row['completeness']:.0%}",
            "yes" if row["knocked_out"] else "no",
            "; ".join(row["knockouts"]),
            *[f"{cell['value']:.2f}" if cell["value"] is not None else "" for cell in row["cells"]],
        ]


def ranking_export(result, fmt: str) -> HttpResponse:
    name = f"ranking-{slugify(result.evaluation.name)[:40]}-{timezone.now():%Y%m%d-%H%M}.{fmt}"
    return table_response(ranking_rows(result), fmt, name, "Ranking")
