"""The derived criteria from the vendors' opened proposals (issue 17, items 3 and 5): questionnaire
compliance and the price criterion, as pure functions on hand-computed cases, in the ranking computed
from hand-built inputs, and through the ranking API on a real RFP whose questionnaires were returned
through the portal and opened by two people (nothing before that)."""

from __future__ import annotations

import datetime

import numpy as np
import pytest

from rfp import bidding, comparison, costs
from rfp.answers import EVIDENCE, opened_rfps
from rfp.models import QuestionnaireAnswer
from scoring import evidence, providers
from scoring.models import Criterion
from scoring.providers import AnswerFact, CostFact
from scoring.ranking_compute import CandidateInput, CriterionInput, EvaluatorInput, RankingInputs, compute_ranking
from tests.factories import PASSWORD
from vendorselect import builders

# --- Pure: compliance ---------------------------------------------------------------------------


def test_compliance_is_the_mean_of_yes_partly_no_and_leaves_out_na_and_unanswered():
    derived = evidence.questionnaire_compliance([(1, "yes"), (2, "partly"), (3, "no"), (4, "n/a"), (5, "")])
    assert derived.value == 3.0  # (5 + 3 + 1) / 3
    assert "Yes 5, Partly 3, No 1" in derived.formula
    assert derived.evidence[0] == "1 Yes, 1 Partly, 1 No of 3 counted → 3"
    assert "question 2: Partly" in derived.evidence and "question 3: No" in derived.evidence
    assert "left out: question 4, 5 (N/A or unanswered)" in derived.evidence


@pytest.mark.parametrize(
    ("answers", "value"),
    [
        ([(1, "yes"), (2, "yes"), (3, "partly")], 4.33),  # 13 / 3
        ([(1, "yes")], 5.0),
        ([(1, "no"), (2, "no")], 1.0),
        ([(1, "partly"), (2, "no"), (3, "n/a")], 2.0),  # (3 + 1) / 2
    ],
)
def test_compliance_on_hand_computed_cases(answers, value):
    assert evidence.questionnaire_compliance(answers).value == value


def test_no_answer_is_no_evidence_never_a_zero():
    nothing = evidence.questionnaire_compliance([])
    assert nothing.value is None and "no opened questionnaire answers" in nothing.evidence[0]
    only_na = evidence.questionnaire_compliance([(1, "n/a"), (2, "")])
    assert only_na.value is None and only_na.evidence[0] == "no Yes, Partly or No answer"


# --- Pure: price ----------------------------------------------------------------------------------


def test_lowest_cost_scaled_gives_five_to_the_cheapest_and_no_evidence_without_a_complete_cost():
    costs = {
        1: CostFact(100_000.0, True, "EUR"),
        2: CostFact(200_000.0, True, "EUR"),
        3: CostFact(125_000.0, True, "EUR"),
        4: CostFact(90_000.0, False, "EUR", ("exchange rate USD→EUR",)),  # cheapest, but incomplete
        5: CostFact(None, False, "EUR"),
    }
    prices = evidence.lowest_cost_scaled([1, 2, 3, 4, 5, 6], costs)
    assert prices[1].value == 5.0
    assert prices[2].value == 3.0  # 1 + 4 × 100k / 200k
    assert prices[3].value == 4.2  # 1 + 4 × 0.8
    assert prices[4].value is None and prices[4].evidence == ["incomplete program cost: exchange rate USD→EUR"]
    assert prices[5].value is None and "missing" in prices[5].evidence[0]
    assert prices[6].value is None and prices[6].evidence == ["no opened proposal with a program cost"]
    assert prices[2].evidence == ["total 200,000 EUR; lowest 100,000 EUR → 1 + 4 × 0.500"]
    assert prices[1].formula == evidence.PRICE_FORMULA


def test_prices_in_several_currencies_are_not_compared():
    prices = evidence.lowest_cost_scaled([1, 2], {1: CostFact(1.0, True, "EUR"), 2: CostFact(2.0, True, "USD")})
    assert prices[1].value is None and prices[2].value is None
    assert "several currencies" in prices[1].evidence[0]


def test_a_zero_total_is_no_price():
    prices = evidence.lowest_cost_scaled([1, 2], {1: CostFact(0.0, True, "EUR"), 2: CostFact(50.0, True, "EUR")})
    assert prices[1].value is None and prices[2].value == 5.0


def test_the_kinds_do_not_apply_until_something_is_opened():
    assert evidence.not_applicable_reason("compliance", {}) == "no questionnaire answers have been opened yet"
    assert evidence.not_applicable_reason("price", {"answers_opened": True}) is not None
    assert evidence.not_applicable_reason("compliance", {"answers_opened": True}) is None
    assert evidence.not_applicable_reason("price", {"costs_opened": True}) is None


# --- The ranking on hand-built inputs ---------------------------------------------------------------


def _inputs(**overrides) -> RankingInputs:
    """Candidates 10 (cheaper, one Partly) and 11: a judged criterion (both 4), compliance of "Quality
    systems" questions and price; weights 50 / 30 / 20."""
    values = {
        "aggregation": "mean",
        "criteria": [
            CriterionInput(id=1, key="fit", name="Fit", leaves=(0,)),
            CriterionInput(id=2, key="quality", name="Quality  systems", evidence="compliance"),
            CriterionInput(id=3, key="price", name="Price", evidence="price"),
        ],
        "weights": np.array([50.0, 30.0, 20.0]),
        "candidates": [
            CandidateInput(id=10, vendor_id=100, vendor_name="Alpha"),
            CandidateInput(id=11, vendor_id=101, vendor_name="Beta"),
        ],
        "evaluators": [],
        "leaf_scores": np.full((0, 2, 1), np.nan),
        "filled": np.zeros(0, dtype=int),
        "requirement": {"answers_opened": True, "costs_opened": True},
        "today": datetime.date(2026, 11, 28),
        "answers": {
            10: [
                AnswerFact(7, "Quality systems", "CAPA?", "yes"),
                AnswerFact(8, "quality systems", "QA template?", "partly"),
                AnswerFact(1, "Scope fit", "Subcontract?", "no"),  # another criterion's: not counted
            ],
            11: [AnswerFact(7, "Quality systems", "CAPA?", "yes"), AnswerFact(8, "Quality systems", "QA?", "yes")],
        },
        "costs": {10: CostFact(100_000.0, True, "EUR"), 11: CostFact(160_000.0, True, "EUR")},
    }
    values.update(overrides)
    return RankingInputs(**values)


def test_compliance_and_price_are_derived_cells_of_the_ranking():
    # one evaluator scored both 4 on the judged criterion
    inputs = _inputs(
        evaluators=[EvaluatorInput(id=5, submitted=True)], leaf_scores=np.array([[[4.0], [4.0]]]), filled=np.array([2])
    )
    result = compute_ranking(inputs)
    rows = {row.candidate.id: row for row in result.rows}
    alpha, beta = rows[10], rows[11]
    assert alpha.cells[1].value == 4.0 and alpha.cells[1].derived  # (5 + 3) / 2; Scope fit's No left out
    assert beta.cells[1].value == 5.0
    assert alpha.cells[2].value == 5.0 and beta.cells[2].value == 3.5  # 1 + 4 × 100 / 160
    assert alpha.cells[2].formula == evidence.PRICE_FORMULA
    # totals on the 1-5 scale: 0.5 × 4 + 0.3 × 4 + 0.2 × 5 = 4.2; 0.5 × 4 + 0.3 × 5 + 0.2 × 3.5 = 4.2
    assert alpha.total == pytest.approx(4.2) and beta.total == pytest.approx(4.2)


def test_an_override_replaces_the_derived_value_with_its_justification():
    inputs = _inputs(overrides={(11, 3): (2.0, "Pass-through costs left out of the offer")})
    result = compute_ranking(inputs)
    beta = next(row for row in result.rows if row.candidate.id == 11)
    assert beta.cells[2].value == 2.0 and beta.cells[2].overridden
    assert beta.cells[2].evidence[-1] == "overridden: Pass-through costs left out of the offer"


def test_a_candidate_without_a_cost_has_no_price_and_no_total():
    inputs = _inputs(costs={10: CostFact(100_000.0, True, "EUR"), 11: CostFact(None, False, "EUR", ("no rate",))})
    rows = {row.candidate.id: row for row in compute_ranking(inputs).rows}
    assert rows[11].cells[2].value is None and rows[11].total is None and rows[11].rank is None


def test_sealed_proposals_leave_both_criteria_out_with_the_reason():
    inputs = _inputs(requirement={}, answers={}, costs={})
    result = compute_ranking(inputs)
    assert result.not_applicable_reasons[1:] == [
        "no questionnaire answers have been opened yet",
        "no proposal's program cost has been opened yet",
    ]
    assert all(row.cells[1].not_applicable and row.cells[2].not_applicable for row in result.rows)


# --- Through the ranking API, on a real opened RFP ------------------------------------------------------


@pytest.fixture
def answered(approved, users, reviewed):
    """An RFP to `approved` (Vendor 2 and Vendor 3), the manager as second opener; Vendor 2 answers the
    questionnaire's first question No and the rest Yes for 125,000 EUR, Vendor 3 all Yes for 100,000 EUR;
    still sealed."""
    evaluation, _ = reviewed
    rfp = builders.rfp_for(approved, users["procurement"], co_opener=users["manager"])
    chosen = {c.vendor.name: c for c in bidding.invitable_candidates(rfp)}
    for name, first, price in (("Vendor 2", "No", 125_000), ("Vendor 3", "Yes", 100_000)):
        invitation = builders.invited(rfp, users["procurement"], chosen[name])
        builders.sealed_questionnaire(invitation, compliance=[first], price=price)
    return evaluation, rfp, chosen


def _compliance_criterion(evaluation, name: str) -> Criterion:
    # The scorecard is fixed once scoring started; a lead would have chosen the source in draft.
    criterion = evaluation.criteria.get(name=name)
    Criterion.objects.filter(pk=criterion.pk).update(evidence=Criterion.Evidence.COMPLIANCE)
    return criterion


def _cell(body: dict, vendor: str, key: str) -> dict:
    row = next(r for r in body["rows"] if r["vendor_name"] == vendor)
    return next(c for c in row["cells"] if c["criterion"] == key)


def test_compliance_reaches_the_ranking_only_after_both_openers_opened(
    answered, users, api_as, django_assert_max_num_queries
):
    evaluation, rfp, chosen = answered
    first = QuestionnaireAnswer.objects.filter(response__candidate=chosen["Vendor 2"], number=1).get()
    criterion = _compliance_criterion(evaluation, first.criterion)  # "Scope fit"
    lead = api_as("procurement")
    url = f"/api/v1/evaluations/{evaluation.pk}/ranking/"

    sealed = _cell(lead.get(url).json(), "Vendor 2", criterion.key)
    assert sealed["not_applicable"] and sealed["value"] is None
    assert sealed["evidence"] == ["no questionnaire answers have been opened yet, so it is left out (weight 0)"]
    builders.deadlines_passed(rfp)
    bidding.open_proposals(rfp=rfp, user=users["procurement"], password=PASSWORD, request=builders.signing_request())
    assert _cell(lead.get(url).json(), "Vendor 2", criterion.key)["not_applicable"]  # one opener is not enough
    bidding.open_proposals(rfp=rfp, user=users["manager"], password=PASSWORD, request=builders.signing_request())

    with django_assert_max_num_queries(32):
        body = lead.get(url).json()
    same = sum(
        1
        for a in QuestionnaireAnswer.objects.filter(response__candidate=chosen["Vendor 2"])
        if a.criterion == first.criterion
    )
    two, three = _cell(body, "Vendor 2", criterion.key), _cell(body, "Vendor 3", criterion.key)
    assert three["value"] == 5.0 and three["derived"] and not three["not_applicable"]
    assert two["value"] == round((1 + 5 * (same - 1)) / same, 2)  # one No, the rest Yes
    assert "question 1: No" in two["evidence"] and two["formula"] == evidence.COMPLIANCE_FORMULA


def test_the_latest_version_counts(answered, users):
    evaluation, rfp, chosen = answered
    invitation = rfp.invitations.get(candidate=chosen["Vendor 2"])
    builders.sealed_questionnaire(invitation, compliance=["Partly"])  # the re-submission before the deadline
    builders.opened(rfp, password=PASSWORD)
    facts = EVIDENCE.answers(evaluation)
    assert facts[chosen["Vendor 2"].pk][0].compliance == "partly"
    assert [f.number for f in facts[chosen["Vendor 3"].pk]] == sorted(f.number for f in facts[chosen["Vendor 3"].pk])
    assert providers.answers(evaluation) == facts  # registered by RfpConfig.ready


def test_opened_rfps_agrees_with_the_opening_rule(answered, users):
    evaluation, rfp, _ = answered
    assert opened_rfps(evaluation) == [] and not bidding.is_opened(rfp)
    builders.opened(rfp, password=PASSWORD)
    assert opened_rfps(evaluation) == [rfp.pk] and bidding.is_opened(rfp)


def test_the_price_criterion_scales_the_opened_total_program_costs(answered, users, api_as):
    evaluation, rfp, chosen = answered
    price = Criterion.objects.create(evaluation=evaluation, key="price", name="Price", evidence="price", position=99)
    url = f"/api/v1/evaluations/{evaluation.pk}/ranking/"
    lead = api_as("procurement")
    assert _cell(lead.get(url).json(), "Vendor 2", price.key)["evidence"] == [
        "no proposal's program cost has been opened yet, so it is left out (weight 0)"
    ]
    builders.opened(rfp, password=PASSWORD)
    # Opened, but no program horizon yet: every cost is incomplete, so no price evidence (not a good score).
    cell = _cell(lead.get(url).json(), "Vendor 2", price.key)
    assert cell["value"] is None and not cell["not_applicable"]
    assert cell["evidence"][0].startswith("incomplete program cost: The program horizon is not set")
    comparison.horizon_set(rfp=rfp, user=users["procurement"], years=1, base_currency="EUR")
    totals = {c: cost.total for c, cost in costs.program_costs(rfp).items()}
    assert (totals[chosen["Vendor 2"].pk], totals[chosen["Vendor 3"].pk]) == (125_000, 100_000)
    body = lead.get(url).json()
    cheaper, dearer = _cell(body, "Vendor 3", price.key), _cell(body, "Vendor 2", price.key)
    assert cheaper["value"] == 5.0 and dearer["value"] == 4.2  # 1 + 4 × 100,000 / 125,000
    assert dearer["formula"] == evidence.PRICE_FORMULA
    assert dearer["evidence"] == ["total 125,000 EUR; lowest 100,000 EUR → 1 + 4 × 0.800"]


def test_proposal_evidence_is_overridable_on_the_closed_evaluation_until_an_award_is_put_to_approval(answered, users):
    """The shortlist's approval closed the evaluation before the proposals came; their derived values stay
    open to a justified override until the award's snapshot freezes them."""
    from scoring import services as scoring_services
    from scoring.models import DerivedOverride, Evaluation
    from scoring.services import ScoringError

    evaluation, rfp, chosen = answered
    evaluation = Evaluation.objects.get(pk=evaluation.pk)  # its status is an FSM field: read anew
    assert evaluation.status == Evaluation.Status.CLOSED
    first = QuestionnaireAnswer.objects.filter(response__candidate=chosen["Vendor 2"], number=1).get()
    compliance = Criterion.objects.get(pk=_compliance_criterion(evaluation, first.criterion).pk)
    judged = evaluation.criteria.exclude(pk=compliance.pk).filter(evidence="").first()
    builders.opened(rfp, password=PASSWORD)
    lead, vendor = users["procurement"], chosen["Vendor 2"]
    with pytest.raises(ScoringError, match="scored by evaluators"):
        scoring_services.derived_override(
            candidate=vendor, criterion=judged, user=lead, value=4, justification="Phone call"
        )
    override = scoring_services.derived_override(
        candidate=vendor, criterion=compliance, user=lead, value=4, justification="The No was clarified in Q&A 3"
    )
    assert override.value == 4
    builders.submitted_award(
        rfp=rfp, proposer=lead, awarded=[(chosen["Vendor 3"], "All steps")], rationale="Best value"
    )
    with pytest.raises(ScoringError, match="frozen") as caught:
        scoring_services.derived_override(
            candidate=vendor, criterion=compliance, user=lead, value=5, justification="Changed my mind"
        )
    assert caught.value.status == 409 and DerivedOverride.objects.get().value == 4
