"""The comparison of proposals (issue 17, items 4, 5, 7): the lead's horizon and exchange rates, the total
program costs from the vendors' returned questionnaires, the value-for-money chart, the XLSX and PDF
exports; sealed before the opening, who sees and who sets what, bad input, bounded queries."""

from __future__ import annotations

import io
from datetime import date, timedelta
from decimal import Decimal as D

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from openpyxl import load_workbook
from pypdf import PdfReader

from core.errors import ServiceError
from rfp import bidding, comparison, costs
from rfp.models import ExchangeRate, ProgramHorizon
from scoring import selectors as scoring_selectors
from tests.factories import PASSWORD, InspectionFactory, SiteFactory, UserFactory, VendorFactory
from vendorselect import builders

pytestmark = pytest.mark.django_db

HORIZON = {
    "years": D(5),
    "batches_per_year": D(4),
    "volume_per_year": D(80),
    "volume_unit": "kg",
    "needs_tech_transfer": True,
    "base_currency": "EUR",
}
# Vendor 2: per batch in EUR, 500,000 × 3 batches a year × 5 years = 7,500,000 + tech transfer 150,000.
PER_BATCH = {"per_batch": [["Drug substance", 500000, 3, 2]], "fees": [["Development fee", None, None], ["Technology transfer fee", 150000, 4]]}  # fmt: skip
# Vendor 3: cost-plus in GBP, 4,000,000 × 1.15 = 4,600,000 + tech transfer 100,000 = 4,700,000 GBP × 1.2 = 5,640,000 EUR.
COST_PLUS = {"cost_plus": [["Manufacturing", 4000000, 15]], "fees": [["Development fee", None, None], ["Technology transfer fee", 100000, 3]]}  # fmt: skip


@pytest.fixture
def world(approved, users):
    """The RFP to `approved` (Vendor 2, Vendor 3) with the manager as second opener; each vendor has
    returned its questionnaire through the portal (sealed); the lead has set the horizon."""
    lead = users["procurement"]
    rfp = builders.rfp_for(approved, lead, co_opener=users["manager"])
    second, third = bidding.invitable_candidates(rfp).order_by("vendor__name")
    builders.sealed_questionnaire(builders.invited(rfp, lead, second), pricing=PER_BATCH, model="Per batch")
    builders.sealed_questionnaire(
        builders.invited(rfp, lead, third), pricing=COST_PLUS, model="Cost-plus", currency="GBP"
    )
    comparison.horizon_set(rfp=rfp, user=lead, **HORIZON)
    return rfp


def opened(rfp):
    return builders.opened(rfp, password=PASSWORD)


def test_sealed_until_both_openers_have_opened(world, users, client, api_as):
    rfp = world
    assert {c.complete for c in costs.program_costs(rfp).values()} == {False}  # sealed questionnaires count for nothing
    client.force_login(users["procurement"])
    page = client.get(f"/rfps/{rfp.pk}/comparison/").content.decode()
    assert "Sealed." in page and "7,650,000" not in page and "vfm-chart" not in page
    assert "Program horizon" in page and 'id="horizon-form"' in page  # the assumptions are set before
    assert client.get(f"/rfps/{rfp.pk}/comparison.xlsx").status_code == 302
    response = api_as("manager").get(f"/api/v1/rfps/{rfp.pk}/comparison/")
    assert response.status_code == 409 and "sealed" in response.json()["detail"]
    opened(rfp)
    assert api_as("manager").get(f"/api/v1/rfps/{rfp.pk}/comparison/").status_code == 200


def test_costs_are_normalised_converted_and_charted_against_the_scores(world, users, client):
    rfp = opened(world)
    lead = users["procurement"]
    client.force_login(lead)
    page = client.get(f"/rfps/{rfp.pk}/comparison/").content.decode()
    assert "No exchange rate for GBP to EUR" in page and "Not converted" in page
    assert "7,650,000.00 EUR" in page  # Vendor 2: 500,000 × 3 × 5 + 150,000
    comparison.rate_add(rfp=rfp, user=lead, currency="gbp", rate="1.2", as_of=date.today(), source="ECB")
    result = comparison.comparison(rfp, lead)
    by_vendor = {r.vendor: r for r in result.rows}
    batch, plus = by_vendor["Vendor 2"], by_vendor["Vendor 3"]
    assert batch.cost.total == D("7650000.00") and plus.cost.total == D("5640000.00")
    # Sensitivity: per batch 1.5 / 4.5 batches a year: 3,750,000 / 11,250,000 (+150,000 each);
    # cost-plus 2,000,000 / 6,000,000 × 1.15 = 2,300,000 / 6,900,000 GBP (+100,000), × 1.2.
    assert (batch.cost.low, batch.cost.high) == (D("3900000.00"), D("11400000.00"))
    assert (plus.cost.low, plus.cost.high) == (D("2880000.00"), D("8400000.00"))
    assert "line's 2 years replaced by the horizon's 5" in batch.cost.lines[0].assumption
    assert [r.item for r in batch.cost.reference] == [
        "Process and analytical development"
    ]  # the breakdown line: shown, not added
    ranking = {row.candidate.pk: row.total for row in scoring_selectors.ranking(rfp.shortlist.evaluation, lead).rows}
    assert batch.score == pytest.approx(ranking[batch.candidate_id]) and plus.score > batch.score
    assert plus.pareto and not batch.pareto  # Vendor 3 is cheaper and better: it dominates
    page = client.get(f"/rfps/{rfp.pk}/comparison/").content.decode()
    assert 'class="vfm-chart"' in page and "Vendor 3: 5,640,000.00 EUR" in page and "(Pareto front)" in page
    assert "<script" not in result.chart
    ordered = client.get(f"/rfps/{rfp.pk}/comparison/?ordering=total").content.decode().split("data-table")[1]
    assert ordered.index("5,640,000.00 EUR") < ordered.index("7,650,000.00 EUR")
    filtered = client.get(f"/rfps/{rfp.pk}/comparison/?front=1").content.decode().split("data-table")[1]
    assert "7,650,000.00 EUR" not in filtered and "5,640,000.00 EUR" in filtered


def test_missing_lines_are_shown_missing_and_keep_a_vendor_off_the_chart(world, users, client):
    rfp = opened(world)
    lead = users["procurement"]
    comparison.rate_add(rfp=rfp, user=lead, currency="GBP", rate="1.2", as_of=date.today())
    comparison.horizon_set(rfp=rfp, user=lead, **{**HORIZON, "needs_development": True})
    result = comparison.comparison(rfp, lead)
    assert all(not r.cost.complete and r.cost.total is None for r in result.rows)
    assert all(r.cost.missing == ["Development fee"] and "cost incomplete" in r.off_chart for r in result.rows)
    assert result.chart == ""
    page = client.get(f"/rfps/{rfp.pk}/comparison/").content.decode() if client.force_login(lead) is None else ""
    assert "MISSING" in page and "is not on the chart" in page and "priced lines 7,650,000.00" in page


def test_exports_xlsx_and_pdf_carry_costs_value_and_answers(world, users, client):
    rfp = opened(world)
    comparison.rate_add(rfp=rfp, user=users["procurement"], currency="GBP", rate="1.2", as_of=date.today())
    client.force_login(users["evaluator"])  # the evaluation team reads the exports too
    response = client.get(f"/rfps/{rfp.pk}/comparison.xlsx")
    assert response.status_code == 200
    book = load_workbook(io.BytesIO(response.content))
    assert book.sheetnames[:2] == ["Costs", "Value for money"] and "Answers" in book.sheetnames
    rows = list(book["Costs"].iter_rows(values_only=True))
    totals = {r[0]: r[8] for r in rows if str(r[1]).startswith("TOTAL")}
    assert totals == {"Vendor 2": 7650000.0, "Vendor 3": 5640000.0}
    assert any(r[2] == "Cost-plus" and r[4] == "4,000,000 × (1 + 15 %)" for r in rows)
    value = list(book["Value for money"].iter_rows(values_only=True))
    assert [(r[0], r[5]) for r in value[1:]] == [("Vendor 2", "no"), ("Vendor 3", "yes")]
    answers = list(book["Answers"].iter_rows(values_only=True))
    assert answers[0][3:] == ("Vendor 2", "Vendor 3") and answers[1][3].startswith("YES: Our answer")
    response = client.get(f"/rfps/{rfp.pk}/comparison.pdf")
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(response.content)).pages)
    assert "Value for money" in text and "7,650,000.00" in text and "5,640,000.00" in text
    assert "Total program cost (EUR)" in text and "Weighted score (0-5)" in text  # the chart's own text


@pytest.mark.parametrize(
    ("role", "page", "api", "post"),
    [
        ("procurement", 200, 200, 302),
        ("evaluator", 200, 200, 403),
        ("manager", 200, 200, 403),
        ("auditor", 404, 404, 404),
    ],
)
def test_who_sees_the_comparison_and_who_sets_the_horizon(world, users, client, api_as, role, page, api, post):
    rfp = opened(world)
    client.force_login(users[role])
    assert client.get(f"/rfps/{rfp.pk}/comparison/").status_code == page
    assert api_as(role).get(f"/api/v1/rfps/{rfp.pk}/comparison/").status_code == api
    assert (
        client.post(
            f"/rfps/{rfp.pk}/comparison/rates/", {"currency": "GBP", "rate": "1.2", "as_of": "2026-01-02"}
        ).status_code
        == post
    )
    assert ExchangeRate.objects.count() == (1 if post == 302 else 0)


def test_bad_input_is_refused_with_clear_messages_and_changes_nothing(world, users, client, api_as):
    rfp = world
    lead = users["procurement"]
    client.force_login(lead)
    before = ProgramHorizon.objects.get(rfp=rfp).years
    url = f"/rfps/{rfp.pk}/comparison/horizon/"
    for data, message in [
        ({**HORIZON, "years": "-1"}, "greater than or equal to 0.01"),
        ({**HORIZON, "batches_per_year": "four"}, "Enter a number."),
        ({**HORIZON, "volume_per_year": "-5"}, "greater than or equal to 0"),
        ({**HORIZON, "fte_months_per_year": "10", "effort_factor": "1.2"}, "not both"),
        ({**HORIZON, "base_currency": "E1R"}, "three-letter currency code"),
    ]:
        response = client.post(url, {k: v for k, v in data.items() if v is not False})
        assert response.status_code == 200 and message in response.content.decode(), data
    assert ProgramHorizon.objects.get(rfp=rfp).years == before
    rates = f"/rfps/{rfp.pk}/comparison/rates/"
    assert client.post(rates, {"currency": "USD", "rate": "1.08", "as_of": "2026-01-02"}).status_code == 302
    for data, message in [
        ({"currency": "USD", "rate": "1.1", "as_of": "2026-01-02"}, "USD already has a rate"),
        ({"currency": "GBP", "rate": "0", "as_of": "2026-01-02"}, "greater than zero"),
        ({"currency": "GBP", "rate": "-2", "as_of": "2026-01-02"}, "greater than zero"),
        ({"currency": "GBP", "rate": "abc", "as_of": "2026-01-02"}, "Enter a number."),
        ({"currency": "EUR", "rate": "1", "as_of": "2026-01-02"}, "EUR is the base currency"),
        ({"currency": "GBP", "rate": "1.2", "as_of": str(date.today() + timedelta(days=3))}, "cannot be in the future"),
    ]:
        response = client.post(rates, data)
        assert response.status_code == 200 and message in response.content.decode(), data
    assert list(ExchangeRate.objects.values_list("currency", "rate")) == [("USD", D("1.08"))]
    api = api_as("procurement")
    refused = api.post(f"/api/v1/rfps/{rfp.pk}/horizon/", {**HORIZON, "years": "ten"}, format="json")
    assert refused.status_code == 400 and "years" in refused.json()
    refused = api.post(
        f"/api/v1/rfps/{rfp.pk}/exchange-rates/", {"currency": "USD", "rate": "2", "as_of": "2026-01-02"}, format="json"
    )
    assert refused.status_code == 400 and "already has a rate" in refused.json()["currency"][0]
    refused = api.post(
        f"/api/v1/rfps/{rfp.pk}/exchange-rates/",
        {"currency": "CHF", "rate": "-1", "as_of": "2026-01-02"},
        format="json",
    )
    assert refused.status_code == 400 and "greater than zero" in refused.json()["rate"][0]
    rate = ExchangeRate.objects.get()
    refused = api.patch(f"/api/v1/rfps/{rfp.pk}/exchange-rates/{rate.pk}/", {"rate": "0"}, format="json")
    assert refused.status_code == 400
    assert list(ExchangeRate.objects.values_list("currency", "rate")) == [("USD", D("1.08"))]
    with pytest.raises(ServiceError, match="has an exchange rate"):
        comparison.horizon_set(rfp=rfp, user=lead, **{**HORIZON, "base_currency": "USD"})
    with pytest.raises(ServiceError) as forbidden:
        comparison.rate_add(rfp=rfp, user=users["evaluator"], currency="CHF", rate="1", as_of=date.today())
    assert forbidden.value.status == 403


def test_the_api_sets_reads_changes_and_removes(world, users, api_as):
    rfp = world
    api = api_as("procurement")
    body = api.post(f"/api/v1/rfps/{rfp.pk}/horizon/", {"years": "3", "base_currency": "usd"}, format="json").json()
    assert body["years"] == "3.00" and body["base_currency"] == "USD" and body["batches_per_year"] is None
    assert api_as("evaluator").get(f"/api/v1/rfps/{rfp.pk}/horizon/").json()["years"] == "3.00"
    assert (
        api_as("evaluator")
        .post(f"/api/v1/rfps/{rfp.pk}/horizon/", {"years": "3", "base_currency": "USD"}, format="json")
        .status_code
        == 403
    )
    created = api.post(
        f"/api/v1/rfps/{rfp.pk}/exchange-rates/",
        {"currency": "EUR", "rate": "1.08", "as_of": "2026-01-02", "source": "ECB"},
        format="json",
    )
    assert created.status_code == 201
    rate_id = created.json()["id"]
    changed = api.patch(f"/api/v1/rfps/{rfp.pk}/exchange-rates/{rate_id}/", {"rate": "1.1"}, format="json")
    assert changed.status_code == 200 and changed.json()["rate"] == "1.10000000" and changed.json()["source"] == "ECB"
    assert [r["currency"] for r in api.get(f"/api/v1/rfps/{rfp.pk}/exchange-rates/").json()] == ["EUR"]
    assert api.delete(f"/api/v1/rfps/{rfp.pk}/exchange-rates/{rate_id}/").status_code == 204
    assert not ExchangeRate.objects.exists()
    builders.opened(rfp, password=PASSWORD)
    body = api.get(f"/api/v1/rfps/{rfp.pk}/comparison/").json()
    assert body["currency"] == "USD" and {r["cost_status"] for r in body["rows"]} == {"not converted"}
    assert "No exchange rate for EUR to USD" in body["rows"][0]["errors"][0]


def _world_of(users, n: int):
    """An opened RFP to n shortlisted vendors, each with a per-batch questionnaire, and a horizon."""
    lead = users["procurement"]
    evaluator = UserFactory(username=f"panel{n}", roles=["evaluator"])
    vendors = []
    for i in range(n):
        site = SiteFactory(vendor=VendorFactory(name=f"Bidder {n}-{i:02d}"))
        InspectionFactory(site=site, classification="NAI")
        vendors.append(site.vendor)
    evaluation, candidates = builders.reviewed_evaluation(
        lead=lead, evaluators=[evaluator], vendors=vendors, name=f"Program {n}", scores=lambda e, i, c: 1 + i % 5
    )
    shortlist = builders.approved_shortlist(
        evaluation=evaluation, proposer=lead, approvers=[users["manager"]], candidates=candidates, password=PASSWORD
    )
    rfp = builders.rfp_for(shortlist, lead, co_opener=users["manager"])
    for i, candidate in enumerate(candidates):
        pricing = {"per_batch": [["Batch", 100000 + i * 5000, 2, 5]], "fees": [[None, None, None], ["Technology transfer fee", 120000, 4]]}  # fmt: skip
        builders.sealed_questionnaire(builders.invited(rfp, lead, candidate), pricing=pricing, model="Per batch")
    comparison.horizon_set(rfp=rfp, user=lead, **HORIZON)
    comparison.rate_add(rfp=rfp, user=lead, currency="USD", rate="0.9", as_of=date.today())
    return builders.opened(rfp, password=PASSWORD)


def test_queries_do_not_grow_with_the_vendors(users, client, django_assert_max_num_queries):
    client.force_login(users["procurement"])
    counts = {}
    for n in (2, 10):
        rfp = _world_of(users, n)
        with CaptureQueriesContext(connection) as queries:
            response = client.get(f"/rfps/{rfp.pk}/comparison/")
        assert response.status_code == 200 and response.content.decode().count('class="badge text-bg-success"') == n
        counts[n] = len(queries)
        with django_assert_max_num_queries(45):
            client.get(f"/rfps/{rfp.pk}/comparison/")
        with django_assert_max_num_queries(40):
            assert client.get(f"/api/v1/rfps/{rfp.pk}/comparison/").status_code == 200
        with django_assert_max_num_queries(12):
            assert len(costs.program_costs(rfp)) == n
    assert counts[2] == counts[10], counts
