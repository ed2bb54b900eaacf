"""The total program cost (rfp.costs.normalise) on hand-computed cases for every pricing model: no
database, plain values in. Each expected figure is worked out in the comment next to it."""

from datetime import date
from decimal import Decimal as D

import pytest

from rfp.costs import Horizon, Quote, convert, normalise

H = Horizon(years=D(5), base_currency="EUR")


def one(quote: Quote, horizon: Horizon = H, rates=None, currency="EUR", **kwargs):
    return normalise([quote], horizon=horizon, rates=rates or {}, currency=currency, **kwargs)


def test_fte_is_rate_times_ftes_times_months():
    cost = one(Quote("fte", "Project manager", rate=D(12000), quantity=D(2), months=D(24)))
    # 12,000 × 2 × 24 = 576,000; effort is not volume: the sensitivity leaves it
    assert cost.total == cost.low == cost.high == D("576000.00")
    assert cost.complete and cost.lines[0].formula == "12,000/month × 2 FTE × 24 months"
    assert cost.lines[0].volume_driven is False


def test_fte_without_months_runs_the_horizon_and_rescales_to_the_lead_s_fte_months():
    cost = one(Quote("fte", "CRA", rate=D(10000), quantity=D("1.5")))
    # months: 5 years × 12 = 60; 10,000 × 1.5 × 60 = 900,000
    assert cost.total == D("900000.00") and "5 years × 12" in cost.lines[0].assumption
    horizon = Horizon(years=D(2), base_currency="EUR", fte_months_per_year=D(30))
    quotes = [
        Quote("fte", "PM", rate=D(10000), quantity=D(1), months=D(20)),
        Quote("fte", "CRA", rate=D(8000), quantity=D(2), months=D(10)),
    ]
    cost = normalise(quotes, horizon=horizon, rates={}, currency="EUR")
    # vendor's effort: 1×20 + 2×10 = 40 FTE-months; the horizon's 30 × 2 = 60: × 1.5
    # PM 10,000 × 20 × 1.5 = 300,000; CRA 8,000 × 2 × 10 × 1.5 = 240,000
    assert [line.amount for line in cost.lines] == [D("300000.00"), D("240000.00")]
    assert cost.total == D("540000.00") and "rescaled × 1.5" in cost.lines[0].assumption


def test_the_effort_factor_multiplies_fte_and_time_and_materials():
    horizon = Horizon(years=D(3), base_currency="EUR", effort_factor=D("1.2"))
    quotes = [
        Quote("fte", "PM", rate=D(10000), quantity=D(1), months=D(10)),
        Quote("time_materials", "Statistician", rate=D(150), quantity=D(400)),
    ]
    cost = normalise(quotes, horizon=horizon, rates={}, currency="EUR")
    # 10,000 × 1 × 10 × 1.2 = 120,000; 150 × 400 × 1.2 = 72,000
    assert [line.amount for line in cost.lines] == [D("120000.00"), D("72000.00")]
    assert cost.total == D("192000.00")


def test_fixed_price_milestones_fees_and_pass_through_are_one_off():
    quotes = [
        Quote("fixed", "Site start-up", amount=D(250000)),
        Quote("milestones", "First patient in", amount=D(100000), due=date(2027, 3, 1)),
        Quote("fees", "Development fee", amount=D(400000), months=D(6)),
        Quote("fees", "Technology transfer fee", amount=D(150000), months=D(4)),
        Quote("pass_through", "Investigator fees", amount=D(80000)),
    ]
    horizon = Horizon(years=D(5), base_currency="EUR", needs_development=True, needs_tech_transfer=True)
    cost = normalise(quotes, horizon=horizon, rates={}, currency="EUR")
    # 250,000 + 100,000 + 400,000 + 150,000 + 80,000 = 980,000, whatever the volume
    assert cost.total == cost.low == cost.high == D("980000.00")
    assert "due 2027-03-01" in cost.lines[1].assumption and "over 4 months" in cost.lines[3].assumption


def test_time_and_materials_is_rate_times_hours():
    cost = one(Quote("time_materials", "Medical writer", rate=D("175.50"), quantity=D(120)))
    assert cost.total == D("21060.00")  # 175.5 × 120


def test_per_batch_uses_the_vendor_s_batches_else_the_horizon_s_over_the_horizon_years():
    quote = Quote("per_batch", "Drug substance", rate=D(480000), per_year=D(3), years=D(2))
    cost = one(quote)
    # 480,000 × 3 batches × 5 years (the horizon's, not the line's 2) = 7,200,000
    assert cost.total == D("7200000.00")
    assert "vendor's" in cost.lines[0].assumption and "line's 2 years replaced" in cost.lines[0].assumption
    # volume -50 %: 1.5 batches a year: 3,600,000; +50 %: 4.5: 10,800,000
    assert (cost.low, cost.high) == (D("3600000.00"), D("10800000.00"))
    horizon = Horizon(years=D(4), base_currency="EUR", batches_per_year=D(2))
    cost = one(Quote("per_batch", "Drug product", rate=D(100000)), horizon=horizon)
    # no batches on the line: the horizon's 2 a year: 100,000 × 2 × 4 = 800,000
    assert cost.total == D("800000.00") and "horizon's (the line gives none)" in cost.lines[0].assumption
    cost = one(Quote("per_batch", "Drug product", rate=D(100000)))
    assert cost.total is None and "no batches a year" in cost.missing[0]


def test_per_campaign_from_campaigns_or_the_horizon_s_batches():
    cost = one(Quote("per_campaign", "Campaign", rate=D(900000), quantity=D(5), per_year=D(2)))
    assert cost.total == D("9000000.00")  # 900,000 × 2 campaigns × 5 years
    assert (cost.low, cost.high) == (D("4500000.00"), D("13500000.00"))
    horizon = Horizon(years=D(3), base_currency="EUR", batches_per_year=D(10))
    cost = one(Quote("per_campaign", "Campaign", rate=D(600000), quantity=D(4)), horizon=horizon)
    # 10 batches a year ÷ 4 per campaign = 2.5 campaigns; 600,000 × 2.5 × 3 = 4,500,000
    assert cost.total == D("4500000.00") and "÷ the line's 4 batches per campaign" in cost.lines[0].assumption


def test_cost_plus_is_the_cost_base_with_its_margin():
    cost = one(Quote("cost_plus", "Manufacturing cost", amount=D(2000000), percent=D(15)))
    # 2,000,000 × 1.15 = 2,300,000; at half the volume 1,150,000, at 1.5 × 3,450,000
    assert (cost.total, cost.low, cost.high) == (D("2300000.00"), D("1150000.00"), D("3450000.00"))
    assert one(Quote("cost_plus", "Cost", amount=D(1000))).missing == ["Cost-plus: Cost — no margin %"]


def test_take_or_pay_pays_the_minimum_or_the_need_whichever_is_more():
    horizon = Horizon(years=D(5), base_currency="EUR", volume_per_year=D(80), volume_unit="kg")
    quote = Quote("take_or_pay", "API supply", per_year=D(100), rate=D(2000), years=D(3))
    cost = one(quote, horizon=horizon)
    # 3 committed years × max(100, 80) + 2 free years × 80 = 300 + 160 = 460 kg × 2,000 = 920,000
    assert cost.total == D("920000.00")
    # -50 %: need 40: 3 × 100 + 2 × 40 = 380 → 760,000; +50 %: need 120: 3 × 120 + 2 × 120 = 600 → 1,200,000
    assert (cost.low, cost.high) == (D("760000.00"), D("1200000.00"))
    longer = one(Quote("take_or_pay", "API", per_year=D(50), rate=D(10), years=D(7)), horizon=horizon)
    # 5 years × max(50, 80) + 2 committed years beyond the horizon × 50 = 400 + 100 = 500 × 10 = 5,000
    assert longer.total == D("5000.00")
    no_volume = one(Quote("take_or_pay", "API", per_year=D(50), rate=D(10)))
    assert no_volume.total is None and "no volume a year" in no_volume.missing[0]


def test_the_breakdown_counts_only_without_pricing_sections():
    alone = one(
        Quote("breakdown", "GMP batch", basis="Per batch", quantity=D(4), unit="batch", rate=D(50000), currency="EUR")
    )
    # 4 × 50,000 = 200,000 as quoted; volume-driven basis: 100,000 / 300,000
    assert (alone.total, alone.low, alone.high) == (D("200000.00"), D("100000.00"), D("300000.00"))
    both = normalise(
        [
            Quote("breakdown", "Everything", basis="Fixed price", quantity=D(1), rate=D(999999), currency="EUR"),
            Quote("fixed", "Release testing", amount=D(30000)),
        ],
        horizon=H,
        rates={},
        currency="EUR",
    )
    assert both.total == D("30000.00") and [r.item for r in both.reference] == ["Everything"]


def test_a_recorded_price_is_a_lump_sum_only_without_a_questionnaire():
    cost = normalise([], horizon=H, rates={"USD": D("0.9")}, lump_sum=(D(1000000), "USD"))
    assert cost.total == D("900000.00") and cost.lines[0].model == "Recorded price"  # 1,000,000 × 0.9
    nothing = normalise([], horizon=H, rates={})
    assert nothing.total is None and not nothing.complete and nothing.missing


def test_what_the_horizon_needs_and_the_proposal_lacks_is_missing_never_zero():
    horizon = Horizon(
        years=D(5),
        base_currency="EUR",
        batches_per_year=D(2),
        fte_months_per_year=D(12),
        needs_development=True,
        needs_tech_transfer=True,
    )
    cost = normalise(
        [Quote("fees", "Technology transfer fee", amount=D(150000))], horizon=horizon, rates={}, currency="EUR"
    )
    assert cost.total is None and cost.low is None and cost.status == "incomplete"
    assert cost.subtotal == D("150000.00")  # what is priced, shown as such, never as the total
    assert len(cost.missing) == 3
    assert cost.missing[0].startswith("Manufacturing (2 batches a year)")
    assert "Effort (12 FTE-months a year)" in cost.missing[1] and cost.missing[2] == "Development fee"


def test_a_currency_without_a_rate_is_refused_by_name_and_rates_convert():
    quotes = [Quote("fixed", "Study", amount=D(1000)), Quote("breakdown", "x", rate=D(1), currency="CHF")]
    cost = normalise(quotes[:1], horizon=H, rates={"USD": D("0.9")}, currency="GBP")
    assert cost.total is None and cost.status == "not converted"
    assert cost.errors == ["No exchange rate for GBP to EUR: enter the rate of GBP on the comparison page."]
    converted = normalise(quotes[:1], horizon=H, rates={"GBP": D("1.1654")}, currency="GBP")
    assert converted.total == D("1165.40")  # 1,000 × 1.1654
    assert converted.lines[0].quoted == D(1000) and converted.lines[0].currency == "GBP"
    with pytest.raises(ValueError, match="JPY"):
        convert(D(1), "JPY", "EUR", {})
    assert convert(D(7), "eur", "EUR", {}) == D(7)


def test_a_line_missing_its_figure_is_listed_missing():
    cost = normalise(
        [Quote("fte", "PM", quantity=D(1)), Quote("fixed", "Study", amount=D(500))], horizon=H, rates={}, currency="EUR"
    )
    assert cost.missing == ["FTE: PM — no monthly rate"] and cost.total is None and cost.subtotal == D("500.00")
