"""Evaluations through the API: setup, weights, blind scoring, ranking, refusals."""

from decimal import Decimal

import pytest

from accounts.roles import EVALUATOR
from scoring import services
from scoring.models import Evaluation, KnockoutRule, Score
from tests.factories import PASSWORD, InspectionFactory, SiteFactory, UserFactory, VendorFactory
from vendors.models import Service

pytestmark = pytest.mark.django_db


@pytest.fixture
def team(users):
    second = UserFactory(username="evaluator2", roles=[EVALUATOR])
    return {**users, "evaluator2": second}


@pytest.fixture
def evaluation(api_as, team):
    response = api_as("procurement").post(
        "/api/v1/evaluations/",
        {
            "name": "Peptide API for Phase II",
            "modality": "peptide",
            "phase": "phase-2",
            "required_services": ["process-development", "api-manufacturing"],
            "scale_unit": "kg",
            "scale_min": "1",
            "scale_max": "10",
            "launch_scale": "100",
            "evaluators": ["evaluator", "evaluator2"],
            "target_agencies": ["FDA", "EMA"],
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    return Evaluation.objects.get(pk=response.json()["id"])


def add_candidates(api_as, evaluation, count=3):
    vendors = []
    for i in range(count):
        vendor = VendorFactory(name=f"Cand {i}")
        vendor.services.set(Service.objects.filter(code__in=["process-development", "api-manufacturing"]))
        site = SiteFactory(vendor=vendor, scale_min=Decimal("0.5"), scale_max=Decimal(20 * (i + 1)), scale_unit="kg")
        InspectionFactory(site=site, classification=["NAI", "VAI", "OAI"][i % 3])
        response = api_as("procurement").post(
            f"/api/v1/evaluations/{evaluation.pk}/candidates/", {"vendor": vendor.pk}, format="json"
        )
        assert response.status_code == 201, response.content
        vendors.append(vendor)
    return vendors


def test_create_gives_default_scorecard_and_equal_weights(api_as, evaluation):
    data = api_as("procurement").get(f"/api/v1/evaluations/{evaluation.pk}/").json()
    assert [c["key"] for c in data["criteria"]] == [
        "scope_fit",
        "regulatory_track_record",
        "scale_flexibility",
        "technology_transfer",
        "quality_systems",
        "cultural_fit",
    ]
    assert all(c["rubric_1"] and c["rubric_5"] for c in data["criteria"])
    weights = api_as("procurement").get(f"/api/v1/evaluations/{evaluation.pk}/weights/").json()
    assert sum(weights[0]["percents"].values()) == pytest.approx(100, abs=0.001)


def test_only_procurement_creates_and_only_team_and_managers_see(api_as, evaluation):
    assert api_as("evaluator").post("/api/v1/evaluations/", {"name": "x"}, format="json").status_code == 403
    assert api_as("auditor").get(f"/api/v1/evaluations/{evaluation.pk}/").status_code == 404
    assert api_as("manager").get(f"/api/v1/evaluations/{evaluation.pk}/").status_code == 200
    assert api_as("evaluator").get(f"/api/v1/evaluations/{evaluation.pk}/").status_code == 200
    assert len(api_as("auditor").get("/api/v1/evaluations/").json()["results"]) == 0
    other_lead = UserFactory(username="lead2", roles=["Procurement lead"])
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_authenticate(other_lead)
    assert client.get(f"/api/v1/evaluations/{evaluation.pk}/").status_code == 404


@pytest.mark.parametrize(
    ("percents", "field_message"),
    [
        (
            {
                "scope_fit": 50,
                "regulatory_track_record": 50,
                "scale_flexibility": 10,
                "technology_transfer": 0,
                "quality_systems": 0,
                "cultural_fit": 0,
            },
            "add up to 110",
        ),
        (
            {
                "scope_fit": 110,
                "regulatory_track_record": -10,
                "scale_flexibility": 0,
                "technology_transfer": 0,
                "quality_systems": 0,
                "cultural_fit": 0,
            },
            "zero or more",
        ),
        ({"scope_fit": 100}, "missing"),
    ],
)
def test_direct_weights_refused(api_as, evaluation, percents, field_message):
    response = api_as("procurement").post(
        f"/api/v1/evaluations/{evaluation.pk}/weights/", {"method": "direct", "percents": percents}, format="json"
    )
    assert response.status_code == 400
    assert field_message in str(response.json())
    assert evaluation.weight_sets.count() == 1


def test_ahp_weights_consistency_gate(api_as, evaluation):
    client = api_as("procurement")
    url = f"/api/v1/evaluations/{evaluation.pk}/weights/"
    consistent = [
        [1, 2, 2, 4, 1, 4],
        [1 / 2, 1, 1, 2, 1 / 2, 2],
        [1 / 2, 1, 1, 2, 1 / 2, 2],
        [1 / 4, 1 / 2, 1 / 2, 1, 1 / 4, 1],
        [1, 2, 2, 4, 1, 4],
        [1 / 4, 1 / 2, 1 / 2, 1, 1 / 4, 1],
    ]
    response = client.post(url, {"method": "ahp", "pairwise": consistent}, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["consistency_ratio"] == pytest.approx(0, abs=1e-6)
    assert response.json()["percents"]["scope_fit"] == pytest.approx(100 * 4 / 14, abs=0.001)
    assert sum(response.json()["percents"].values()) == pytest.approx(100, abs=1e-9)
    inconsistent = [row[:] for row in consistent]
    inconsistent[0][3], inconsistent[3][0] = 1 / 9, 9
    refused = client.post(url, {"method": "ahp", "pairwise": inconsistent}, format="json")
    assert refused.status_code == 400 and "CR =" in str(refused.json())
    # CR 0.336 > 0.20: refused whatever the justification; the answer names the worst judgment.
    refused = client.post(
        url,
        {"method": "ahp", "pairwise": inconsistent, "justification": "Regulatory input.", "password": PASSWORD},
        format="json",
    )
    assert refused.status_code == 400 and "you said 1/9, consistent would be 1/2" in refused.json()["pairwise"][0]
    inconsistent[0][3], inconsistent[3][0] = 1 / 3, 3  # CR 0.138: a sentence and the password
    accepted = client.post(
        url,
        {
            "method": "ahp",
            "pairwise": inconsistent,
            "justification": "Regulatory affairs asked for this order.",
            "password": PASSWORD,
        },
        format="json",
    )
    assert accepted.status_code == 201
    bad = client.post(url, {"method": "ahp", "pairwise": [[1, 12], [1 / 12, 1]]}, format="json")
    assert bad.status_code == 400
    nonreciprocal = [row[:] for row in consistent]
    nonreciprocal[1][0] = 3
    assert client.post(url, {"method": "ahp", "pairwise": nonreciprocal}, format="json").status_code == 400


def test_full_blind_scoring_flow(api_as, evaluation, team):
    from rest_framework.test import APIClient

    lead, e1, e2 = api_as("procurement"), api_as("evaluator"), APIClient()
    e2.force_authenticate(team["evaluator2"])
    base = f"/api/v1/evaluations/{evaluation.pk}"
    vendors = add_candidates(api_as, evaluation)
    # Scoring is not open yet.
    candidates = {c["vendor"]: c["id"] for c in lead.get(f"{base}/candidates/").json()}
    criteria = {c["key"]: c["id"] for c in lead.get(f"{base}/").json()["criteria"]}
    judged = ["technology_transfer", "quality_systems", "cultural_fit"]
    early = e1.post(
        f"{base}/scores/",
        {"candidate": candidates[vendors[0].pk], "criterion": criteria["cultural_fit"], "value": 3},
        format="json",
    )
    assert early.status_code == 409 and "only while scoring is open" in early.json()["detail"]
    assert e1.post(f"{base}/transition/", {"action": "start_scoring"}, format="json").status_code == 403
    assert lead.post(f"{base}/transition/", {"action": "close"}, format="json").status_code == 409
    assert lead.post(f"{base}/transition/", {"action": "start_scoring"}, format="json").status_code == 200
    # Weights are now locked: a change needs a reason.
    percents = {k: Decimal(100) / 6 for k in criteria}
    assert (
        lead.post(
            f"{base}/weights/",
            {"method": "direct", "percents": {k: "20" if k == "scope_fit" else "16" for k in criteria}},
            format="json",
        ).status_code
        == 400
    )
    for client, offset in ((e1, 0), (e2, 1)):
        for vendor in vendors:
            for j, key in enumerate(judged):
                value = 1 + (vendors.index(vendor) * 2 + j + offset) % 5
                response = client.post(
                    f"{base}/scores/",
                    {"candidate": candidates[vendor.pk], "criterion": criteria[key], "value": value},
                    format="json",
                )
                assert response.status_code == 200, response.content
    # Off-scale and derived cells are refused.
    assert (
        e1.post(
            f"{base}/scores/",
            {"candidate": candidates[vendors[0].pk], "criterion": criteria["cultural_fit"], "value": 6},
            format="json",
        ).status_code
        == 400
    )
    derived = e1.post(
        f"{base}/scores/",
        {"candidate": candidates[vendors[0].pk], "criterion": criteria["scope_fit"], "value": 3},
        format="json",
    )
    assert derived.status_code == 400 and "derived" in str(derived.json())
    # Blind: evaluator 1 sees only own scores and no ranking before submitting.
    assert {s["evaluator"] for s in e1.get(f"{base}/scores/").json()} == {"evaluator"}
    assert e1.get(f"{base}/ranking/").json()["withheld"] is True
    assert e1.post(f"{base}/submit/").status_code == 201
    assert e1.post(f"{base}/submit/").status_code == 409
    assert {s["evaluator"] for s in e1.get(f"{base}/scores/").json()} == {"evaluator", "evaluator2"}
    after = e1.post(
        f"{base}/scores/",
        {"candidate": candidates[vendors[0].pk], "criterion": criteria["cultural_fit"], "value": 2},
        format="json",
    )
    assert after.status_code == 409
    ranking = lead.get(f"{base}/ranking/").json()
    assert ranking["withheld"] is False
    rows = ranking["rows"]
    assert len(rows) == 3
    assert [r["rank"] for r in rows if r["rank"]] == sorted(r["rank"] for r in rows if r["rank"])
    for row in rows:
        assert row["complete"]
        assert sum(row["contributions"].values()) == pytest.approx(row["total"])
        regulatory = next(c for c in row["cells"] if c["criterion"] == "regulatory_track_record")
        assert regulatory["derived"] and regulatory["evidence"] and regulatory["formula"]
    sensitivity = lead.get(f"{base}/sensitivity/").json()
    assert set(sensitivity["tipping_points"]) == set(criteria)
    for _name, shares in sensitivity["acceptability"].items():
        assert sum(shares) == pytest.approx(1)
    # A later weight change needs a reason, and makes a new version.
    changed = lead.post(
        f"{base}/weights/",
        {
            "method": "direct",
            "reason": "QA asked for more weight on quality",
            "percents": {k: "25" if k == "quality_systems" else "15" for k in criteria},
        },
        format="json",
    )
    assert changed.status_code == 201 and changed.json()["version"] == 2
    assert lead.get(f"{base}/ranking/").json()["weights_version"] == 2
    del percents


def test_missing_scores_are_never_zero(api_as, evaluation):
    lead, e1 = api_as("procurement"), api_as("evaluator")
    base = f"/api/v1/evaluations/{evaluation.pk}"
    add_candidates(api_as, evaluation, 2)
    lead.post(f"{base}/transition/", {"action": "start_scoring"}, format="json")
    candidates = [c["id"] for c in lead.get(f"{base}/candidates/").json()]
    criteria = {c["key"]: c["id"] for c in lead.get(f"{base}/").json()["criteria"]}
    for key in ("technology_transfer", "quality_systems", "cultural_fit"):
        e1.post(f"{base}/scores/", {"candidate": candidates[0], "criterion": criteria[key], "value": 5}, format="json")
    e1.post(
        f"{base}/scores/",
        {"candidate": candidates[1], "criterion": criteria["cultural_fit"], "value": 5},
        format="json",
    )
    rows = {r["candidate"]: r for r in lead.get(f"{base}/ranking/").json()["rows"]}
    assert rows[candidates[1]]["total"] is None and rows[candidates[1]]["rank"] is None
    assert rows[candidates[1]]["complete"] is False
    missing = next(c for c in rows[candidates[1]]["cells"] if c["criterion"] == "quality_systems")
    assert missing["value"] is None
    assert e1.post(f"{base}/submit/").status_code == 409


def test_concurrent_edit_is_refused_not_lost(api_as, evaluation):
    lead, e1 = api_as("procurement"), api_as("evaluator")
    base = f"/api/v1/evaluations/{evaluation.pk}"
    add_candidates(api_as, evaluation, 1)
    lead.post(f"{base}/transition/", {"action": "start_scoring"}, format="json")
    candidate = lead.get(f"{base}/candidates/").json()[0]["id"]
    criterion = lead.get(f"{base}/").json()["criteria"][5]["id"]
    first = e1.post(
        f"{base}/scores/", {"candidate": candidate, "criterion": criterion, "value": 3}, format="json"
    ).json()
    window_a = e1.post(
        f"{base}/scores/",
        {"candidate": candidate, "criterion": criterion, "value": 4, "revision": first["revision"]},
        format="json",
    )
    assert window_a.status_code == 200
    window_b = e1.post(
        f"{base}/scores/",
        {"candidate": candidate, "criterion": criterion, "value": 2, "revision": first["revision"]},
        format="json",
    )
    assert window_b.status_code == 409
    assert Score.objects.get().value == 4


def test_knockouts_and_override(api_as, evaluation):
    lead = api_as("procurement")
    base = f"/api/v1/evaluations/{evaluation.pk}"
    vendors = add_candidates(api_as, evaluation, 3)
    # The default gates are on from the start; turning one off needs a recorded reason.
    gates = lead.get(f"{base}/knockouts/").json()
    assert set(gates["rules"]) == set(KnockoutRule.DEFAULT_ON) and all(g["years"] == 2 for g in gates["gates"])
    fewer = {"rules": {"no_red_flags": 5, "scale_range": None}}
    refused = lead.post(f"{base}/knockouts/", fewer, format="json")
    assert refused.status_code == 400 and "Record why" in str(refused.json()["reason"])
    assert set(lead.get(f"{base}/knockouts/").json()["rules"]) == set(KnockoutRule.DEFAULT_ON)  # nothing changed
    response = lead.post(f"{base}/knockouts/", {**fewer, "reason": "Services judged in the RFP."}, format="json")
    assert response.status_code == 200 and response.json()["rules"] == {"no_red_flags": 5, "scale_range": 5}
    off = {g["rule"]: g for g in response.json()["gates"]}["all_services"]
    assert not off["enabled"] and off["off_reason"] == "Services judged in the RFP."
    assert lead.post(f"{base}/knockouts/", {"rules": {"astrology": 1}}, format="json").status_code == 400
    rows = {r["vendor_name"]: r for r in lead.get(f"{base}/ranking/").json()["rows"]}
    assert rows["Cand 2"]["knocked_out"] and "OAI" in rows["Cand 2"]["knockouts"][0]
    assert not rows["Cand 0"]["knocked_out"]
    candidate = rows["Cand 2"]["candidate"]
    assert (
        api_as("evaluator").post(f"{base}/candidates/{candidate}/override/", {"reason": "x"}, format="json").status_code
        == 403
    )
    assert lead.post(f"{base}/candidates/{candidate}/override/", {"reason": ""}, format="json").status_code == 400
    assert (
        lead.post(
            f"{base}/candidates/{candidate}/override/", {"reason": "CAPA verified closed"}, format="json"
        ).status_code
        == 200
    )
    rows = {r["vendor_name"]: r for r in lead.get(f"{base}/ranking/").json()["rows"]}
    assert not rows["Cand 2"]["knocked_out"] and rows["Cand 2"]["knockout_override"] == "CAPA verified closed"
    assert lead.post(f"{base}/candidates/", {"vendor": vendors[0].pk}, format="json").status_code == 409


def test_derived_override_needs_justification(api_as, evaluation):
    lead = api_as("procurement")
    base = f"/api/v1/evaluations/{evaluation.pk}"
    add_candidates(api_as, evaluation, 1)
    candidate = lead.get(f"{base}/candidates/").json()[0]["id"]
    criterion = lead.get(f"{base}/").json()["criteria"][1]["id"]
    assert (
        api_as("evaluator")
        .post(
            f"{base}/derived-override/",
            {"candidate": candidate, "criterion": criterion, "value": 2, "justification": ""},
            format="json",
        )
        .status_code
        == 400
    )
    ok = api_as("evaluator").post(
        f"{base}/derived-override/",
        {
            "candidate": candidate,
            "criterion": criterion,
            "value": 2,
            "justification": "Import alert not in the dashboard",
        },
        format="json",
    )
    assert ok.status_code == 200
    cell = lead.get(f"{base}/ranking/").json()["rows"][0]["cells"][1]
    assert cell["overridden"] and cell["value"] == 2


@pytest.mark.parametrize(("candidates", "evaluators"), [(3, 1), (30, 6)])
def test_ranking_query_count_is_bounded(
    api_as, client_as, evaluation, django_assert_max_num_queries, candidates, evaluators
):
    add_candidates(api_as, evaluation, candidates)
    team = [UserFactory(username=f"extra-evaluator-{i}", roles=[EVALUATOR]) for i in range(evaluators)]
    evaluation.evaluators.set(team)
    evaluation = services.evaluation_transition(evaluation=evaluation, user=evaluation.lead, action="start_scoring")
    for user in team:
        for candidate in evaluation.candidates.all():
            for criterion in evaluation.scored_criteria():
                services.score_save(
                    evaluation=evaluation, user=user, candidate_id=candidate.pk, criterion_id=criterion.pk, value=3
                )
    client = api_as("procurement")
    with django_assert_max_num_queries(29):
        assert client.get(f"/api/v1/evaluations/{evaluation.pk}/ranking/").status_code == 200
    with django_assert_max_num_queries(12):
        assert client.get("/api/v1/evaluations/").status_code == 200
    page_client = client_as("procurement")
    with django_assert_max_num_queries(33):
        assert page_client.get(f"/evaluations/{evaluation.pk}/ranking/").status_code == 200
    with django_assert_max_num_queries(29):
        assert client.get(f"/api/v1/evaluations/{evaluation.pk}/sensitivity/").status_code == 200


def test_scorecard_editing_in_draft_only(api_as, evaluation):
    lead = api_as("procurement")
    base = f"/api/v1/evaluations/{evaluation.pk}"
    added = lead.post(
        f"{base}/criteria/",
        {"name": "Cost and pricing model", "rubric_1": "opaque", "rubric_5": "clear"},
        format="json",
    )
    assert added.status_code == 201, added.content
    assert lead.post(f"{base}/criteria/", {"name": "cost and pricing model"}, format="json").status_code == 400
    weights = lead.get(f"{base}/weights/").json()[0]
    assert weights["percents"]["cost_and_pricing_model"] == 0 and weights["version"] == 2
    renamed = lead.patch(f"{base}/criteria/{added.json()['id']}/", {"name": "Commercial terms"}, format="json")
    assert renamed.status_code == 200 and renamed.json()["name"] == "Commercial terms"
    culture = next(c for c in lead.get(f"{base}/").json()["criteria"] if c["key"] == "cultural_fit")
    assert lead.delete(f"{base}/criteria/{culture['id']}/").status_code == 204
    latest = lead.get(f"{base}/weights/").json()[0]
    assert "cultural_fit" not in latest["percents"]
    assert sum(latest["percents"].values()) == pytest.approx(100, abs=1e-9)
    assert api_as("evaluator").post(f"{base}/criteria/", {"name": "X"}, format="json").status_code == 403
    add_candidates(api_as, evaluation, 1)
    lead.post(f"{base}/transition/", {"action": "start_scoring"}, format="json")
    assert lead.post(f"{base}/criteria/", {"name": "Late"}, format="json").status_code == 409


def test_sub_criteria_roll_up_into_their_criterion(api_as, evaluation):
    lead, e1 = api_as("procurement"), api_as("evaluator")
    base = f"/api/v1/evaluations/{evaluation.pk}"
    criteria = {c["key"]: c["id"] for c in lead.get(f"{base}/").json()["criteria"]}
    quality = criteria["quality_systems"]
    a = lead.post(f"{base}/criteria/", {"name": "CAPA handling", "parent": quality, "local_weight": 3}, format="json")
    b = lead.post(f"{base}/criteria/", {"name": "Data integrity", "parent": quality, "local_weight": 1}, format="json")
    assert a.status_code == 201 and b.status_code == 201, (a.content, b.content)
    assert (
        lead.post(f"{base}/criteria/", {"name": "X", "parent": criteria["scope_fit"]}, format="json").status_code == 400
    )
    assert lead.post(f"{base}/criteria/", {"name": "Y", "parent": a.json()["id"]}, format="json").status_code == 400
    assert (
        lead.post(f"{base}/criteria/", {"name": "Z", "parent": quality, "local_weight": 0}, format="json").status_code
        == 400
    )
    assert lead.get(f"{base}/weights/").json()[0]["version"] == 1  # sub-criteria carry no evaluation weight
    add_candidates(api_as, evaluation, 1)
    lead.post(f"{base}/transition/", {"action": "start_scoring"}, format="json")
    candidate = lead.get(f"{base}/candidates/").json()[0]["id"]
    parent_score = e1.post(f"{base}/scores/", {"candidate": candidate, "criterion": quality, "value": 3}, format="json")
    assert parent_score.status_code == 400 and "sub-criteria" in str(parent_score.json())
    e1.post(f"{base}/scores/", {"candidate": candidate, "criterion": a.json()["id"], "value": 5}, format="json")
    row = lead.get(f"{base}/ranking/").json()["rows"][0]
    cell = next(c for c in row["cells"] if c["criterion"] == "quality_systems")
    assert cell["value"] is None  # one sub-criterion still missing
    e1.post(f"{base}/scores/", {"candidate": candidate, "criterion": b.json()["id"], "value": 1}, format="json")
    row = lead.get(f"{base}/ranking/").json()["rows"][0]
    cell = next(c for c in row["cells"] if c["criterion"] == "quality_systems")
    assert cell["value"] == pytest.approx((3 * 5 + 1 * 1) / 4)
