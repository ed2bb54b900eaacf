"""The proposals compared (issue 17, items 4, 5 and 7): the lead's program horizon and exchange rates
(writes), the comparison of total program costs with the evaluation's weighted scores (read), the
value-for-money chart (server-rendered SVG) and the exports (XLSX, PDF).

Who: the RFP's evaluation team and managers see it (rfp.access.visible_rfps); only the evaluation's lead
sets the horizon and the rates, which may be done before the opening (better so: the assumptions are
fixed before anyone sees a price). The costs, scores and chart appear only once the proposals are
opened (rfp.bidding.is_opened); before, `comparison` answers `opened` False and nothing else.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import NoReturn

from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.html import escape
from django.utils.safestring import mark_safe
from openpyxl import Workbook
from openpyxl.styles import Font

import core.pdf
from core.tabular import spreadsheet_safe
from rfp import access, answers, bidding, costs
from rfp.models import ExchangeRate, ProgramHorizon, Rfp
from rfp.services import RfpError
from scoring import selectors as scoring_selectors

HORIZON_FIELDS = [
    "years",
    "batches_per_year",
    "campaigns_per_year",
    "fte_months_per_year",
    "effort_factor",
    "volume_per_year",
    "volume_unit",
    "needs_development",
    "needs_tech_transfer",
    "base_currency",
    "notes",
]
NUMBERS = {
    "years": (Decimal("0.01"), Decimal(50)),
    "batches_per_year": (Decimal(0), Decimal(10000)),
    "campaigns_per_year": (Decimal(0), Decimal(1000)),
    "fte_months_per_year": (Decimal(0), Decimal(1000000)),
    "effort_factor": (Decimal("0.001"), Decimal(100)),
    "volume_per_year": (Decimal(0), Decimal("1e10")),
}
MAX_RATE = Decimal("1e9")


def _refuse(message: str, field: str | None = None, status: int = 400) -> NoReturn:
    raise RfpError(message, field, status)


def _require_lead(user, rfp: Rfp) -> None:
    if not access.can_manage(user, rfp.shortlist):
        _refuse("Only the evaluation's lead sets the program horizon and the exchange rates.", status=403)
    if closed := access.closed_refusal(rfp):
        _refuse(closed, status=409)


def _currency(value, field: str) -> str:
    code = str(value or "").strip().upper()
    if len(code) != 3 or not code.isascii() or not code.isalpha():
        _refuse("Give a three-letter currency code (e.g. EUR).", field)
    return code


def _decimal(value, field: str) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        number = Decimal(str(value).strip())
    except ArithmeticError:
        _refuse("Give a number.", field)
    if not number.is_finite():
        _refuse("Give a number.", field)
    return number


# --- Writes -------------------------------------------------------------------------------------------


def horizon_set(*, rfp: Rfp, user, **values) -> ProgramHorizon:
    """Create or change the RFP's program horizon (every field given; empty numbers are "not needed")."""
    _require_lead(user, rfp)
    unknown = set(values) - set(HORIZON_FIELDS)
    if unknown:
        _refuse(f"Unknown field {sorted(unknown)[0]}.")
    cleaned: dict = {}
    for name, (low, high) in NUMBERS.items():
        number = _decimal(values.get(name), name)
        if name == "years" and number is None:
            _refuse("Give the program's years.", name)
        if number is not None and number < 0:
            _refuse("Give a number of zero or more.", name)
        if number is not None and not low <= number <= high:
            _refuse(f"Give a number from {costs.number(low)} to {costs.number(high)}.", name)
        cleaned[name] = number
    if cleaned["fte_months_per_year"] is not None and cleaned["effort_factor"] is not None:
        _refuse("Give FTE-months per year or an effort factor, not both.", "effort_factor")
    cleaned["base_currency"] = _currency(values.get("base_currency") or "USD", "base_currency")
    cleaned["volume_unit"] = str(values.get("volume_unit") or "").strip()[:40]
    cleaned["notes"] = str(values.get("notes") or "").strip()
    cleaned["needs_development"] = bool(values.get("needs_development"))
    cleaned["needs_tech_transfer"] = bool(values.get("needs_tech_transfer"))
    if cleaned["volume_per_year"] is not None and not cleaned["volume_unit"]:
        _refuse("Give the unit of the volume (e.g. kg).", "volume_unit")
    with transaction.atomic():
        if ExchangeRate.objects.filter(rfp=rfp, currency=cleaned["base_currency"]).exists():
            _refuse(
                f"{cleaned['base_currency']} has an exchange rate on this RFP: remove it before making it the base.",
                "base_currency",
                status=409,
            )
        horizon, _ = ProgramHorizon.objects.update_or_create(rfp=rfp, defaults={**cleaned, "updated_by": user})
    return horizon


def _rate_values(rfp: Rfp, *, rate, as_of, source) -> dict:
    number = _decimal(rate, "rate")
    if number is None or number <= 0:
        _refuse("Give a rate greater than zero.", "rate")
    if number > MAX_RATE:
        _refuse("The rate is too large.", "rate")
    if not isinstance(as_of, date):
        try:
            as_of = date.fromisoformat(str(as_of))
        except ValueError:
            _refuse("Give the date of the rate (YYYY-MM-DD).", "as_of")
    if as_of > timezone.localdate():
        _refuse("The rate's date cannot be in the future.", "as_of")
    return {"rate": number, "as_of": as_of, "source": str(source or "").strip()[:200]}


def rate_add(*, rfp: Rfp, user, currency, rate, as_of, source: str = "") -> ExchangeRate:
    """A rate for a currency the RFP has none for: one unit of it in the base currency."""
    _require_lead(user, rfp)
    code = _currency(currency, "currency")
    horizon = ProgramHorizon.objects.filter(rfp=rfp).first()
    base = horizon.base_currency if horizon else None
    if code == base:
        _refuse(f"{code} is the base currency: it needs no rate.", "currency")
    values = _rate_values(rfp, rate=rate, as_of=as_of, source=source)
    existing = ExchangeRate.objects.filter(rfp=rfp, currency=code).first()
    if existing:
        _refuse(f"{code} already has a rate ({existing.rate} as of {existing.as_of}); change that one.", "currency")
    try:
        with transaction.atomic():
            return ExchangeRate.objects.create(rfp=rfp, currency=code, recorded_by=user, **values)
    except IntegrityError:  # a concurrent add of the same currency
        _refuse(f"{code} already has a rate; change that one.", "currency")


def rate_update(*, rate: ExchangeRate, user, value, as_of, source: str = "") -> ExchangeRate:
    _require_lead(user, rate.rfp)
    values = _rate_values(rate.rfp, rate=value, as_of=as_of, source=source)
    with transaction.atomic():
        for name, item in values.items():
            setattr(rate, name, item)
        rate.recorded_by = user
        rate.save()
    return rate


def rate_remove(*, rate: ExchangeRate, user) -> None:
    _require_lead(user, rate.rfp)
    with transaction.atomic():
        rate.delete()


# --- The comparison -----------------------------------------------------------------------------------


@dataclass
class Row:
    cost: costs.ProgramCost
    score: float | None = None
    rank: int | None = None
    pareto: bool = False
    off_chart: str = ""  # why it is not on the chart

    @property
    def vendor(self) -> str:
        return self.cost.vendor

    @property
    def candidate_id(self) -> int:
        return self.cost.candidate_id


@dataclass
class Comparison:
    rfp: Rfp
    opened: bool
    horizon: ProgramHorizon | None
    rates: list[ExchangeRate]
    rows: list[Row] = field(default_factory=list)
    withheld: bool = False  # the viewer may not see the others' scores yet (blind scoring)
    chart: str = ""

    @property
    def currency(self) -> str:
        return self.horizon.base_currency if self.horizon else ""

    @property
    def on_chart(self) -> list[Row]:
        return [r for r in self.rows if not r.off_chart]


def pareto_front(points: list[tuple[int, Decimal, float]]) -> set[int]:
    """The ids whose (cost, score) no other point beats: lower-or-equal cost and higher-or-equal score,
    one of them strictly."""
    front = set()
    for key, cost, score in points:
        dominated = any(
            other_cost <= cost and other_score >= score and (other_cost < cost or other_score > score)
            for other_key, other_cost, other_score in points
            if other_key != key
        )
        if not dominated:
            front.add(key)
    return front


def comparison(rfp: Rfp, viewer) -> Comparison:
    """The comparison as `viewer` may see it; a fixed number of queries whatever the vendors."""
    horizon = ProgramHorizon.objects.filter(rfp=rfp).first()
    rates = list(ExchangeRate.objects.filter(rfp=rfp).select_related("recorded_by"))
    result = Comparison(rfp=rfp, opened=bidding.is_opened(rfp), horizon=horizon, rates=rates)
    if not result.opened:
        return result
    ranking = scoring_selectors.ranking(rfp.shortlist.evaluation, viewer)
    result.withheld = ranking.withheld
    scores = {row.candidate.pk: (row.total, row.rank) for row in ranking.rows}
    program = costs.program_costs(rfp)
    for cost in sorted(program.values(), key=lambda c: (c.vendor.casefold(), c.candidate_id)):
        score, rank = scores.get(cost.candidate_id, (None, None))
        row = Row(cost=cost, score=None if result.withheld else score, rank=None if result.withheld else rank)
        if not cost.complete:
            row.off_chart = {
                "not converted": "cost not converted: " + "; ".join(cost.errors),
                "incomplete": "cost incomplete: " + "; ".join(cost.missing),
            }[cost.status]
        elif row.score is None:
            row.off_chart = "score withheld until you have submitted your own" if result.withheld else "no score"
        result.rows.append(row)
    front = pareto_front([(r.candidate_id, r.cost.total, r.score) for r in result.on_chart])  # type: ignore[misc]
    for row in result.rows:
        row.pareto = row.candidate_id in front
    result.chart = value_for_money_chart(result.on_chart, result.currency)
    return result


# --- The chart ----------------------------------------------------------------------------------------

SCORE_MAX = 5.0


def _short(amount: float) -> str:
    value = float(amount)
    for size, suffix in ((1e9, "bn"), (1e6, "m"), (1e3, "k")):
        if abs(value) >= size:
            return f"{value / size:.3g}{suffix}"
    return f"{value:.3g}"


def value_for_money_chart(rows: list[Row], currency: str, width: int = 640, height: int = 360) -> str:
    """Weighted score (0-5, up) against total program cost (right), one dot per vendor; the Pareto front
    (no vendor both cheaper and better) filled and joined. Escaped text; no script, no inline style."""
    if not rows:
        return ""
    left, right, top, bottom = 70, 20, 20, 50
    plot_w, plot_h = width - left - right, height - top - bottom
    totals = [float(r.cost.total) for r in rows]  # type: ignore[arg-type]
    low, high = min(totals), max(totals)
    span = high - low or max(high, 1.0)
    x_min, x_max = max(low - span * 0.1, 0.0), high + span * 0.1

    def x(value: float) -> float:
        return left + (value - x_min) / (x_max - x_min) * plot_w

    def y(score: float) -> float:
        return top + plot_h - score / SCORE_MAX * plot_h

    parts = [f'<rect x="{left}" y="{top}" width="{plot_w}" height="{plot_h}" fill="#f7f9fb" stroke="#c9d2db"/>']
    for tick in range(6):
        parts.append(
            f'<line x1="{left}" y1="{y(tick):.1f}" x2="{left + plot_w}" y2="{y(tick):.1f}" stroke="#e3e8ee"/>'
            f'<text x="{left - 8}" y="{y(tick) + 4:.1f}" text-anchor="end" font-size="11">{tick}</text>'
        )
    for i in range(5):
        value = x_min + (x_max - x_min) * i / 4
        parts.append(
            f'<text x="{x(value):.1f}" y="{top + plot_h + 16}" text-anchor="middle" font-size="11">'
            f"{escape(_short(value))}</text>"
        )
    parts.append(
        f'<text x="{left + plot_w / 2:.1f}" y="{height - 8}" text-anchor="middle" font-size="12">'
        f"Total program cost ({escape(currency)})</text>"
        f'<text x="16" y="{top + plot_h / 2:.1f}" text-anchor="middle" font-size="12" '
        f'transform="rotate(-90 16 {top + plot_h / 2:.1f})">Weighted score (0-5)</text>'
    )
    front = sorted((r for r in rows if r.pareto), key=lambda r: float(r.cost.total))  # type: ignore[arg-type]
    if len(front) > 1:
        # The front as a staircase: from each front vendor to the next cheaper-but-worse one.
        points = " ".join(f"{x(float(r.cost.total)):.1f},{y(r.score):.1f}" for r in front)  # type: ignore[arg-type]
        parts.append(
            f'<polyline points="{points}" fill="none" stroke="#2a9d8f" stroke-width="2" stroke-dasharray="5 3"/>'
        )
    for r in rows:
        cx, cy = x(float(r.cost.total)), y(r.score)  # type: ignore[arg-type]
        label = f"{r.vendor}: {costs.money(r.cost.total)} {currency}, score {r.score:.2f}"
        label += " (Pareto front)" if r.pareto else ""
        fill, stroke = ("#2a9d8f", "#1d6f65") if r.pareto else ("#ffffff", "#0b5cad")
        parts.append(
            f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="6" fill="{fill}" stroke="{stroke}" stroke-width="2">'
            f"<title>{escape(label)}</title></circle>"
            f'<text x="{cx + 9:.1f}" y="{cy - 8:.1f}" font-size="11">{escape(r.vendor[:30])}</text>'
        )
    summary = "; ".join(
        f"{r.vendor} {costs.money(r.cost.total)} {currency} score {r.score:.2f}{' front' if r.pareto else ''}"
        for r in rows
    )
    return mark_safe(  # noqa: S308 - every text above went through escape(); numbers are formatted here
        f'<svg class="vfm-chart" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        f'role="img" aria-label="Value for money: {escape(summary)}" xmlns="http://www.w3.org/2000/svg">'
        f"{''.join(parts)}</svg>"
    )


# --- Exports ------------------------------------------------------------------------------------------


def _cell(value):
    if isinstance(value, str):
        return spreadsheet_safe(value)
    if isinstance(value, Decimal):
        return float(value)
    return value


def xlsx(result: Comparison) -> bytes:
    """The comparison as a workbook: "Costs" (every line, then each vendor's total), "Value for money"
    and, with the answers matrix (rfp.answers), "Answers" (questions x vendors)."""
    book = Workbook()
    sheet = book.active
    sheet.title = "Costs"
    currency = result.currency
    header = ["Vendor", "Status", "Pricing model", "Item", "Formula (quoted currency)", "Assumption",
              "Quoted currency", "Quoted amount", f"Amount ({currency})", f"At -50 % volume ({currency})",
              f"At +50 % volume ({currency})"]  # fmt: skip
    sheet.append(header)
    for row in result.rows:
        cost = row.cost
        for line in cost.lines:
            sheet.append([_cell(v) for v in (cost.vendor, "counted", line.model, line.item, line.formula,
                          line.assumption, line.currency, line.quoted, line.amount, line.low, line.high)])  # fmt: skip
        for missing in cost.missing:
            sheet.append([_cell(cost.vendor), "MISSING", "", _cell(missing)])
        for error in cost.errors:
            sheet.append([_cell(cost.vendor), "NOT CONVERTED", "", _cell(error)])
        for line in cost.reference:
            sheet.append([_cell(v) for v in (cost.vendor, "shown, not counted", line.model, line.item, line.formula,
                          line.assumption, line.currency, line.quoted)])  # fmt: skip
        sheet.append([_cell(v) for v in (cost.vendor, f"TOTAL ({cost.status})", "", "", "", "; ".join(cost.assumptions),
                      currency, None, cost.total, cost.low, cost.high)])  # fmt: skip
        sheet.cell(row=sheet.max_row, column=2).font = Font(bold=True)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    value = book.create_sheet("Value for money")
    value.append(["Vendor", "Weighted score (0-5)", "Rank", f"Total program cost ({currency})", "Cost status",
                  "Pareto front", f"At -50 % volume ({currency})", f"At +50 % volume ({currency})", "Off the chart because"])  # fmt: skip
    for row in result.rows:
        value.append([_cell(v) for v in (row.vendor, row.score, row.rank, row.cost.total, row.cost.status,
                      "yes" if row.pareto else "no", row.cost.low, row.cost.high, row.off_chart)])  # fmt: skip
    for cell in value[1]:
        cell.font = Font(bold=True)
    matrix = answers.answers_matrix(result.rfp)
    if matrix.opened and matrix.questions:
        sheet = book.create_sheet("Answers")
        sheet.append(["No.", "Criterion", "Question", *(v.name for v in matrix.vendors)])
        for question in matrix.questions:
            cells = []
            for vendor in matrix.vendors:
                cell = matrix.cells.get((question.number, vendor.candidate_id))
                cells.append(_cell(f"{cell.compliance.upper()}: {cell.answer}".strip(": ")) if cell else "")
            sheet.append([question.number, _cell(question.criterion), _cell(question.text), *cells])
        for cell in sheet[1]:
            cell.font = Font(bold=True)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def pdf(result: Comparison) -> bytes:
    """The comparison for the award file: the cost table with its lines and the same SVG chart."""
    html = render_to_string("rfp/comparison_pdf.html", {"c": result, "rfp": result.rfp, "generated_at": timezone.now()})
    content, _pages, _refused = core.pdf.render_pdf(html)
    return content


# --- The page's table: sorting and filtering (?ordering=, ?status=, ?front=) ---------------------------

ORDERINGS = {
    "vendor": lambda r: (r.vendor.casefold(),),
    "total": lambda r: (r.cost.total is None, r.cost.total or 0),
    "score": lambda r: (r.score is None, -(r.score or 0)),
    "status": lambda r: (r.cost.status, r.vendor.casefold()),
}
STATUSES = ("complete", "incomplete", "not converted")


def table_rows(result: Comparison, *, ordering: str = "", status: str = "", front: bool = False) -> list[Row]:
    """The rows the page's table shows: filtered by cost status and the Pareto front, sorted by a column
    (a leading "-" reverses; an unknown key keeps the vendors' order)."""
    rows = [r for r in result.rows if (not status or r.cost.status == status) and (not front or r.pareto)]
    key = ORDERINGS.get(ordering.lstrip("-"))
    if key:
        rows.sort(key=key, reverse=ordering.startswith("-"))
    return rows
