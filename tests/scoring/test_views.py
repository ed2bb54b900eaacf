"""Evaluation pages: who sees what, the scoring grid saving cell by cell, charts and exports."""

import io

import pgtrigger
import pytest
from openpyxl import load_workbook

from scoring import services
from scoring.models import KnockoutRule, Score, Shortlist
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
    with django_assert_max_num_queries(33):
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
    client.post(f"{url}candidates/", {"vendor": vendor.pk})
    page = client.get(url).content.decode()
    assert vendor.name in page
    response = client.post(
        f"{url}weights/direct/",
        {
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
    # Refused: the page again, with the typed weights and the message in the form.
    assert response.status_code == 200 and "add up to 95" in response.content.decode()
    assert 'name="weight_cultural_fit" value="5"' in response.content.decode()
    client.post(f"{url}weights/ahp/", {f"ahp_{i}_{j}": "1" for i in range(6) for j in range(i + 1, 6)})
    assert "AHP pairwise" in client.get(url).content.decode()
    client.post(f"{url}transition/start_scoring/", {})
    assert "Scoring" in client.get(url).content.decode()
    assert client.post(f"{url}transition/explode/").status_code == 404
    assert client.get(f"{url}transition/close/").status_code == 405
    assert client_as("evaluator").post(f"{url}transition/close/").status_code == 403


def test_sub_criterion_from_the_page_and_in_the_grid(client_as, users):
    lead, evaluator = users["procurement"], users["evaluator"]
    evaluation = services.evaluation_create(lead=lead, name="Subs", evaluators=[evaluator])
    quality = evaluation.criteria.get(key="quality_systems")
    client = client_as("procurement")
    client.post(
        f"/evaluations/{evaluation.pk}/criteria/",
        {"parent": quality.pk, "name": "Deviation management", "local_weight": "2"},
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
    url = f"/evaluations/{evaluation.pk}/overrides/"
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

    from scoring.services import candidate_suggestions
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


def test_grid_names_the_criteria_this_evaluation_derives_from_evidence(client_as, users):
    lead, evaluator = users["procurement"], users["evaluator"]
    evaluation = services.evaluation_create(lead=lead, name="Sources", evaluators=[evaluator])
    client = client_as("procurement")
    quality = evaluation.criteria.get(key="quality_systems")
    client.post(
        f"/evaluations/{evaluation.pk}/criteria/{quality.pk}/",
        {
            "name": "<b>Quality</b> systems",
            "evidence": "quality",
        },
    )
    services.candidate_add(evaluation=evaluation, user=lead, vendor=VendorFactory())
    services.evaluation_transition(evaluation=evaluation, user=lead, action="start_scoring")
    grid = client_as("evaluator").get(f"/evaluations/{evaluation.pk}/score/").content.decode()
    assert (
        "Derived from evidence, so not scored here: Scope fit, Regulatory track record, Scale flexibility, "
        "&lt;b&gt;Quality&lt;/b&gt; systems." in grid
    )
    assert 'aria-label="&lt;b&gt;Quality&lt;/b&gt; systems score for' not in grid  # no longer in the grid


def test_grid_says_nothing_of_derived_criteria_when_there_are_none(client_as, users):
    lead, evaluator = users["procurement"], users["evaluator"]
    evaluation = services.evaluation_create(lead=lead, name="All judged", evaluators=[evaluator])
    for criterion in evaluation.criteria.exclude(evidence=""):
        services.criterion_update(criterion=criterion, user=lead, evidence="")
    services.candidate_add(evaluation=evaluation, user=lead, vendor=VendorFactory())
    services.evaluation_transition(evaluation=evaluation, user=lead, action="start_scoring")
    grid = client_as("evaluator").get(f"/evaluations/{evaluation.pk}/score/").content.decode()
    assert "Regulatory track record score for" in grid  # now judged by the evaluators
    assert "derived from evidence" not in grid.lower()


def test_criteria_that_do_not_apply_read_as_not_applicable_not_missing(client_as, scored):
    evaluation, candidates = scored
    # No required scope and no batch-size range: scope fit and scale flexibility are left out.
    # The first candidate's only inspection is then removed: its regulatory record is really missing.
    candidates[0].vendor.sites.get().inspections.all().delete()
    client = client_as("procurement")
    ranking = client.get(f"/evaluations/{evaluation.pk}/ranking/").content.decode()
    assert ranking.count('class="score-na"') == 2 * len(candidates)
    assert ranking.count('class="score-missing"') == 1 and "Never counted as zero" in ranking
    assert "Not applicable: the evaluation sets no batch-size range" in ranking
    assert (
        "Not applicable: the evaluation requires no program step, services, modality, dosage form or phase" in ranking
    )
    assert "Scale flexibility (the evaluation sets no batch-size range)" in ranking  # the note above the table
    compare = client.get(f"/evaluations/{evaluation.pk}/compare/?" + "&".join(f"c={c.pk}" for c in candidates))
    compare = compare.content.decode()
    table = compare[compare.index("<table") :]
    assert table.count('class="score-na"') == 2 * len(candidates) and table.count('class="score-missing"') == 1
    assert "The evaluation sets no batch-size range: left out at weight 0" in table
    radar = compare[compare.index('<svg class="chart radar"') : compare.index("</svg>", compare.index("chart radar"))]
    assert "Scale flexibility" not in radar and "Scope fit" not in radar and "Quality systems" in radar


def test_shortlist_snapshot_shows_criteria_that_do_not_apply(client_as, reviewed):
    from scoring import shortlists

    evaluation, candidates = reviewed
    lead = evaluation.lead
    shortlist = shortlists.shortlist_propose(evaluation=evaluation, user=lead, candidate_ids=[candidates[3].pk])
    shortlist = shortlists.shortlist_submit(shortlist=shortlist, user=lead)
    scale = next(c for c in shortlist.snapshot["criteria"] if c["evidence"] == "scale")
    assert scale["not_applicable"] == "the evaluation sets no batch-size range" and scale["weight"] == 0
    page = client_as("manager").get(shortlist.get_absolute_url()).content.decode()
    table = page[page.index("<table") : page.index("</table>")]
    assert table.count('class="score-na"') == 2 * len(candidates) and "missing" not in table
    assert table.count("not applicable</div>") == 2  # in the headings instead of a weight of 0 %


def test_an_old_snapshot_without_applicability_still_renders(client_as, reviewed):
    from scoring import shortlists

    evaluation, candidates = reviewed
    shortlist = shortlists.shortlist_propose(
        evaluation=evaluation, user=evaluation.lead, candidate_ids=[candidates[3].pk]
    )
    shortlist = shortlists.shortlist_submit(shortlist=shortlist, user=evaluation.lead)
    snapshot = shortlist.snapshot
    for criterion in snapshot["criteria"]:
        del criterion["not_applicable"]
    with pgtrigger.ignore("scoring.Shortlist:shortlist_submitted_frozen"):  # as stored before the key existed
        Shortlist.objects.filter(pk=shortlist.pk).update(snapshot=snapshot)
    page = client_as("manager").get(shortlist.get_absolute_url()).content.decode()
    assert "does not match its hash" in page and 'class="score-missing"' in page  # as it was shown when signed


def test_radar_labels_wrap_and_fit_inside_the_chart(client_as, scored):
    from xml.etree import ElementTree

    from scoring import charts

    evaluation, _ = scored
    technology = evaluation.criteria.get(key="technology_transfer")
    technology.name = "Technology transfer readiness & analytical method robustness"
    technology.save()
    page = client_as("procurement").get(f"/evaluations/{evaluation.pk}/compare/").content.decode()
    start = page.index('<svg class="chart radar"')
    svg = ElementTree.fromstring(page[start : page.index("</svg>", start) + len("</svg>")])  # noqa: S314 - our markup
    left, top, width, height = (float(v) for v in svg.get("viewBox").split())
    texts = svg.findall("{*}text") or svg.findall("text")
    assert len(texts) == 4  # scope fit and scale flexibility do not apply here
    for text in texts:
        size = float(text.get("font-size"))
        lines = text.findall("{*}tspan") or text.findall("tspan")
        assert 1 <= len(lines) <= charts.RADAR_MAX_LINES
        for line in lines:
            extent = len(line.text) * 0.6 * size  # as wide as a sans-serif line of this length gets
            x = float(line.get("x"))
            x0 = {"start": x, "end": x - extent, "middle": x - extent / 2}[text.get("text-anchor")]
            assert len(line.text) <= charts.RADAR_WRAP
            assert left <= x0 and x0 + extent <= left + width, (line.text, x0, extent, svg.get("viewBox"))
            assert top <= float(line.get("y")) - size and float(line.get("y")) <= top + height
    assert "Technology transfer readiness &amp; analytical method robustness" in page  # the whole name, escaped


def test_ranking_table_scrolls_in_its_own_focusable_region(client_as, scored):
    evaluation, _ = scored
    page = client_as("procurement").get(f"/evaluations/{evaluation.pk}/ranking/").content.decode()
    assert 'class="table-responsive ranking-scroll" tabindex="0" role="region" aria-label="Ranking table"' in page
    assert page.count('<td class="col-vendor">') == 4  # the column that stays in view when the table scrolls


def test_must_have_gates_heading_appears_once(client_as, users):
    evaluation = services.evaluation_create(lead=users["procurement"], name="Gates")
    page = client_as("procurement").get(f"/evaluations/{evaluation.pk}/").content.decode()
    assert page.count("Must-have gates") == 1
    assert 'role="group" aria-labelledby="gates-heading"' in page and 'id="gates-heading"' in page
    assert page.count('name="rules"') == len(KnockoutRule.Rule.choices)


def test_the_lead_finds_vendors_to_add_by_searching_the_register(client_as, users, django_assert_max_num_queries):
    from scoring import services as scoring_services

    evaluation = scoring_services.evaluation_create(lead=users["procurement"], name="Search", evaluators=[])
    already = VendorFactory(name="Alpha Peptides")
    scoring_services.candidate_add(evaluation=evaluation, user=users["procurement"], vendor=already)
    for i in range(20):
        VendorFactory(name=f"Alpha Bio {i:02d}")
    VendorFactory(name="<b>Alpha</b> & Sons")
    url = f"/evaluations/{evaluation.pk}/vendor-search/"
    client = client_as("procurement")
    with django_assert_max_num_queries(12):
        page = client.get(url, {"q": "alpha"}).content.decode()
    add = f'action="/evaluations/{evaluation.pk}/candidates/"'
    assert page.count(add) == 15 and "type more of the name" in page
    assert "Alpha Peptides" not in page  # already a candidate
    narrow = client.get(url, {"q": "sons"}).content.decode()
    assert "&lt;b&gt;Alpha&lt;/b&gt; &amp; Sons" in narrow and "<b>Alpha</b>" not in narrow
    assert add not in client.get(url, {"q": "a"}).content.decode()  # two letters or more
    none = client.get(url, {"q": "zzz<script>"}).content.decode()
    assert "No vendor in the register matches “zzz&lt;script&gt;”" in none
    detail = client.get(f"/evaluations/{evaluation.pk}/").content.decode()
    assert 'id="vendor-search"' in detail and "<select" not in detail.split('id="vendor-search"')[0][-400:]
    assert detail.count("Alpha Bio") < 20  # no list of the whole register (a few suggestions at most)
    # A vendor id that is not a number is a message, not an error.
    response = client.post(f"/evaluations/{evaluation.pk}/candidates/", {"vendor": "²"}, follow=True)
    assert response.status_code == 200 and "Choose a vendor from the register." in response.content.decode()
    assert client_as("evaluator").get(url, {"q": "alpha"}).status_code == 404  # not invited: not visible


@pytest.mark.parametrize("bad", ["abc", "²", "1e3", "99999999999999999999999"])
def test_tampered_record_ids_in_forms_find_nothing_instead_of_failing(client_as, scored, bad):
    evaluation, _ = scored
    client = client_as("procurement")
    url = f"/evaluations/{evaluation.pk}/"
    override = client.post(f"{url}knockouts/override/", {"candidate": bad, "reason": "x"}, follow=True)
    assert override.status_code == 200 and "Choose a candidate of this evaluation." in override.content.decode()
    assert client.post(f"{url}criteria/{bad}/", {"name": "x"}).status_code == 404
    added = client.post(f"{url}criteria/", {"parent": bad, "name": "Tampered", "local_weight": "1"}, follow=True)
    assert "Sub-criteria refine a top-level criterion" in added.content.decode()  # named, and nothing added
    assert not evaluation.criteria.filter(name="Tampered").exists()
    ranking = client.post(f"{url}overrides/", {"candidate": bad, "criterion": bad, "value": "3"}, follow=True)
    assert ranking.status_code == 200 and "Choose a candidate and a derived criterion." in ranking.content.decode()


# --- one URL per page operation; AHP help; weights as the totals use them ---------------------------

SPOILED = {  # upper triangle of a consistent 6 x 6 matrix (weights 4:2:2:1:4:1), scope fit vs technology spoiled
    (0, 1): "2", (0, 2): "2", (0, 3): "1/3", (0, 4): "1", (0, 5): "4",
    (1, 2): "1", (1, 3): "2", (1, 4): "1/2", (1, 5): "2",
    (2, 3): "2", (2, 4): "1/2", (2, 5): "2",
    (3, 4): "1/4", (3, 5): "1",
    (4, 5): "4",
}  # fmt: skip


def ahp_post(judgments, **extra):
    return {**{f"ahp_{i}_{j}": value for (i, j), value in judgments.items()}, **extra}


def test_ahp_page_names_the_inconsistent_judgments_and_asks_for_a_sentence_and_the_password(client_as, users):
    from tests.factories import PASSWORD

    evaluation = services.evaluation_create(lead=users["procurement"], name="AHP page")
    client = client_as("procurement")
    url = f"/evaluations/{evaluation.pk}/weights/ahp/"
    too_much = client.post(url, ahp_post({**SPOILED, (0, 3): "1/5"})).content.decode()
    assert "CR = 0.216 &gt; 0.20" in too_much
    assert "Scope fit versus Technology transfer: you said 1/5, consistent would be 1" in too_much
    assert '<option value="1/5" selected>' in too_much  # the judgments stay as entered
    sentence = "Quality outweighs everything for this program."
    short = client.post(url, ahp_post(SPOILED, justification="test", password=PASSWORD)).content.decode()
    assert "20 characters or more, 3 words or more, ending with a full stop" in short
    wrong = client.post(url, ahp_post(SPOILED, justification=sentence, password="nope")).content.decode()
    assert "The password is not correct; the weights were not saved." in wrong
    assert 'value="nope"' not in wrong  # a password is never sent back
    assert evaluation.weight_sets.count() == 1
    done = client.post(url, ahp_post(SPOILED, justification=sentence, password=PASSWORD), follow=True)
    assert "Weights derived from the pairwise comparisons." in done.content.decode()
    latest = evaluation.weight_sets.order_by("-version").first()
    assert latest.justification == sentence and 0.10 < latest.consistency_ratio < 0.20
    again = client.get(f"/evaluations/{evaluation.pk}/").content.decode()
    assert '<option value="1/3" selected>' in again  # the saved matrix, as entered
    off_scale = client.post(url, ahp_post({**SPOILED, (0, 1): "12"})).content.decode()
    assert "Each comparison is a number from 1/9 to 9" in off_scale
    assert evaluation.weight_sets.count() == 2


def test_direct_weights_take_the_rounded_ahp_weights_and_show_a_running_total(client_as, users):
    evaluation = services.evaluation_create(lead=users["procurement"], name="Direct")
    client = client_as("procurement")
    keys = list(evaluation.top_criteria().values_list("key", flat=True))
    url = f"/evaluations/{evaluation.pk}/weights/direct/"
    rounded = dict(zip(keys, ["19.96", "19.96", "10.02", "10.02", "30.03", "10.00"], strict=True))  # 99.99
    page = client.get(f"/evaluations/{evaluation.pk}/").content.decode()
    assert 'step="0.01"' in page and "weights-total-value" in page and "js/weights.js" in page
    saved = client.post(url, {f"weight_{k}": v for k, v in rounded.items()}, follow=True)
    assert "New weights saved." in saved.content.decode()
    assert sum(w.percent for w in evaluation.weight_sets.order_by("-version").first().weights.all()) == 100
    three = client.post(url, {f"weight_{k}": v for k, v in {**rounded, keys[0]: "19.961"}.items()})
    refused = three.content.decode().replace("&#x27;", "'")
    assert three.status_code == 200 and "Ensure that there are no more than 2 decimal places." in refused
    assert evaluation.weight_sets.count() == 2


def test_ranking_headers_show_the_weights_the_totals_use(client_as, scored):
    evaluation, _ = scored  # scope fit and scale flexibility do not apply: the other four share 100 %
    page = client_as("procurement").get(f"/evaluations/{evaluation.pk}/ranking/").content.decode()
    head = page[page.index("<thead>") : page.index("</thead>")]
    assert head.count("25.0 %") == 4 and "16.7 %" not in head


def test_only_the_lead_sees_the_setup_forms_and_only_in_draft(client_as, scored, django_assert_max_num_queries):
    evaluation, _ = scored  # in scoring
    lead = client_as("procurement")
    with django_assert_max_num_queries(50):  # 4 candidates, 6 criteria; a fixed number, not one per row
        page = lead.get(f"/evaluations/{evaluation.pk}/").content.decode()
    assert "criterion-edit" not in page and "Change the gates" not in page  # the scorecard and gates are fixed
    assert "gates-heading" in page  # the gates in force are shown to everyone
    assert "Set weights directly" in page and 'id="reason-direct"' in page  # a new version needs a reason
    assert f'href="/evaluations/{evaluation.pk}/review/">Move to review</a>' in page  # confirmed on its own page
    other = client_as("evaluator").get(f"/evaluations/{evaluation.pk}/").content.decode()
    assert "Set weights directly" not in other and "/transition/" not in other and "Enter my scores" in other
    assert "/review/" not in other
    assert client_as("evaluator").post(f"/evaluations/{evaluation.pk}/weights/direct/").status_code == 403


def test_the_journeys_comparisons_through_the_page_form(client_as, users):
    """What the browser journey does (step 4), without a browser: the selects it picks by label, the
    consistency ratio it reads and the saved matrix shown again."""
    evaluation = services.evaluation_create(lead=users["procurement"], name="Journey weights")
    client = client_as("procurement")
    page = client.get(f"/evaluations/{evaluation.pk}/").content.decode()
    assert 'aria-label="Quality systems versus Cultural fit and communication"' in page
    assert page.count('<option value="1/9">') == 15 and "7 = very strongly" in page
    names = list(evaluation.top_criteria().values_list("name", flat=True))
    upper = ["1", "3", "3", "1/2", "5", "3", "2", "1/2", "5", "1", "1/3", "2", "1/3", "3", "7"]
    pairs = [(i, j) for i in range(len(names)) for j in range(i + 1, len(names))]
    done = client.post(
        f"/evaluations/{evaluation.pk}/weights/ahp/",
        {f"ahp_{i}_{j}": value for (i, j), value in zip(pairs, upper, strict=True)},
        follow=True,
    ).content.decode()
    assert "Weights derived from the pairwise comparisons." in done and "CR 0.01" in done
    assert "33.8 %" in done
    select = done[done.index('name="ahp_4_5"') : done.index("</select>", done.index('name="ahp_4_5"'))]
    assert '<option value="7" selected>' in select
