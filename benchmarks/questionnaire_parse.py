"""Reading a returned questionnaire (rfp.responses.read_questionnaire): time and peak memory.

    DJANGO_DEBUG=1 .venv/bin/python benchmarks/questionnaire_parse.py [--questions 200] [--runs 7]

Makes the packet's questionnaire (rfp.rendering.questionnaire) for an integrated program with --questions
questions, fills it as a vendor would with openpyxl (every answer, every line of the cost breakdown and of
every pricing section: the sheet's whole capacity), then reads it --runs times. No database: the RFP and
the vendor are unsaved model instances (what the reader compares the identification sheet with).
Prints the price lines read, the median and max wall time, and the peak Python heap (tracemalloc) and
the growth of the process's maximum resident set over one read.
"""

from __future__ import annotations

import argparse
import io
import os
import resource
import statistics
import sys
import time
import tracemalloc
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "vendorselect.settings")
os.environ.setdefault("DJANGO_DEBUG", "1")
DUE = date(2027, 6, 30)


def filled(questions: int) -> tuple[bytes, object, object]:
    from openpyxl import load_workbook

    from rfp import rendering
    from rfp.models import Rfp
    from scoring.models import Candidate
    from vendors.models import Vendor

    rfp = Rfp(pk=42, title="Bench program")
    candidate = Candidate(pk=7, vendor=Vendor(pk=7, name="Bench CDMO"))
    data = {
        "rfp": {"reference": rfp.reference, "id": rfp.pk, "title": rfp.title},
        "values": {"vendor": "Bench CDMO", "proposal_due": "2027-01-31"},
        "template": {"kind": "INTEGRATED"},
        "questions": [
            {"criterion": f"Criterion {i % 6 + 1}", "question": f"Question {i + 1}: describe how you meet it."}
            for i in range(questions)
        ],
    }
    book = load_workbook(io.BytesIO(rendering.questionnaire(data)))
    sheet = book[rendering.QUESTIONNAIRE_SHEET]
    for row in range(5, 5 + questions):
        sheet[f"D{row}"], sheet[f"E{row}"] = ("Yes", "Partly", "No")[row % 3], f"Answer {row} " + "text " * 40
    layout = rendering.pricing_layout("INTEGRATED")
    cost = book[rendering.COST_SHEET]
    cost[f"B{layout['model_row']}"], cost[f"B{layout['currency_row']}"] = "Per batch", "EUR"
    lines = 0
    for row in range(rendering.COST_FIRST, rendering.COST_LAST + 1):
        cost[f"A{row}"], cost[f"B{row}"] = f"Item {row}", rendering.PRICING_BASES["INTEGRATED"][0]
        cost[f"C{row}"], cost[f"D{row}"], cost[f"E{row}"], cost[f"F{row}"] = 2, "batch", 1000 + row, "EUR"
        lines += 1
    for section in layout["sections"]:
        for row in range(section["first"], section["last"] + 1):
            for index, (_title, _field, kind) in enumerate(section["columns"]):
                letter = chr(ord("A") + index)
                cost[f"{letter}{row}"] = {"text": f"{section['key']} {row}", "number": 3 + index, "date": DUE}[kind]
            lines += 1
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue(), rfp, candidate


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--questions", type=int, default=200)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    import django

    django.setup()
    from rfp import responses

    content, rfp, candidate = filled(args.questions)
    times, parsed = [], None
    for _ in range(args.runs):
        start = time.perf_counter()
        parsed = responses.read_questionnaire(io.BytesIO(content), rfp=rfp, candidate=candidate)
        times.append(time.perf_counter() - start)
    assert parsed is not None and not parsed.errors, parsed.errors if parsed else None
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    tracemalloc.start()
    responses.read_questionnaire(io.BytesIO(content), rfp=rfp, candidate=candidate)
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
    print(f"file: {len(content) / 1024:.0f} KiB; {len(parsed.answers)} answers, {len(parsed.price_lines)} price lines")
    print(f"read: median {statistics.median(times) * 1000:.0f} ms, max {max(times) * 1000:.0f} ms ({args.runs} runs)")
    print(f"memory: peak Python heap {peak / 2**20:.1f} MiB; max RSS grew {grown / 1024:.1f} MiB over a read")


if __name__ == "__main__":
    main()
