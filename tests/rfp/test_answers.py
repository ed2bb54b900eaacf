"""The side-by-side answers matrix (issue 17, item 3): questions x vendors of the returned questionnaires,
No/Partly highlighted, filtered by criterion and to the gaps; its page and API; sealed until both
openers opened; who may see it; a query count that does not grow with vendors or questions; and the
answers next to the evaluators' score cells."""

from __future__ import annotations

from datetime import date

import pytest
from django.core.files.base import ContentFile

from accounts.roles import PROCUREMENT_LEAD
from rfp import bidding
from rfp.answers import answers_matrix
from rfp.models import Proposal, ProposalDocument, QuestionnaireAnswer, QuestionnaireResponse, Rfp
from tests.factories import PASSWORD, UserFactory
from vendorselect import builders

pytestmark = pytest.mark.django_db

ANSWER = "Our answer to question"  # what builders.filled_questionnaire writes into every answer


@pytest.fixture
def answered(approved, users):
    """An RFP to `approved` (Vendor 2 and Vendor 3) with the manager as second opener: Vendor 2 answers
    question 1 No and question 2 Partly, Vendor 3 everything Yes; sealed."""
    rfp = builders.rfp_for(approved, users["procurement"], co_opener=users["manager"])
    chosen = {c.vendor.name: c for c in bidding.invitable_candidates(rfp)}
    for name, compliance in (("Vendor 2", ["No", "Partly"]), ("Vendor 3", [])):
        builders.sealed_questionnaire(builders.invited(rfp, users["procurement"], chosen[name]), compliance=compliance)
    return rfp, chosen


def _open(rfp, user):
    bidding.open_proposals(rfp=rfp, user=user, password=PASSWORD, request=builders.signing_request())


def test_nothing_of_an_answer_shows_until_both_openers_opened(answered, users, client, api_as):
    rfp, _chosen = answered
    client.force_login(users["procurement"])
    page, api = f"/rfps/{rfp.pk}/answers/", f"/api/v1/rfps/{rfp.pk}/answers/"
    builders.deadlines_passed(rfp)
    for step in ("sealed", "one opener"):
        html = client.get(page).content.decode()
        assert "The proposals are sealed" in html and ANSWER not in html and "Vendor 2" not in html
        body = api_as("procurement").get(api).json()
        assert body == {"opened": False, "criteria": [], "questions": [], "vendors": [], "answers": []}
        assert not answers_matrix(rfp).opened
        assert "Answers</a>" not in client.get(f"/rfps/{rfp.pk}/").content.decode()
        if step == "sealed":
            _open(rfp, users["procurement"])
    _open(rfp, users["manager"])
    html = client.get(page).content.decode()
    assert "The proposals are sealed" not in html and f"{ANSWER} 1." in html
    assert 'class="table-danger"' in html and 'class="table-warning"' in html  # No and Partly highlighted
    assert f'href="/rfps/{rfp.pk}/answers/"' in client.get(f"/rfps/{rfp.pk}/").content.decode()


def test_the_matrix_is_questions_by_vendors_with_the_latest_version(answered, users, api_as):
    rfp, chosen = answered
    builders.sealed_questionnaire(rfp.invitations.get(candidate=chosen["Vendor 3"]), compliance=["", "Not applicable"])
    builders.opened(rfp, password=PASSWORD)
    matrix = answers_matrix(rfp)
    stored = list(QuestionnaireAnswer.objects.filter(response__candidate=chosen["Vendor 2"]).order_by("number"))
    assert [q.number for q in matrix.questions] == [a.number for a in stored]
    assert [(q.criterion, q.text) for q in matrix.questions] == [(a.criterion, a.question) for a in stored]
    assert matrix.criteria == list(dict.fromkeys(a.criterion for a in stored))
    assert [(v.name, v.version) for v in matrix.vendors] == [("Vendor 2", 1), ("Vendor 3", 2)]
    two, three = chosen["Vendor 2"].pk, chosen["Vendor 3"].pk
    assert matrix.cells[(1, two)] == ("no", f"{ANSWER} 1.", "")
    assert matrix.cells[(2, two)].compliance == "partly" and matrix.cells[(3, two)].compliance == "yes"
    assert matrix.cells[(1, three)].compliance == "" and matrix.cells[(2, three)].compliance == "n/a"  # v2 counts

    body = api_as("evaluator").get(f"/api/v1/rfps/{rfp.pk}/answers/").json()
    assert body["opened"] and [v["candidate"] for v in body["vendors"]] == [two, three]
    assert {"question": 1, "candidate": two, "compliance": "no", "answer": f"{ANSWER} 1.", "document": ""} in (
        body["answers"]
    )
    assert len(body["answers"]) == 2 * len(stored)


def test_filters_by_criterion_and_to_the_no_and_partly_answers(answered, users, client, api_as):
    rfp, chosen = answered
    builders.opened(rfp, password=PASSWORD)
    first = QuestionnaireAnswer.objects.filter(response__candidate=chosen["Vendor 2"], number=1).get()
    gaps = answers_matrix(rfp, gaps_only=True)
    assert [q.number for q in gaps.questions] == [1, 2] and gaps.gaps(1) and not gaps.gaps(3)
    by_criterion = answers_matrix(rfp, criterion=first.criterion.upper())  # case aside
    assert by_criterion.questions and {q.criterion for q in by_criterion.questions} == {first.criterion}
    assert by_criterion.criteria == answers_matrix(rfp).criteria  # the filter's choices stay whole

    api = api_as("manager")
    body = api.get(f"/api/v1/rfps/{rfp.pk}/answers/", {"gaps": "true"}).json()
    assert [q["number"] for q in body["questions"]] == [1, 2]
    assert {a["question"] for a in body["answers"]} == {1, 2}
    body = api.get(f"/api/v1/rfps/{rfp.pk}/answers/", {"criterion": "No such criterion"}).json()
    assert body["opened"] and body["questions"] == [] and body["answers"] == []

    client.force_login(users["manager"])
    html = client.get(f"/rfps/{rfp.pk}/answers/", {"gaps": "1"}).content.decode()
    assert f"{ANSWER} 1." in html and f"{ANSWER} 3." not in html and "Show all" in html
    html = client.get(f"/rfps/{rfp.pk}/answers/", {"criterion": "No such criterion"}).content.decode()
    assert "No question matches the filter" in html


def test_who_sees_the_matrix(answered, users, client, api_as):
    rfp, _ = answered
    builders.opened(rfp, password=PASSWORD)
    for role in ("procurement", "evaluator", "manager", "qa"):
        assert api_as(role).get(f"/api/v1/rfps/{rfp.pk}/answers/").json()["opened"], role
        client.force_login(users[role])
        assert ANSWER in client.get(f"/rfps/{rfp.pk}/answers/").content.decode(), role
    outsiders = [users["auditor"], users["admin"], UserFactory(username="lead2", roles=[PROCUREMENT_LEAD])]
    for user in outsiders:
        client.force_login(user)
        assert client.get(f"/rfps/{rfp.pk}/answers/").status_code == 404
        api = api_as(None)
        api.force_authenticate(user)
        assert api.get(f"/api/v1/rfps/{rfp.pk}/answers/").status_code == 404
    client.logout()
    assert client.get(f"/rfps/{rfp.pk}/answers/").status_code == 302
    assert api_as(None).get(f"/api/v1/rfps/{rfp.pk}/answers/").status_code == 401


def _grow(rfp, chosen, extra_vendor, questions: int) -> None:
    """More questions for every response, and one more vendor's response (recorded by hand, as a
    mailed questionnaire is): inserts only, the rows are immutable."""
    responses = list(QuestionnaireResponse.objects.filter(rfp=rfp))
    lead = rfp.shortlist.evaluation.lead
    proposal = Proposal.objects.create(rfp=rfp, candidate=extra_vendor, received_on=date.today(), recorded_by=lead)
    document = ProposalDocument.objects.create(
        proposal=proposal,
        file=ContentFile(b"PK", name="mailed.xlsx"),
        original_name="mailed.xlsx",
        size=2,
        sha256="0" * 64,
        uploaded_by=lead,
    )
    responses.append(
        QuestionnaireResponse.objects.create(
            rfp=rfp, candidate=extra_vendor, document=document, version=1, checksum="x" * 64
        )
    )
    QuestionnaireAnswer.objects.bulk_create(
        QuestionnaireAnswer(
            response=response,
            number=number,
            criterion="Extra",
            question=f"Extra question {number}",
            compliance="partly" if number % 3 else "no",
            answer=f"Extra answer {number}",
        )
        for response in responses
        for number in range(100, 100 + questions)
    )


def test_the_query_count_does_not_grow_with_vendors_or_questions(
    answered, users, client, api_as, reviewed, django_assert_max_num_queries, django_assert_num_queries
):
    rfp, chosen = answered
    builders.opened(rfp, password=PASSWORD)
    client.force_login(users["procurement"])
    api = api_as("procurement")
    api.get(f"/api/v1/rfps/{rfp.pk}/answers/")  # per-process caches (content types) filled before counting
    counts = []
    for grow in (False, True):
        if grow:
            _evaluation, candidates = reviewed
            _grow(rfp, chosen, candidates[0], questions=190)
        with django_assert_max_num_queries(20) as page_queries:
            html = client.get(f"/rfps/{rfp.pk}/answers/").content.decode()
        with django_assert_max_num_queries(10) as api_queries:
            body = api.get(f"/api/v1/rfps/{rfp.pk}/answers/").json()
        counts.append((len(page_queries), len(api_queries)))
        loaded = Rfp.objects.select_related("shortlist__evaluation").get(pk=rfp.pk)
        with django_assert_num_queries(3):  # the openings, the responses with their vendors, the answers
            answers_matrix(loaded)
    assert counts[0] == counts[1], counts
    assert len(body["vendors"]) == 3 and "Extra answer 289" in html


def test_evaluators_see_the_vendors_answers_next_to_the_cells_they_score(answered, users, client, reviewed):
    rfp, chosen = answered
    evaluation, _ = reviewed
    cultural = QuestionnaireAnswer.objects.get(
        response__candidate=chosen["Vendor 2"], criterion="Cultural fit and communication"
    )
    assert evaluation.scored_criteria().filter(name=cultural.criterion).exists()  # judged: a cell in the grid
    client.force_login(users["evaluator"])
    grid = f"/evaluations/{evaluation.pk}/score/"
    html = client.get(grid).content.decode()
    assert "Vendor's answers" not in html and ANSWER not in html  # sealed
    builders.opened(rfp, password=PASSWORD)
    html = client.get(grid).content.decode()
    assert "Vendor's answers" in html and f"{ANSWER} {cultural.number}." in html and cultural.question in html
    assert '<span class="badge text-bg-success">Yes</span>' in html
    # Question 1 (Scope fit, No) informs a derived criterion: no cell of the grid, so not shown there.
    assert f"{ANSWER} 1." not in html
