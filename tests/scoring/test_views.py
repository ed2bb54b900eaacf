"""Evaluation pages: who sees what, the scoring grid saving cell by cell, charts and exports."""

import io

import pytest
from openpyxl import load_workbook

from scoring import services
from scoring.models import Score
from tests.factories import InspectionFactory, SiteFactory, UserFactory, VendorFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def scored(users):
    lead, evaluator = users["procurement"], users["evaluator"]
    second = UserFactory(username="evaluator2", roles=["Evaluator"])
    evaluation = services.evaluation_create(lead=lead, name="<b>Sterile</b> fill", evaluators=[evaluator, second])
    candidates = []
    for i in range(4):
        site = SiteFactory(vendor=VendorFactory(name=f"Vendor <i>{i}</i>"))
        InspectionFactory(site=site, classification="NAI" if i else "VAI")
        candidates.append(services.candidate_add(evaluation=evaluation, user=lead, vendor=site.vendor))
    evaluation = services.evaluation_transition(evaluation=evaluation, user=lead, action="start_scoring")
    for user in (evaluator, second):
        for i, candidate in enumerate(candidates):
            for criterion in evaluation.criteria.filter(evidence=""):
                services.score_save(
                    evaluation=evaluation,
                    user=user,
                    candidate_id=candidate.pk,
                    criterion_id=criterion.pk,
                    value=1 + (i + criterion.position) % 5,
                )
    services.evaluator_submit(evaluation=evaluation, user=second)
    return evaluation, candidates


PAGES = ["", "ranking/", "sensitivity/", "compare/"]


@pytest.mark.parametrize("page", PAGES)
@pytest.mark.parametrize(
    ("role", "status"), [("procurement", 200), ("manager", 200), ("evaluator", 200), ("auditor", 404), ("admin", 404)]
)
def test_page_visibility(client_as, scored, page, role, status):
    evaluation, _ = scored
    assert client_as(role).get(f"/evaluations/{evaluation.pk}/{page}").status_code == status


def test_ids_that_are_digits_but_not_numbers_do_not_break_pages(client_as, scored):
    evaluation, _ = scored
    client = client_as("procurement")
    assert client.get(f"/evaluations/{evaluation.pk}/compare/?c=%C2%B2&c=%D9%A1").status_code == 200  # "²", "١"


def test_grid_only_for_evaluators_and_blind_until_submitted(client_as, scored):
    evaluation, _ = scored
    assert client_as("procurement").get(f"/evaluations/{evaluation.pk}/score/").status_code == 403
    client = client_as("evaluator")
    assert client.get(f"/evaluations/{evaluation.pk}/score/").status_code == 200
    ranking = client.get(f"/evaluations/{evaluation.pk}/ranking/").content.decode()
    assert "Blind scoring" in ranking and "Vendor &lt;i&gt;0" not in ranking


def test_ranking_page_shows_charts_escaped_text_and_exports(client_as, scored, django_assert_max_num_queries):
    evaluation, _ = scored
    client = client_as("procurement")
    with django_assert_max_num_queries(26):
        page = client.get(f"/evaluations/{evaluation.pk}/ranking/").content.decode()
    assert "<svg" in page and "Vendor &lt;i&gt;1&lt;/i&gt;" in page and "<i>1</i>" not in page
    assert "&lt;b&gt;Sterile&lt;/b&gt;" in page
    sensitivity = client.get(f"/evaluations/{evaluation.pk}/sensitivity/").content.decode()
    assert "Tipping points" in sensitivity and "Rank acceptability" in sensitivity
    workbook = load_workbook(io.BytesIO(client.get(f"/evaluations/{evaluation.pk}/ranking/?export=xlsx").content))
    sheet = workbook.active
    assert sheet["A1"].value == "rank" and sheet.max_row == 5
    csv_text = client.get(f"/evaluations/{evaluation.pk}/ranking/?export=csv").content.decode("utf-8-sig")
    assert csv_text.splitlines()[0].startswith("rank,vendor,total")


def test_grid_cell_saves_and_refuses_stale_revision(client_as, users):
    lead, evaluator = users["procurement"], users["evaluator"]
    evaluation = services.evaluation_create(lead=lead, name="Grid", evaluators=[evaluator])
    candidate = services.candidate_add(evaluation=evaluation, user=lead, vendor=VendorFactory())
    evaluation = services.evaluation_transition(evaluation=evaluation, user=lead, action="start_scoring")
    criterion = evaluation.criteria.filter(evidence="").first()
    client = client_as("evaluator")
    url = f"/evaluations/{evaluation.pk}/score/cell/"
    response = client.post(
        url, {"candidate": candidate.pk, "criterion": criterion.pk, "value": "4"}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200 and "saved" in response.content.decode()
    assert Score.objects.get().value == 4
    stale = client.post(url, {"candidate": candidate.pk, "criterion": criterion.pk, "value": "2", "revision": "1"})
    assert "saved" in stale.content.decode()
    assert Score.objects.get().revision == 2
    conflict = client.post(url, {"candidate": candidate.pk, "criterion": criterion.pk, "value": "5", "revision": "1"})
    assert "changed elsewhere" in conflict.content.decode()
    assert Score.objects.get().value == 2
    off_scale = client.post(url, {"candidate": candidate.pk, "criterion": criterion.pk, "value": "9", "revision": "2"})
    assert "whole numbers from 1 to 5" in off_scale.content.decode()
    assert client.post(url, {"candidate": "x", "criterion": criterion.pk, "value": "3"}).status_code == 400
    other = client_as("manager").post(url, {"candidate": candidate.pk, "criterion": criterion.pk, "value": "3"})
    assert other.status_code == 403 and Score.objects.get().value == 2


def test_lead_manages_evaluation_from_the_page(client_as, users):
    client = client_as("procurement")
    response = client.post(
        "/evaluations/new/",
        {"name": "Oral solid CMO", "aggregation": "median", "evaluators": [users["evaluator"].pk], "scale_min": "5"},
    )
    assert response.status_code == 200 and "Give the unit" in response.content.decode()
    response = client.post(
        "/evaluations/new/", {"name": "Oral solid CMO", "aggregation": "median", "evaluators": [users["evaluator"].pk]}
    )
    assert response.status_code == 302
    url = response["Location"]
    vendor = VendorFactory()
    client.post(url, {"action": "add_candidate", "vendor": vendor.pk})
    page = client.get(url).content.decode()
    assert vendor.name in page
    client.post(
        url,
        {
            "action": "weights_direct",
            **{
                f"weight_{k}": v
                for k, v in zip(
                    [
                        "scope_fit",
                        "regulatory_track_record",
                        "scale_flexibility",
                        "technology_transfer",
                        "quality_systems",
                        "cultural_fit",
                    ],
                    ["30", "30", "10", "10", "10", "5"],
                    strict=True,
                )
            },
        },
    )
    page = client.get(url).content.decode()
    assert "add up to 95" in page
    client.post(url, {"action": "weights_ahp", **{f"ahp_{i}_{j}": "1" for i in range(6) for j in range(i + 1, 6)}})
    assert "AHP pairwise" in client.get(url).content.decode()
    client.post(url, {"action": "start_scoring"})
    assert "Scoring" in client.get(url).content.decode()
    assert client_as("evaluator").post(url, {"action": "close"}).status_code == 403


def test_sub_criterion_from_the_page_and_in_the_grid(client_as, users):
    lead, evaluator = users["procurement"], users["evaluator"]
    evaluation = services.evaluation_create(lead=lead, name="Subs", evaluators=[evaluator])
    quality = evaluation.criteria.get(key="quality_systems")
    client = client_as("procurement")
    client.post(
        f"/evaluations/{evaluation.pk}/",
        {"action": "add_criterion", "parent": quality.pk, "name": "Deviation management", "local_weight": "2"},
    )
    sub = evaluation.criteria.get(parent=quality)
    assert sub.local_weight == 2
    services.candidate_add(evaluation=evaluation, user=lead, vendor=VendorFactory())
    services.evaluation_transition(evaluation=evaluation, user=lead, action="start_scoring")
    grid = client_as("evaluator").get(f"/evaluations/{evaluation.pk}/score/").content.decode()
    assert "Deviation management" in grid and "Quality systems ›" in grid


def test_override_derived_score_from_the_ranking_page(client_as, scored):
    evaluation, candidates = scored
    regulatory = evaluation.criteria.get(key="regulatory_track_record")
    client = client_as("evaluator")
    url = f"/evaluations/{evaluation.pk}/ranking/"
    response = client.post(
        url, {"candidate": candidates[0].pk, "criterion": regulatory.pk, "value": "2", "justification": ""}, follow=True
    )
    assert "justification is required" in response.content.decode()
    response = client.post(
        url,
        {
            "candidate": candidates[0].pk,
            "criterion": regulatory.pk,
            "value": "2",
            "justification": "Import alert 66-40",
        },
        follow=True,
    )
    assert "overridden" in response.content.decode()
    assert client_as("auditor").post(url, {"candidate": candidates[0].pk}).status_code == 404


def test_grid_refuses_a_bad_evidence_link(client_as, users):
    lead, evaluator = users["procurement"], users["evaluator"]
    evaluation = services.evaluation_create(lead=lead, name="Links", evaluators=[evaluator])
    candidate = services.candidate_add(evaluation=evaluation, user=lead, vendor=VendorFactory())
    evaluation = services.evaluation_transition(evaluation=evaluation, user=lead, action="start_scoring")
    criterion = evaluation.criteria.filter(evidence="").first()
    url = f"/evaluations/{evaluation.pk}/score/cell/"
    bad = client_as("evaluator").post(
        url, {"candidate": candidate.pk, "criterion": criterion.pk, "value": "3", "evidence_url": "javascript:alert(1)"}
    )
    assert "http(s) address" in bad.content.decode() and not Score.objects.exists()
    good = client_as("evaluator").post(
        url,
        {
            "candidate": candidate.pk,
            "criterion": criterion.pk,
            "value": "3",
            "evidence_url": "https://docs.example/audit.pdf",
        },
    )
    assert "saved" in good.content.decode() and Score.objects.get().evidence_url == "https://docs.example/audit.pdf"


def test_suggestions_follow_kinds_modality_and_scale(users):
    from decimal import Decimal

    from scoring.selectors import candidate_suggestions
    from vendors.models import Kind, Modality

    lead = users["procurement"]
    peptide = Modality.objects.get(code="peptide")
    evaluation = services.evaluation_create(
        lead=lead,
        name="Sugg",
        modality=peptide,
        scale_unit="kg",
        scale_min=Decimal(1),
        scale_max=Decimal(10),
        allowed_kinds=list(Kind.objects.filter(code="CDMO")),
    )
    fits = VendorFactory(name="Fits", kinds=["CDMO"])
    fits.modalities.add(peptide)
    SiteFactory(vendor=fits, scale_min=Decimal("0.5"), scale_max=Decimal(50), scale_unit="kg")
    too_small = VendorFactory(name="Too small", kinds=["CDMO"])
    too_small.modalities.add(peptide)
    SiteFactory(vendor=too_small, scale_min=Decimal(1), scale_max=Decimal(2000), scale_unit="g")
    wrong_kind = VendorFactory(name="Wrong kind", kinds=["CRO"])
    wrong_kind.modalities.add(peptide)
    SiteFactory(vendor=wrong_kind, scale_min=Decimal("0.5"), scale_max=Decimal(50), scale_unit="kg")
    suggested, _ = candidate_suggestions(evaluation)
    assert [v.name for v in suggested] == ["Fits"]
