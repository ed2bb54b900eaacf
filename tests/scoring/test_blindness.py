"""Blind scoring as one rule (issue 12), the move to review without every submission, no reopening
after a shortlist is submitted or approved, the approval policy carried to every version, and
signatures that bind the shortlist's vendors."""

import pytest
from django.db import connection

from accounts.roles import EVALUATOR
from scoring import selectors, services, shortlists
from scoring.models import Evaluation, Shortlist
from tests.factories import InspectionFactory, SiteFactory, UserFactory, VendorFactory
from tests.scoring.test_shortlists import decide, propose

pytestmark = pytest.mark.django_db

NAMES = ["Alpha", "Bravo", "Charlie", "Delta"]


@pytest.fixture
def half_submitted(users):
    """In scoring: evaluator2 has submitted (Delta best ... Alpha worst, the reverse of name order);
    `evaluator` has scored every cell 3 but not submitted."""
    lead, blind = users["procurement"], users["evaluator"]
    other = UserFactory(username="evaluator2", roles=[EVALUATOR])
    evaluation = services.evaluation_create(lead=lead, name="Blind fill", evaluators=[blind, other])
    candidates = []
    for name in NAMES:
        site = SiteFactory(vendor=VendorFactory(name=name))
        InspectionFactory(site=site, classification="NAI")
        candidates.append(services.candidate_add(evaluation=evaluation, user=lead, vendor=site.vendor))
    evaluation = services.evaluation_transition(evaluation=evaluation, user=lead, action="start_scoring")
    for user, value in ((other, lambda i: 2 + i), (blind, lambda i: 3)):
        for i, candidate in enumerate(candidates):
            for criterion in evaluation.scored_criteria():
                services.score_save(
                    evaluation=evaluation,
                    user=user,
                    candidate_id=candidate.pk,
                    criterion_id=criterion.pk,
                    value=value(i),
                )
    services.evaluator_submit(evaluation=evaluation, user=other)
    return Evaluation.objects.get(pk=evaluation.pk), candidates


def early_review(api_as, evaluation, reason="Evaluator on leave until after the steering committee."):
    response = api_as("procurement").post(
        f"/api/v1/evaluations/{evaluation.pk}/transition/", {"action": "start_review", "reason": reason}, format="json"
    )
    assert response.status_code == 200, response.content
    return Evaluation.objects.get(pk=evaluation.pk)


def submitted_shortlist(api_as, evaluation, candidates, **extra) -> Shortlist:
    lead = api_as("procurement")
    draft = propose(lead, evaluation, candidates, rationale="Delta and Charlie lead on every criterion.", **extra)
    assert draft.status_code == 201, draft.content
    response = lead.post(f"/api/v1/shortlists/{draft.json()['id']}/submit/")
    assert response.status_code == 200, response.content
    return Shortlist.objects.get(pk=draft.json()["id"])


def order_in(page: str, names=NAMES) -> list[str]:
    return sorted(names, key=page.index)


# --- 1. One rule, one read model ------------------------------------------------------------------


def test_the_withheld_ranking_carries_nothing_of_the_other_evaluators(half_submitted, users):
    evaluation, _ = half_submitted
    result = selectors.ranking(evaluation, users["evaluator"])
    assert result.withheld is True
    assert [row.candidate.vendor.name for row in result.rows] == NAMES  # name order, not the others' ranking
    assert all(row.total is None and row.rank is None for row in result.rows)
    assert all(not any(row.contributions) for row in result.rows)
    assert result.matrix is None and result.agreement == [None] * len(result.criteria)
    for row in result.rows:
        for criterion, cell in zip(result.criteria, row.cells, strict=True):
            assert cell.spread is None
            assert cell.value == (None if criterion.evidence else 3.0)  # only the viewer's own scores
    # Progress is counts and submission flags only.
    assert [(u.username, submitted) for u, _done, _expected, submitted in result.evaluator_progress] == [
        ("evaluator", False),
        ("evaluator2", True),
    ]
    lead_view = selectors.ranking(evaluation, users["procurement"])
    assert lead_view.withheld is False
    assert [row.candidate.vendor.name for row in lead_view.rows] == NAMES[::-1]


def test_the_overview_lists_candidates_in_name_order_whatever_the_others_score(half_submitted, client_as):
    evaluation, _ = half_submitted
    for role in ("evaluator", "procurement"):
        page = client_as(role).get(evaluation.get_absolute_url()).content.decode()
        assert order_in(page) == NAMES, role


def test_every_api_route_withholds_until_the_evaluator_submits(half_submitted, api_as):
    evaluation, _ = half_submitted
    blind = api_as("evaluator")
    base = f"/api/v1/evaluations/{evaluation.pk}"
    ranking = blind.get(f"{base}/ranking/").json()
    assert ranking["withheld"] is True and ranking["rows"] == [] and "agreement" not in ranking
    assert blind.get(f"{base}/sensitivity/").json() == {
        "withheld": True,
        "detail": "Submit your own scores first (blind scoring).",
    }
    assert {s["evaluator"] for s in blind.get(f"{base}/scores/").json()} == {"evaluator"}
    assert blind.post(f"{base}/submit/").status_code == 201
    assert blind.get(f"{base}/ranking/").json()["withheld"] is False
    assert {s["evaluator"] for s in blind.get(f"{base}/scores/").json()} == {"evaluator", "evaluator2"}


def test_every_page_withholds_until_the_evaluator_submits(half_submitted, client_as):
    evaluation, _ = half_submitted
    client = client_as("evaluator")
    base = f"/evaluations/{evaluation.pk}"
    for path in ("ranking/", "sensitivity/", "compare/", "shortlist/"):
        page = client.get(f"{base}/{path}").content.decode()
        assert "Blind scoring" in page, path
        assert "Tipping points" not in page and '<svg class="chart' not in page and "Kendall" not in page, path
    export = client.get(f"{base}/ranking/?export=csv")
    assert export["Content-Type"].startswith("text/html") and b"Blind scoring" in export.content


def test_a_shortlist_snapshot_is_withheld_from_an_evaluator_who_did_not_submit(half_submitted, api_as, client_as):
    evaluation, candidates = half_submitted
    evaluation = early_review(api_as, evaluation)
    shortlist = submitted_shortlist(api_as, evaluation, candidates[2:])
    data = api_as("evaluator").get(f"/api/v1/shortlists/{shortlist.pk}/").json()
    snapshot = data["snapshot"]
    assert snapshot["withheld"] is True and snapshot["ranking"] == [] and snapshot["skipped_higher_ranked"] == []
    assert "scores" not in str(snapshot) and "total" not in str(snapshot)
    assert data["entries"] == [] and data["rationale"] == "" and snapshot["rationale"] == ""
    listed = api_as("evaluator").get(f"/api/v1/shortlists/?evaluation={evaluation.pk}").json()["results"]
    assert listed[0]["snapshot"]["ranking"] == []
    client = client_as("evaluator")
    page = client.get(shortlist.get_absolute_url()).content.decode()
    assert "Blind scoring" in page and "Ranking at submission" not in page and "lead on every criterion" not in page
    assert not any(name in page for name in NAMES)
    assert client.get(shortlist.get_absolute_url() + "?export=pdf").status_code == 403
    # The manager who decides sees all of it, and so does the lead.
    full = api_as("manager").get(f"/api/v1/shortlists/{shortlist.pk}/").json()["snapshot"]
    assert [row["vendor"]["name"] for row in full["ranking"]] == NAMES[::-1] and full["ranking"][0]["scores"]
    # Decided: the evaluator who was moved past may now see what the others scored.
    assert decide(api_as("manager"), shortlist).status_code == 200
    after = api_as("evaluator").get(f"/api/v1/shortlists/{shortlist.pk}/").json()["snapshot"]
    assert after["ranking"] and "withheld" not in after
    assert api_as("evaluator").get(f"/api/v1/evaluations/{evaluation.pk}/ranking/").json()["withheld"] is False


def test_an_evaluator_moved_past_stays_blind_through_a_returned_version(half_submitted, api_as):
    evaluation, candidates = half_submitted
    evaluation = early_review(api_as, evaluation)
    base = f"/api/v1/evaluations/{evaluation.pk}"
    assert api_as("evaluator").get(f"{base}/ranking/").json()["withheld"] is True
    shortlist = submitted_shortlist(api_as, evaluation, candidates[2:])
    assert decide(api_as("manager"), shortlist, "return", comment="Delta's price?").status_code == 200
    assert api_as("evaluator").get(f"{base}/ranking/").json()["withheld"] is True
    signatures = api_as("evaluator").get(f"/api/v1/shortlists/{shortlist.pk}/").json()["signatures"]
    assert [s["comment"] for s in signatures] == [""]


# --- 2. Moving to review before everyone submitted -------------------------------------------------


def test_moving_to_review_before_everyone_submitted_needs_a_recorded_reason(half_submitted, api_as, client_as):
    from core import trail

    evaluation, _ = half_submitted
    url = f"/api/v1/evaluations/{evaluation.pk}/transition/"
    refused = api_as("procurement").post(url, {"action": "start_review"}, format="json")
    assert refused.status_code == 400
    assert "not submitted" in refused.json()["reason"][0] and "confirm with a reason" in refused.json()["reason"][0]
    assert api_as("procurement").post(url, {"action": "start_review", "reason": 3}, format="json").status_code == 400
    page = client_as("procurement").post(f"/evaluations/{evaluation.pk}/transition/start_review/", follow=True)
    assert "not submitted" in page.content.decode() and "Confirm: move to review" in page.content.decode()
    assert Evaluation.objects.get(pk=evaluation.pk).status == "scoring"
    evaluation = early_review(api_as, evaluation, reason="Deadline of the steering committee.")
    assert evaluation.status == "review"
    assert evaluation.early_review_reason == "Deadline of the steering committee."
    reasons = [entry.reason for entry in trail.entries(trail.history(evaluation))]
    assert any("Deadline of the steering committee." in r and "before" in r for r in reasons)
    # The evaluator moved past can no longer submit.
    assert api_as("evaluator").post(f"/api/v1/evaluations/{evaluation.pk}/submit/").status_code == 409


def test_moving_to_review_after_everyone_submitted_needs_no_reason(reviewed):
    evaluation, _ = reviewed
    assert evaluation.status == "review" and evaluation.early_review_reason == ""


# --- 3. No reopening once a shortlist is submitted or approved --------------------------------------


def test_scoring_does_not_reopen_once_a_shortlist_is_submitted_or_approved(reviewed, api_as, client_as):
    evaluation, candidates = reviewed
    url = f"/api/v1/evaluations/{evaluation.pk}/transition/"
    lead = api_as("procurement")
    shortlist = submitted_shortlist(api_as, evaluation, candidates[2:])
    refused = lead.post(url, {"action": "reopen_scoring"}, format="json")
    assert refused.status_code == 409 and "awaits approval" in refused.json()["detail"]
    assert decide(api_as("manager"), shortlist).status_code == 200
    refused = lead.post(url, {"action": "reopen_scoring"}, format="json")
    assert refused.status_code == 409 and "new evaluation" in refused.json()["detail"]
    page = client_as("procurement").post(f"/evaluations/{evaluation.pk}/transition/reopen_scoring/", follow=True)
    assert "new evaluation" in page.content.decode()
    assert Evaluation.objects.get(pk=evaluation.pk).status == "closed"  # closed with its approved shortlist


def test_scoring_reopens_after_a_returned_version(reviewed, api_as):
    evaluation, candidates = reviewed
    shortlist = submitted_shortlist(api_as, evaluation, candidates[2:])
    assert decide(api_as("manager"), shortlist, "return", comment="Rescore transfer.").status_code == 200
    response = api_as("procurement").post(
        f"/api/v1/evaluations/{evaluation.pk}/transition/", {"action": "reopen_scoring"}, format="json"
    )
    assert response.status_code == 200 and response.json()["status"] == "scoring"


# --- 4. The approval policy belongs to the evaluation -----------------------------------------------


def test_a_new_version_keeps_the_evaluations_approval_policy(reviewed, api_as):
    evaluation, candidates = reviewed
    first = submitted_shortlist(api_as, evaluation, candidates[2:], required_approvals=2)
    assert Evaluation.objects.get(pk=evaluation.pk).required_approvals == 2  # raised by the submitted version
    assert decide(api_as("manager"), first, "return", comment="Add a third.").status_code == 200
    lead = api_as("procurement")
    lowered = propose(lead, evaluation, candidates[1:], required_approvals=1)
    assert lowered.status_code == 400 and "At least 2" in lowered.json()["required_approvals"][0]
    second = propose(lead, evaluation, candidates[1:])
    assert second.status_code == 201 and second.json()["required_approvals"] == 2
    assert lead.post(f"/api/v1/shortlists/{second.json()['id']}/submit/").status_code == 200
    second = Shortlist.objects.get(pk=second.json()["id"])
    assert second.snapshot["required_approvals"] == 2
    assert decide(api_as("manager"), second).json()["status"] == "submitted"  # one signature of two


def test_the_policy_is_set_on_the_evaluation_never_below_the_site_minimum(api_as, users, settings):
    settings.SHORTLIST_REQUIRED_APPROVALS = 2
    lead = api_as("procurement")
    refused = lead.post("/api/v1/evaluations/", {"name": "Too lax", "required_approvals": 1}, format="json")
    assert refused.status_code == 400 and "required_approvals" in refused.json()
    created = lead.post("/api/v1/evaluations/", {"name": "Strict", "required_approvals": 3}, format="json")
    assert created.status_code == 201 and created.json()["required_approvals"] == 3
    default = lead.post("/api/v1/evaluations/", {"name": "Default"}, format="json").json()
    assert default["required_approvals"] == 2
    with pytest.raises(services.ScoringError) as refusal:
        services.evaluation_create(lead=users["procurement"], name="Service", required_approvals="x")
    assert refusal.value.field == "required_approvals" and refusal.value.status == 400


def test_the_shortlist_page_offers_the_evaluations_policy(reviewed, client_as):
    evaluation, _ = reviewed
    Evaluation.objects.filter(pk=evaluation.pk).update(required_approvals=3)
    page = client_as("procurement").get(f"/evaluations/{evaluation.pk}/shortlist/").content.decode()
    assert 'name="required_approvals" type="number" min="3"' in page and 'value="3"' in page


# --- 5. Signatures bind the shortlist's vendors ------------------------------------------------------


def add_entry_behind_the_application(shortlist, candidate):
    """An entry written straight into the database, past the application and its triggers."""
    with connection.cursor() as cursor:
        cursor.execute("SET session_replication_role = replica")
        try:
            cursor.execute(
                "INSERT INTO scoring_shortlistentry (shortlist_id, candidate_id) VALUES (%s, %s)",
                [shortlist.pk, candidate.pk],
            )
        finally:
            cursor.execute("SET session_replication_role = DEFAULT")


def test_an_entry_added_after_approval_invalidates_the_signatures(reviewed, api_as, client_as):
    evaluation, candidates = reviewed
    shortlist = submitted_shortlist(api_as, evaluation, candidates[2:])
    assert decide(api_as("manager"), shortlist).status_code == 200
    assert shortlists.manifest(shortlist)[0]["valid"] is True
    add_entry_behind_the_application(shortlist, candidates[0])
    shortlist = Shortlist.objects.get(pk=shortlist.pk)
    assert shortlists.snapshot_intact(shortlist)  # the snapshot itself is untouched
    assert shortlists.chosen_candidate_ids(shortlist.snapshot) == [candidates[3].pk, candidates[2].pk]
    assert shortlists.manifest(shortlist)[0]["valid"] is False
    data = api_as("manager").get(f"/api/v1/shortlists/{shortlist.pk}/").json()
    assert data["signatures"][0]["valid"] is False
    page = client_as("manager").get(shortlist.get_absolute_url()).content.decode()
    assert "differ from the signed snapshot" in page and "INVALID" in page


def test_a_blind_evaluator_gets_no_shortlist_history(half_submitted, api_as, client_as):
    """The History tab of a shortlist shows its entries and rationale: not to a blind evaluator."""
    evaluation, candidates = half_submitted
    evaluation = early_review(api_as, evaluation)
    shortlist = submitted_shortlist(api_as, evaluation, candidates[2:])
    url = f"/history/scoring.Shortlist/{shortlist.pk}/"
    assert client_as("evaluator").get(url).status_code == 404
    assert client_as("manager").get(url).status_code == 200
    assert decide(api_as("manager"), shortlist).status_code == 200
    assert client_as("evaluator").get(url).status_code == 200
