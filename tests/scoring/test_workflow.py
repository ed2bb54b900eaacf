"""What a procurement team does every day on the evaluation pages: the grid saving cell by cell,
moving to review on complete (or knowingly incomplete) scores, candidates only while they may join,
suggestions that fit the program, the evaluation closing with its approved shortlist."""

from datetime import date, timedelta

import numpy as np
import pytest
from pghistory.models import Events

from accounts.roles import EVALUATOR
from scoring import selectors, services
from scoring.models import Evaluation, Score, Shortlist
from tests.factories import PASSWORD, InspectionFactory, SiteFactory, UserFactory, VendorFactory
from vendors.models import Kind, Service
from vendorselect import builders

pytestmark = pytest.mark.django_db
JSON = {"HTTP_ACCEPT": "application/json"}


@pytest.fixture
def scoring(users):
    """In scoring: three candidates (the last knocked out by a recent OAI), two evaluators; evaluator 2
    has scored and submitted everything, evaluator 1 has scored two cells."""
    lead, evaluator = users["procurement"], users["evaluator"]
    second = UserFactory(username="evaluator2", first_name="Noor", last_name="Second", roles=[EVALUATOR])
    evaluation = services.evaluation_create(lead=lead, name="Fill-finish", evaluators=[evaluator, second])
    candidates = []
    for i in range(3):
        site = SiteFactory(vendor=VendorFactory(name=f"Vendor {i}"))
        InspectionFactory(site=site, classification="OAI" if i == 2 else "NAI")
        candidates.append(services.candidate_add(evaluation=evaluation, user=lead, vendor=site.vendor))
    evaluation = services.evaluation_transition(evaluation=evaluation, user=lead, action="start_scoring")
    criteria = list(evaluation.scored_criteria())
    for candidate in candidates:
        for criterion in criteria:
            services.score_save(
                evaluation=evaluation, user=second, candidate_id=candidate.pk, criterion_id=criterion.pk, value=3
            )
    services.evaluator_submit(evaluation=evaluation, user=second)
    for criterion in criteria[:2]:
        services.score_save(
            evaluation=evaluation, user=evaluator, candidate_id=candidates[0].pk, criterion_id=criterion.pk, value=4
        )
    return evaluation, candidates, criteria


# --- The grid -----------------------------------------------------------------------------------


def test_a_cell_saved_from_the_grid_answers_its_state_and_the_progress(client_as, scoring):
    evaluation, candidates, criteria = scoring
    client = client_as("evaluator")
    url = f"/evaluations/{evaluation.pk}/score/cell/"
    expected = len(candidates) * len(criteria)
    cell = {"candidate": candidates[1].pk, "criterion": criteria[0].pk}
    answer = client.post(url, {**cell, "value": "5", "rationale": "  Validated transfer protocol  "}, **JSON).json()
    assert answer["saved"] and answer["error"] == ""
    assert answer["score"]["value"] == 5 and answer["score"]["revision"] == 1
    assert answer["score"]["rationale"] == "  Validated transfer protocol  "  # what was typed, kept as typed
    assert (answer["done"], answer["expected"]) == (3, expected)
    # A stale save is refused in the cell, with what is stored, and nothing else changes.
    client.post(url, {**cell, "value": "4", "revision": "1"}, **JSON)
    stale = client.post(url, {**cell, "value": "2", "revision": "1", "rationale": "mine"}, **JSON).json()
    assert not stale["saved"] and "changed elsewhere" in stale["error"]
    assert stale["score"] == {"value": 4, "revision": 2, "rationale": "", "evidence_url": ""}
    assert stale["done"] == 3
    bad_link = client.post(url, {**cell, "value": "3", "revision": "2", "evidence_url": "ftp://x"}, **JSON).json()
    assert not bad_link["saved"] and bad_link["field"] == "evidence_url"
    unknown = client.post(url, {"candidate": "x", "criterion": criteria[0].pk, "value": "3"}, **JSON)
    assert unknown.status_code == 400 and unknown.json()["error"] == "Unknown cell."


def test_the_grid_flags_knocked_out_candidates_and_shows_live_progress(
    client_as, scoring, django_assert_max_num_queries
):
    evaluation, _candidates, _criteria = scoring
    client = client_as("evaluator")  # blind (not submitted): the gates come from evidence, not scores
    with django_assert_max_num_queries(45):
        page = client.get(f"/evaluations/{evaluation.pk}/score/").content.decode()
    row = page.split('<tr class="knocked-out">')[1].split("</tr>")[0]
    assert "Vendor 2" in row and "knocked out" in row and "OAI" in row  # the badge and its reason, in text
    assert page.count('class="knocked-out"') == 1
    assert "data-grid-done>2</span> of <span data-grid-expected>9</span> scores entered" in page
    assert "reload to refresh" not in page and "js/grid.js" in page and "hx-post" not in page
    assert "Enter saves and goes to the next cell" in page
    # Without JavaScript a cell still saves, with its own button.
    assert "<noscript><button" in page


# --- Move to review -----------------------------------------------------------------------------


def test_moving_to_review_shows_completeness_and_asks_a_reason_when_incomplete(
    client_as, scoring, users, django_assert_max_num_queries
):
    evaluation, _candidates, _criteria = scoring
    client = client_as("procurement")
    detail = client.get(f"/evaluations/{evaluation.pk}/").content.decode()
    assert f'href="/evaluations/{evaluation.pk}/review/">Move to review</a>' in detail  # a confirmation first
    with django_assert_max_num_queries(16):
        page = client.get(f"/evaluations/{evaluation.pk}/review/").content.decode()
    evaluator = users["evaluator"].printed_name
    assert "2 of 9" in page and "9 of 9" in page and "not submitted" in page and "submitted" in page
    assert f"{evaluator}: 2 of 9 scores, not submitted" in page
    assert 'name="reason"' in page and "Confirm: move to review" in page
    url = f"/evaluations/{evaluation.pk}/transition/start_review/"
    # Not confirmed (an old form, a stray post): back to the confirmation, nothing moves.
    response = client.post(url, {"reason": "x"})
    assert response.status_code == 302 and response["Location"] == f"/evaluations/{evaluation.pk}/review/"
    # Confirmed without the reason: asked for under the field, on the same page.
    refused = client.post(url, {"confirm": "on", "reason": "  "})
    assert refused.status_code == 200  # the page again, the form with its error (as the other page forms)
    text = refused.content.decode()
    assert 'id="reason-error"' in text and "confirm with a reason" in text and f"{evaluator}: 2 of 9 scores" in text
    assert Evaluation.objects.get(pk=evaluation.pk).status == "scoring"
    done = client.post(url, {"confirm": "on", "reason": "Steering committee on Friday; QA view is in."})
    assert done.status_code == 302
    evaluation = Evaluation.objects.get(pk=evaluation.pk)
    assert evaluation.status == "review"
    assert evaluation.early_review_reason == "Steering committee on Friday; QA view is in."
    event = Events.objects.tracks(evaluation).order_by("pgh_id").last()
    assert event.pgh_diff["status"] == ["scoring", "review"]
    assert f"{evaluator}: 2 of 9 scores, not submitted" in event.pgh_context["reason"]


def test_complete_scoring_is_still_confirmed_but_needs_no_reason(client_as, reviewed):
    evaluation, _ = reviewed
    lead = evaluation.lead
    evaluation = services.evaluation_transition(evaluation=evaluation, user=lead, action="reopen_scoring")
    client = client_as("procurement")
    page = client.get(f"/evaluations/{evaluation.pk}/review/").content.decode()
    assert "Every evaluator has entered every score and submitted." in page and 'name="reason"' not in page
    client.post(f"/evaluations/{evaluation.pk}/transition/start_review/", {"confirm": "on"})
    evaluation = Evaluation.objects.get(pk=evaluation.pk)
    assert evaluation.status == "review" and evaluation.early_review_reason == ""
    assert client_as("evaluator").get(f"/evaluations/{evaluation.pk}/review/").status_code == 403


def test_the_api_names_the_reason_field_when_scoring_is_incomplete(api_as, scoring, users):
    evaluation, _candidates, _ = scoring
    url = f"/api/v1/evaluations/{evaluation.pk}/transition/"
    lead = api_as("procurement")
    refused = lead.post(url, {"action": "start_review"}, format="json")
    assert refused.status_code == 400
    assert f"{users['evaluator'].printed_name}: 2 of 9 scores, not submitted" in refused.json()["reason"][0]
    moved = lead.post(url, {"action": "start_review", "reason": "Deadline"}, format="json")
    assert moved.status_code == 200 and moved.json()["early_review_reason"] == "Deadline"


def test_a_submitted_evaluator_missing_a_later_candidate_counts_as_incomplete(api_as, users):
    lead, evaluator = users["procurement"], users["evaluator"]
    evaluation, _ = builders.reviewed_evaluation(
        lead=lead, evaluators=[evaluator], vendors=[VendorFactory(), VendorFactory()], name="Late"
    )
    evaluation = services.evaluation_transition(evaluation=evaluation, user=lead, action="reopen_scoring")
    services.candidate_add(evaluation=evaluation, user=lead, vendor=VendorFactory(name="Latecomer"))
    response = api_as("procurement").post(
        f"/api/v1/evaluations/{evaluation.pk}/transition/", {"action": "start_review"}, format="json"
    )
    assert response.status_code == 400
    assert "Test User" in response.json()["reason"][0] and ": 6 of 9 scores)" in response.json()["reason"][0]


# --- Candidates: who may join, and which are suggested ------------------------------------------


def test_no_candidates_join_from_review_on(client_as, api_as, reviewed):
    evaluation, _ = reviewed
    client = client_as("procurement")
    page = client.get(f"/evaluations/{evaluation.pk}/").content.decode()
    assert (
        "Vendor to add" not in page and 'id="vendor-search"' not in page and "Suggested from the register" not in page
    )
    newcomer = VendorFactory(name="Newcomer Bio")
    response = client.post(f"/evaluations/{evaluation.pk}/candidates/", {"vendor": newcomer.pk}, follow=True)
    assert "Candidates are added in draft or while scoring; the evaluation is in review." in response.content.decode()
    api = api_as("procurement").post(
        f"/api/v1/evaluations/{evaluation.pk}/candidates/", {"vendor": newcomer.pk}, format="json"
    )
    assert api.status_code == 409
    search = client.get(f"/evaluations/{evaluation.pk}/vendor-search/", {"q": "newcomer"}).content.decode()
    assert "Newcomer Bio" not in search and "Candidates are added in draft or while scoring" in search
    assert evaluation.candidates.count() == 4


def test_the_candidate_search_offers_the_allowed_kinds_only(client_as, users):
    evaluation = services.evaluation_create(
        lead=users["procurement"], name="Kinds", allowed_kinds=list(Kind.objects.filter(code__in=["CDMO", "CMO"]))
    )
    VendorFactory(name="Alpha Clinical Research", kinds=["CRO"])
    VendorFactory(name="Alpha Fill", kinds=["CMO"])
    VendorFactory(name="Alpha Integrated", kinds=["CRO", "CDMO"])
    client = client_as("procurement")
    page = client.get(f"/evaluations/{evaluation.pk}/vendor-search/", {"q": "alpha"}).content.decode()
    assert "Alpha Fill" in page and "Alpha Integrated" in page and "Alpha Clinical Research" not in page
    none = client.get(f"/evaluations/{evaluation.pk}/vendor-search/", {"q": "clinical"}).content.decode()
    assert "No CDMO, CMO vendor in the register matches" in none
    detail = client.get(f"/evaluations/{evaluation.pk}/").content.decode()
    assert "only CDMO, CMO vendors (the allowed kinds) are listed" in detail


def test_suggestions_follow_the_program_steps(client_as, users, django_assert_max_num_queries):
    lead = users["procurement"]
    evaluation = services.evaluation_create(
        lead=lead, name="Fill-finish only", steps=[{"step": "drug_product", "quality_regime": "cGMP"}]
    )
    fill = Service.objects.get(code="drug-product-manufacturing")
    tox = Service.objects.get(code="preclinical-toxicology")
    filler = SiteFactory(vendor=VendorFactory(name="Vial Fillers", kinds=["CMO"])).vendor
    filler.sites.get().capabilities.add(fill)
    cro = SiteFactory(vendor=VendorFactory(name="Tox Lab", kinds=["CRO"]), quality_regime="GLP").vendor
    cro.sites.get().capabilities.add(tox, fill)  # a GLP lab does not fill under cGMP
    paper = SiteFactory(vendor=VendorFactory(name="Paper CMO", kinds=["CMO"])).vendor  # no fill capability
    paper.services.add(fill)
    suggested, _ = services.candidate_suggestions(evaluation)
    assert [v.name for v in suggested] == ["Vial Fillers"]
    client = client_as("procurement")
    with django_assert_max_num_queries(60):  # draft: the setup forms too; a fixed number, not one per vendor
        page = client.get(f"/evaluations/{evaluation.pk}/").content.decode()
    suggestions = page.split("Suggested from the register")[1]
    assert "Vial Fillers" in suggestions and "Tox Lab" not in suggestions and "Paper CMO" not in suggestions
    assert "a site able to do every program step" in suggestions


# --- Shortlist: completeness, register status, and the evaluation closing -----------------------


def test_the_shortlist_proposal_shows_completeness_and_register_status(
    client_as, api_as, scoring, django_assert_max_num_queries
):
    evaluation, candidates, _ = scoring
    candidates[0].vendor.status = "approved"
    candidates[0].vendor.save()
    api_as("procurement").post(
        f"/api/v1/evaluations/{evaluation.pk}/transition/",
        {"action": "start_review", "reason": "Deadline"},
        format="json",
    )
    client = client_as("procurement")
    with django_assert_max_num_queries(40):
        page = client.get(f"/evaluations/{evaluation.pk}/shortlist/").content.decode()
    assert "Completeness" in page and "Register status" in page
    row = page.split(f'for="sl-{candidates[1].pk}"')[1].split("</tr>")[0]
    assert "50.0 %" in row and "Prospect" in row  # evaluator 1 scored none of Vendor 1: half the cells
    approved = page.split(f'for="sl-{candidates[0].pk}"')[1].split("</tr>")[0]
    assert "Approved" in approved
    assert "Scores are missing for 3 candidates" in page


def test_the_evaluation_closes_when_its_shortlist_is_approved_and_the_rfp_follows(api_as, reviewed, users):
    evaluation, candidates = reviewed
    lead, manager = users["procurement"], users["manager"]
    shortlist = builders.submitted_shortlist(evaluation=evaluation, proposer=lead, candidates=candidates[2:])
    response = api_as("manager").post(
        f"/api/v1/shortlists/{shortlist.pk}/decide/",
        {"decision": "approve", "password": PASSWORD, "snapshot_hash": shortlist.snapshot_hash},
        format="json",
    )
    assert response.status_code == 200 and response.json()["status"] == "approved"
    evaluation = Evaluation.objects.get(pk=evaluation.pk)
    assert evaluation.status == "closed"
    event = Events.objects.tracks(evaluation).order_by("pgh_id").last()
    assert event.pgh_diff["status"] == ["review", "closed"]
    assert "Shortlist version 1 approved: the evaluation closes." in event.pgh_context["reason"]
    assert event.pgh_context["user"] == manager.pk
    shortlist = Shortlist.objects.get(pk=shortlist.pk)
    rfp = builders.rfp_for(shortlist, lead)  # what follows an approval still works on a closed evaluation
    assert rfp.shortlist_id == shortlist.pk
    refused = api_as("procurement").post(
        f"/api/v1/evaluations/{evaluation.pk}/transition/", {"action": "reopen_scoring"}, format="json"
    )
    assert refused.status_code == 409


def test_a_rejection_leaves_the_evaluation_in_review(api_as, reviewed, users):
    evaluation, candidates = reviewed
    shortlist = builders.submitted_shortlist(
        evaluation=evaluation, proposer=users["procurement"], candidates=candidates
    )
    api_as("manager").post(
        f"/api/v1/shortlists/{shortlist.pk}/decide/",
        {"decision": "reject", "password": PASSWORD, "snapshot_hash": shortlist.snapshot_hash, "comment": "No."},
        format="json",
    )
    evaluation = Evaluation.objects.get(pk=evaluation.pk)
    assert evaluation.status == "review"


# --- Demo data ------------------------------------------------------------------------------------


def test_realistic_scores_vary_by_criterion_and_between_evaluators(users):
    second = UserFactory(username="evaluator2", roles=[EVALUATOR])
    vendors = []
    for i in range(4):
        site = SiteFactory(vendor=VendorFactory(name=f"Demo {i}"))
        InspectionFactory(site=site, end_date=date.today() - timedelta(days=300))
        vendors.append(site.vendor)
    evaluation, _candidates = builders.reviewed_evaluation(
        lead=users["procurement"],
        evaluators=[users["evaluator"], second],
        vendors=vendors,
        name="Realistic",
        scores=builders.realistic_scores([4.3, 3.8, 3.2, 2.7], seed="fill-finish"),
    )
    mine = {}
    for score in Score.objects.filter(evaluator=users["evaluator"]):
        mine.setdefault(score.candidate_id, []).append(score.value)
    assert any(len(set(values)) > 1 for values in mine.values())  # not one value across the criteria
    agreement = [w for w in selectors.ranking(evaluation, users["procurement"]).agreement if w is not None]
    assert agreement and all(w > 0 for w in agreement) and np.mean(agreement) < 0.95
    assert min(agreement) < 1
