"""Total program cost (issue 17, item 4): one proposal's price lines normalised to one comparable figure
over the program horizon the lead sets, in the RFP's base currency.

`normalise(...)` is pure: plain values in (a `Horizon`, `Quote`s, the rates), a `ProgramCost` out, no
queries. Every pricing model of the cost sheet (rfp.rendering._SECTIONS) has its rule; each counted line
carries the formula with its figures and the assumption it rests on:

- FTE: monthly rate × FTEs × months (months: the line's, else the horizon's years × 12). With the lead's
  FTE-months per year, every FTE line is rescaled so the vendor's effort equals the horizon's; with an
  effort factor, FTE and time-and-materials effort is multiplied by it.
- Fixed price, milestones, development and technology-transfer fees, pass-through: the amount, once.
- Time and materials: hourly rate × estimated hours.
- Per batch: price × batches a year × the horizon's years (batches: the line's, else the horizon's).
- Per campaign: price × campaigns a year × the horizon's years (campaigns: the line's, else the horizon's,
  else the horizon's batches ÷ the line's batches per campaign).
- Cost-plus: cost base × (1 + margin %); the cost base is taken as quoted for the program.
- Take-or-pay: price × Σ over the years of max(minimum commitment, needed volume); years committed beyond
  the horizon pay the minimum, horizon years beyond the commitment pay the need.
- The free cost breakdown (quantity × unit price per line) counts only when the proposal has no priced
  pricing section (otherwise it is the vendor's own summary of the same costs, shown for reference).
- A lead-recorded proposal price counts, as a lump sum, only when no questionnaire was returned.

What the horizon needs (batches or campaigns: a manufacturing price; FTE-months: an effort price;
development, technology transfer: their fees) and the proposal lacks is listed as missing, as is a line
that lacks a figure its rule needs: the total is then None (incomplete), never a sum with zeros. A
currency without a rate refuses the conversion, naming the currency. Sensitivity: the total at -50 % and
+50 % volume, where per-batch, per-campaign, cost-plus and take-or-pay lines scale (take-or-pay not below
its minimum) and effort, fixed and one-off lines do not.

`program_costs(rfp)` loads an RFP's horizon, rates and latest responses in a fixed number of queries and
normalises every chosen vendor's proposal.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from rfp import bidding
from rfp.models import ExchangeRate, PriceLine, ProgramHorizon, Proposal, QuestionnaireResponse

CENT = Decimal("0.01")
ONE = Decimal(1)
HUNDRED = Decimal(100)
LOW, HIGH = Decimal("0.5"), Decimal("1.5")  # the volume sensitivity: -50 % and +50 %

# The sections of the cost sheet (rfp.rendering._SECTIONS) and the free breakdown.
TITLES = {
    "fte": "FTE",
    "fixed": "Fixed price",
    "time_materials": "Time and materials",
    "milestones": "Milestone",
    "per_batch": "Per batch",
    "per_campaign": "Per campaign",
    "cost_plus": "Cost-plus",
    "take_or_pay": "Take-or-pay",
    "fees": "Fee",
    "pass_through": "Pass-through",
    "breakdown": "Cost breakdown",
    "lump_sum": "Recorded price",
}
MANUFACTURING = {"per_batch", "per_campaign", "cost_plus", "take_or_pay"}
EFFORT = {"fte", "time_materials"}
# The breakdown's pricing bases (rfp.rendering.PRICING_BASES) that are volume-driven, and what they prove.
VOLUME_BASES = {"Per batch", "Per campaign", "Cost-plus", "Take-or-pay"}
EFFORT_BASES = {"FTE", "Time and materials"}


@dataclass(frozen=True)
class Horizon:
    """The lead's assumptions (rfp.models.ProgramHorizon as plain values)."""

    years: Decimal
    base_currency: str
    batches_per_year: Decimal | None = None
    campaigns_per_year: Decimal | None = None
    fte_months_per_year: Decimal | None = None
    effort_factor: Decimal | None = None
    volume_per_year: Decimal | None = None
    volume_unit: str = ""
    needs_development: bool = False
    needs_tech_transfer: bool = False


@dataclass(frozen=True)
class Quote:
    """One price line as the vendor filled it (rfp.models.PriceLine's figures)."""

    section: str
    item: str = ""
    row: int = 0
    basis: str = ""
    unit: str = ""
    currency: str = ""
    rate: Decimal | None = None
    quantity: Decimal | None = None
    per_year: Decimal | None = None
    years: Decimal | None = None
    months: Decimal | None = None
    percent: Decimal | None = None
    amount: Decimal | None = None
    due: date | None = None

    @classmethod
    def of(cls, line: Any) -> Quote:
        names = cls.__dataclass_fields__
        if isinstance(line, Mapping):
            return cls(**{k: v for k, v in line.items() if k in names})
        return cls(**{k: getattr(line, k) for k in names if hasattr(line, k)})


@dataclass
class CostLine:
    section: str
    model: str  # the pricing model's name
    item: str
    formula: str  # with the figures, in the quoted currency
    assumption: str
    currency: str  # quoted
    quoted: Decimal  # in the quoted currency, full precision
    amount: Decimal | None = None  # in the base currency (None when its currency has no rate)
    low: Decimal | None = None
    high: Decimal | None = None
    volume_driven: bool = False
    row: int = 0


@dataclass
class ProgramCost:
    """One vendor's normalised cost. `total` (and `low`/`high`) is None unless `complete`."""

    candidate_id: int
    vendor: str
    currency: str  # the base currency
    lines: list[CostLine] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # conversions refused
    assumptions: list[str] = field(default_factory=list)
    reference: list[CostLine] = field(default_factory=list)  # the vendor's breakdown when not counted
    source: str = ""
    pricing_model: str = ""
    subtotal: Decimal | None = None  # what the counted lines sum to, even when incomplete
    total: Decimal | None = None
    low: Decimal | None = None
    high: Decimal | None = None

    @property
    def complete(self) -> bool:
        return self.total is not None

    @property
    def status(self) -> str:
        if self.errors:
            return "not converted"
        return "complete" if self.complete else "incomplete"


class _Missing(Exception):
    """A figure the line's rule needs is not there."""


def number(value: Decimal) -> str:
    """1234567.5 -> '1,234,567.5' (no trailing zeros)."""
    value = Decimal(value)
    text = f"{value.quantize(Decimal('0.0001')).normalize():,f}"
    return text


def money(value: Decimal | None) -> str:
    return "—" if value is None else f"{Decimal(value).quantize(CENT, ROUND_HALF_UP):,}"


def _need(value: Decimal | None, what: str) -> Decimal:
    if value is None:
        raise _Missing(what)
    return Decimal(value)


class _Rules:
    """The rule of each section: (amount at a volume scale, formula, assumption, volume-driven)."""

    def __init__(self, horizon: Horizon, quotes: list[Quote]):
        self.h = horizon
        self.fte_scale, self.fte_note = self._fte_scale(quotes)

    def _fte_scale(self, quotes: list[Quote]) -> tuple[Decimal | None, str]:
        h = self.h
        if h.fte_months_per_year is not None:
            effort = sum(
                (
                    (q.quantity or 0) * (q.months if q.months is not None else h.years * 12)
                    for q in quotes
                    if q.section == "fte"
                ),
                Decimal(0),
            )
            if effort <= 0:
                return None, "the FTE lines give no FTEs"
            needed = h.fte_months_per_year * h.years
            return needed / effort, (
                f"rescaled × {number(needed / effort)}: the vendor's {number(effort)} FTE-months to the horizon's "
                f"{number(needed)} ({number(h.fte_months_per_year)} a year × {number(h.years)} years)"
            )
        if h.effort_factor is not None and h.effort_factor != ONE:
            return h.effort_factor, f"× {number(h.effort_factor)}: the lead's effort factor"
        return ONE, ""

    def price(self, q: Quote, scale: Decimal) -> tuple[Decimal, str, str, bool]:
        return getattr(self, q.section)(q, scale)

    def fte(self, q: Quote, scale: Decimal):
        rate = _need(q.rate, "no monthly rate")
        ftes = _need(q.quantity, "no number of FTEs")
        notes = []
        if q.months is not None:
            months = Decimal(q.months)
        else:
            months = self.h.years * 12
            notes.append(f"months not given: the horizon's {number(self.h.years)} years × 12")
        if self.fte_scale is None:
            raise _Missing(self.fte_note)
        formula = f"{number(rate)}/month × {number(ftes)} FTE × {number(months)} months"
        if self.fte_scale != ONE:
            formula += f" × {number(self.fte_scale)}"
            notes.append(self.fte_note)
        return rate * ftes * months * self.fte_scale, formula, "; ".join(notes) or "as quoted", False

    def fixed(self, q: Quote, scale: Decimal):
        amount = _need(q.amount, "no price")
        return amount, number(amount), "one-off, as quoted", False

    def time_materials(self, q: Quote, scale: Decimal):
        rate = _need(q.rate, "no hourly rate")
        hours = _need(q.quantity, "no estimated hours")
        factor = self.h.effort_factor if self.h.fte_months_per_year is None and self.h.effort_factor else ONE
        formula = f"{number(rate)}/hour × {number(hours)} hours"
        note = "the vendor's estimate of hours"
        if factor != ONE:
            formula += f" × {number(factor)}"
            note += f", × {number(factor)}: the lead's effort factor"
        return rate * hours * factor, formula, note, False

    def milestones(self, q: Quote, scale: Decimal):
        amount = _need(q.amount, "no amount")
        due = f", due {q.due.isoformat()}" if q.due else ""
        return amount, number(amount), f"one-off{due}", False

    def _per_year(self, own: Decimal | None, horizon: Decimal | None, what: str) -> tuple[Decimal, str]:
        if own is not None:
            return Decimal(own), f"{what} a year: the vendor's"
        if horizon is not None:
            return Decimal(horizon), f"{what} a year: the horizon's (the line gives none)"
        raise _Missing(f"no {what} a year, neither on the line nor in the horizon")

    def _years_note(self, q: Quote) -> str:
        if q.years is not None and Decimal(q.years) != self.h.years:
            return f"; the line's {number(q.years)} years replaced by the horizon's {number(self.h.years)}"
        return ""

    def per_batch(self, q: Quote, scale: Decimal):
        price = _need(q.rate, "no price per batch")
        batches, note = self._per_year(q.per_year, self.h.batches_per_year, "batches")
        years = self.h.years
        formula = f"{number(price)} × {number(batches)} batches/year × {number(years)} years"
        return price * batches * scale * years, formula, note + self._years_note(q), True

    def per_campaign(self, q: Quote, scale: Decimal):
        price = _need(q.rate, "no price per campaign")
        h = self.h
        if q.per_year is None and h.campaigns_per_year is None and h.batches_per_year and q.quantity:
            campaigns = h.batches_per_year / Decimal(q.quantity)
            note = (
                f"campaigns a year: the horizon's {number(h.batches_per_year)} batches ÷ the line's "
                f"{number(q.quantity)} batches per campaign"
            )
        else:
            campaigns, note = self._per_year(q.per_year, h.campaigns_per_year, "campaigns")
        formula = f"{number(price)} × {number(campaigns)} campaigns/year × {number(h.years)} years"
        return price * campaigns * scale * h.years, formula, note, True

    def cost_plus(self, q: Quote, scale: Decimal):
        base = _need(q.amount, "no cost base")
        margin = _need(q.percent, "no margin %")
        formula = f"{number(base)} × (1 + {number(margin)} %)"
        note = "the cost base as quoted for the program's volume"
        return base * scale * (ONE + margin / HUNDRED), formula, note, True

    def take_or_pay(self, q: Quote, scale: Decimal):
        price = _need(q.rate, "no price per unit")
        minimum = _need(q.per_year, "no minimum quantity a year")
        h = self.h
        unit = f" {h.volume_unit}" if h.volume_unit else ""
        needed = _need(h.volume_per_year, "the horizon gives no volume a year to set against the minimum")
        needed = needed * scale
        committed = Decimal(q.years) if q.years is not None else h.years
        both = min(committed, h.years)
        zero = Decimal(0)
        paid = both * max(minimum, needed) + max(h.years - committed, zero) * needed
        paid += max(committed - h.years, zero) * minimum
        formula = (
            f"{number(price)}/unit × ({number(both)} years × max({number(minimum)}, {number(needed)}){unit}"
            + (f" + {number(h.years - committed)} years × {number(needed)}" if h.years > committed else "")
            + (f" + {number(committed - h.years)} years × {number(minimum)}" if committed > h.years else "")
            + ")"
        )
        note = f"minimum {number(minimum)}{unit} a year for {number(committed)} years; need {number(needed)}{unit}"
        return price * paid, formula, note, True

    def fees(self, q: Quote, scale: Decimal):
        amount = _need(q.amount, "no amount")
        months = f" over {number(q.months)} months" if q.months is not None else ""
        return amount, number(amount), f"one-off{months}", False

    def pass_through(self, q: Quote, scale: Decimal):
        amount = _need(q.amount, "no estimated amount")
        return amount, number(amount), "estimate passed through at cost, once", False

    def breakdown(self, q: Quote, scale: Decimal):
        price = _need(q.rate, "no unit price")
        volume = q.basis in VOLUME_BASES
        notes = ["as quoted (quantity × unit price), not re-based on the horizon"]
        if q.quantity is None:
            quantity = ONE
            notes.append("no quantity: 1")
        else:
            quantity = Decimal(q.quantity)
        unit = f" {q.unit}" if q.unit else ""
        formula = f"{number(quantity)}{unit} × {number(price)}"
        return quantity * price * (scale if volume else ONE), formula, "; ".join(notes), volume

    def lump_sum(self, q: Quote, scale: Decimal):
        amount = _need(q.amount, "no price")
        return amount, number(amount), "lump sum recorded by the lead, not broken down", False


def _fee_kind(q: Quote) -> str:
    text = f"{q.item} {q.basis}".lower()
    if "transfer" in text:
        return "tech_transfer"
    if "develop" in text:
        return "development"
    return ""


def _requirements(h: Horizon, counted: list[Quote], lump: bool) -> list[str]:
    """What the horizon needs that no counted line prices."""
    sections = {q.section for q in counted}
    bases = {q.basis for q in counted if q.section == "breakdown"}
    fees = {_fee_kind(q) for q in counted if q.section in ("fees", "breakdown")}
    missing = []
    why = " (a lump sum does not show it)" if lump else ""
    if (h.batches_per_year or h.campaigns_per_year) and not (sections & MANUFACTURING or bases & VOLUME_BASES):
        need = []
        if h.batches_per_year:
            need.append(f"{number(h.batches_per_year)} batches")
        if h.campaigns_per_year:
            need.append(f"{number(h.campaigns_per_year)} campaigns")
        missing.append(
            f"Manufacturing ({' and '.join(need)} a year): no per-batch, per-campaign, cost-plus or take-or-pay price"
            + why
        )
    if h.fte_months_per_year and not (sections & EFFORT or bases & EFFORT_BASES):
        missing.append(
            f"Effort ({number(h.fte_months_per_year)} FTE-months a year): no FTE or time-and-materials price" + why
        )
    if h.needs_development and "development" not in fees:
        missing.append("Development fee" + why)
    if h.needs_tech_transfer and "tech_transfer" not in fees:
        missing.append("Technology transfer fee" + why)
    return missing


def convert(amount: Decimal, currency: str, base: str, rates: Mapping[str, Decimal]) -> Decimal:
    """The amount in the base currency; a currency without a rate is refused (ValueError names it)."""
    currency = (currency or "").upper()
    if currency == base:
        return Decimal(amount)
    if currency not in rates:
        raise ValueError(
            f"No exchange rate for {currency or 'an unnamed currency'} to {base}: "
            f"enter the rate of {currency or 'the currency'} on the comparison page."
        )
    return Decimal(amount) * Decimal(rates[currency])


def normalise(
    quotes: Iterable[Quote | Mapping | Any],
    *,
    horizon: Horizon,
    rates: Mapping[str, Decimal],
    currency: str = "",
    lump_sum: tuple[Decimal, str] | None = None,
    candidate_id: int = 0,
    vendor: str = "",
    pricing_model: str = "",
    source: str = "",
) -> ProgramCost:
    """One proposal's total program cost. `quotes`: its price lines; `currency`: the currency of its
    pricing sections (the sheet's "currency of all amounts" row); `lump_sum`: a lead-recorded price
    (amount, currency), counted only without quotes; `rates`: one unit of a currency in the base."""
    base = horizon.base_currency.upper()
    result = ProgramCost(
        candidate_id=candidate_id, vendor=vendor, currency=base, pricing_model=pricing_model, source=source
    )
    quoted_lines: list[Quote] = [q if isinstance(q, Quote) else Quote.of(q) for q in quotes]
    sections = [q for q in quoted_lines if q.section in TITLES and q.section not in ("breakdown", "lump_sum")]
    breakdown = [q for q in quoted_lines if q.section == "breakdown"]
    counted = sections or breakdown
    lump = False
    if not counted and lump_sum is not None and lump_sum[0] is not None:
        counted = [Quote(section="lump_sum", item="Proposal price", amount=lump_sum[0], currency=lump_sum[1])]
        lump = True
    if not counted:
        result.missing.append("No priced proposal: nothing to normalise")
        return result
    rules = _Rules(horizon, quoted_lines)
    priced: list[Quote] = []
    for q in counted:
        title = TITLES[q.section]
        label = q.item or title
        try:
            quoted, formula, note, volume = rules.price(q, ONE)
        except _Missing as missing:
            result.missing.append(f"{title}: {label} — {missing}")
            continue
        priced.append(q)
        line_currency = (q.currency if q.section in ("breakdown", "lump_sum") else "") or currency
        line = CostLine(
            section=q.section,
            model=q.basis if q.section == "breakdown" and q.basis else title,
            item=label,
            formula=formula,
            assumption=note,
            currency=(line_currency or "").upper(),
            quoted=quoted,
            volume_driven=volume,
            row=q.row,
        )
        try:
            to_base = convert(ONE, line.currency, base, rates)
        except ValueError as refused:
            if str(refused) not in result.errors:
                result.errors.append(str(refused))
        else:
            low = rules.price(q, LOW)[0] if volume else quoted
            high = rules.price(q, HIGH)[0] if volume else quoted
            line.amount, line.low, line.high = (
                (v * to_base).quantize(CENT, ROUND_HALF_UP) for v in (quoted, low, high)
            )
        result.lines.append(line)
    if sections and breakdown:
        result.assumptions.append(
            "The cost breakdown table is the vendor's summary of the same costs: shown, not added; "
            "the pricing sections are normalised instead."
        )
        for q in breakdown:
            try:
                quoted, formula, note, _volume = rules.breakdown(q, ONE)
            except _Missing:
                continue
            result.reference.append(
                CostLine("breakdown", q.basis or TITLES["breakdown"], q.item, formula, note, q.currency, quoted)
            )
    result.missing += _requirements(horizon, priced, lump)
    result.assumptions.append(f"Horizon: {number(horizon.years)} years, all amounts in {base}.")
    if not result.errors:
        # Every line has its amounts here: a line whose currency has no rate is an error above.
        result.subtotal = sum((line.amount or Decimal(0) for line in result.lines), Decimal(0))
        if not result.missing:
            result.total = result.subtotal
            result.low = sum((line.low or Decimal(0) for line in result.lines), Decimal(0))
            result.high = sum((line.high or Decimal(0) for line in result.lines), Decimal(0))
    return result


# --- The loader ---------------------------------------------------------------------------------------


def horizon_of(row) -> Horizon:
    return Horizon(
        years=row.years,
        base_currency=row.base_currency,
        batches_per_year=row.batches_per_year,
        campaigns_per_year=row.campaigns_per_year,
        fte_months_per_year=row.fte_months_per_year,
        effort_factor=row.effort_factor,
        volume_per_year=row.volume_per_year,
        volume_unit=row.volume_unit,
        needs_development=row.needs_development,
        needs_tech_transfer=row.needs_tech_transfer,
    )


def program_costs(rfp) -> dict[int, ProgramCost]:
    """Every chosen vendor's normalised cost, by candidate id, in a fixed number of queries (8).

    Before the opening, a vendor's sealed portal questionnaire counts for nothing (only what the lead
    recorded: a mailed questionnaire, a proposal price). Without a horizon, every cost is incomplete."""
    candidates = list(bidding.invitable_candidates(rfp))
    row = ProgramHorizon.objects.filter(rfp=rfp).first()
    responses_q = QuestionnaireResponse.objects.filter(rfp=rfp)
    if not bidding.is_opened(rfp):
        responses_q = responses_q.filter(upload__isnull=True)
    responses = {r.candidate_id: r for r in responses_q.order_by("candidate_id", "-version").distinct("candidate_id")}
    lines: dict[int, list[PriceLine]] = {}
    for line in PriceLine.objects.filter(response__in=[r.pk for r in responses.values()]).order_by("row"):
        lines.setdefault(line.response_id, []).append(line)
    proposals = {p.candidate_id: p for p in Proposal.objects.filter(rfp=rfp)}
    if row is None:
        costs = {}
        for c in candidates:
            cost = ProgramCost(candidate_id=c.pk, vendor=c.vendor.name, currency="")
            cost.missing.append("The program horizon is not set: the lead sets years, volumes and currency first.")
            costs[c.pk] = cost
        return costs
    horizon = horizon_of(row)
    rates = {r.currency: r.rate for r in ExchangeRate.objects.filter(rfp=rfp)}
    costs = {}
    for c in candidates:
        response, proposal = responses.get(c.pk), proposals.get(c.pk)
        lump = (proposal.price, proposal.currency) if proposal and proposal.price is not None else None
        source = f"Questionnaire v{response.version}" if response else ("Recorded price" if lump else "")
        costs[c.pk] = normalise(
            lines.get(response.pk, []) if response else [],
            horizon=horizon,
            rates=rates,
            currency=response.currency if response else "",
            lump_sum=lump,
            candidate_id=c.pk,
            vendor=c.vendor.name,
            pricing_model=response.pricing_model if response else "",
            source=source,
        )
    return costs
