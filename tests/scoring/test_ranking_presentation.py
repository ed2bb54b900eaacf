"""One presentation of a ranking row: the ranking and compare pages render the same row dicts the
API answers with (scoring.serializers.RankingSerializer), never the engine's Row/Cell dataclasses."""

import json

import pytest

from scoring import services
from scoring.models import Candidate, Evaluation
from tests.scoring.test_program import world  # noqa: F401 (fixture)
from tests.scoring.test_views import scored  # noqa: F401 (fixture)

pytestmark = pytest.mark.django_db


def as_json(value):
    return json.loads(json.dumps(value))


def test_the_ranking_page_shows_the_rows_the_api_answers_with(client_as, api_as, scored, users):  # noqa: F811
    evaluation, candidates = scored
    # A missing regulatory record, criteria that do not apply, and an overridden derived value.
    candidates[0].vendor.sites.get().inspections.all().delete()
    derived = evaluation.criteria.get(key="regulatory_track_record")
    services.derived_override(
        candidate=candidates[1], criterion=derived, user=users["procurement"], value=2, justification="Import alert"
    )
    api = api_as("procurement").get(f"/api/v1/evaluations/{evaluation.pk}/ranking/").json()
    response = client_as("procurement").get(f"/evaluations/{evaluation.pk}/ranking/")
    page = response.context["ranking"]
    assert as_json(page) == api
    assert as_json([row for row, _ in response.context["table"]]) == api["rows"]
    # The override form lists the same candidates and the derived criteria by the API's ids.
    html = response.content.decode()
    for row in api["rows"]:
        assert (
            f'<option value="{row["candidate"]}">{row["vendor_name"].replace("<", "&lt;").replace(">", "&gt;")}' in html
        )
        assert f'href="/vendors/{row["vendor"]}/"' in html
    assert f'<option value="{derived.pk}">' in html


def test_cells_say_not_applicable_apart_from_missing(api_as, scored):  # noqa: F811
    evaluation, candidates = scored
    candidates[0].vendor.sites.get().inspections.all().delete()
    rows = api_as("procurement").get(f"/api/v1/evaluations/{evaluation.pk}/ranking/").json()["rows"]
    by_criterion = {}
    for row in rows:
        for cell in row["cells"]:
            by_criterion.setdefault(cell["criterion"], []).append(cell)
    # No batch-size range and no required scope: scale flexibility and scope fit do not apply.
    for key in ("scale_flexibility", "scope_fit"):
        assert all(cell["not_applicable"] and cell["value"] is None for cell in by_criterion[key]), key
    missing = [
        cell
        for cells in by_criterion.values()
        for cell in cells
        if cell["value"] is None and not cell["not_applicable"]
    ]
    assert [cell["criterion"] for cell in missing] == ["regulatory_track_record"]
    assert not any(cell["not_applicable"] for cell in by_criterion["quality_systems"])


def test_the_compare_page_shows_the_api_rows_of_the_chosen_candidates(client_as, api_as, scored):  # noqa: F811
    evaluation, candidates = scored
    api = api_as("procurement").get(f"/api/v1/evaluations/{evaluation.pk}/ranking/").json()
    client = client_as("procurement")
    chosen = [candidates[2].pk, candidates[0].pk]
    response = client.get(f"/evaluations/{evaluation.pk}/compare/?c={chosen[0]}&c={chosen[1]}")
    assert as_json(response.context["rows"]) == [row for row in api["rows"] if row["candidate"] in chosen]
    html = response.content.decode()
    for row in api["rows"]:
        checked = f'value="{row["candidate"]}" id="c{row["candidate"]}" checked' in html
        assert checked == (row["candidate"] in chosen)
    # Without a choice: the first four ranked rows, in the API's order.
    response = client.get(f"/evaluations/{evaluation.pk}/compare/")
    assert as_json(response.context["rows"]) == [row for row in api["rows"] if row["rank"]][:4]


def test_knockouts_overrides_sites_and_warnings_come_from_the_row(client_as, world, users):  # noqa: F811
    evaluation = Evaluation.objects.get(name="Phase II sterile injectable mAb")
    knocked = [row for row in world["lead"].get(f"{world['base']}/ranking/").json()["rows"] if row["knocked_out"]]
    candidate = Candidate.objects.get(pk=knocked[0]["candidate"])
    services.candidate_override_knockout(candidate=candidate, user=users["procurement"], reason="<b>QA</b> accepts")
    api = world["lead"].get(f"{world['base']}/ranking/").json()
    response = client_as("procurement").get(f"/evaluations/{evaluation.pk}/ranking/")
    assert as_json(response.context["ranking"]) == api
    html = response.content.decode()
    assert "— overridden: &lt;b&gt;QA&lt;/b&gt; accepts" in html and "<b>QA</b>" not in html
    for row in api["rows"]:
        for proposal in row["proposed_sites"]:
            assert f"{proposal['step']}: {', '.join(proposal['sites']) or 'no site'}" in html
        for warning in row["warnings"]:
            assert warning in html
    assert any(row["warnings"] for row in api["rows"]) and any(row["proposed_sites"] for row in api["rows"])


def test_a_blind_viewer_gets_no_rows_on_either_page(client_as, scored):  # noqa: F811
    evaluation, _ = scored
    client = client_as("evaluator")  # has not submitted: the ranking is withheld
    for page in ("ranking", "compare"):
        response = client.get(f"/evaluations/{evaluation.pk}/{page}/")
        assert response.status_code == 200
        ranking = response.context["ranking"]
        assert ranking["withheld"] is True and ranking["rows"] == []
        assert "table" not in response.context and "rows" not in response.context
        assert "Vendor &lt;i&gt;" not in response.content.decode()


def test_site_records_read_the_same_in_the_ranking_as_on_the_site_page(client_as, world):  # noqa: F811
    """One reading of a site's red flags (vendors.selectors.site_red_flags): the warning letter at the
    strong candidate's tablet plant is worded in the ranking's warning as on the site page."""
    from vendors.models import Site

    tablets = Site.objects.get(name="Strong tablet plant")
    page = client_as("procurement").get(f"/vendors/sites/{tablets.pk}/")
    (flag,) = page.context["red_flags"]
    assert flag["kind"] == "warning_letter" and flag["label"] in page.content.decode()
    rows = world["lead"].get(f"{world['base']}/ranking/").json()["rows"]
    strong = next(row for row in rows if row["vendor_name"] == "Strong Biologics")
    assert f"{flag['label']} at Strong tablet plant, a site of the company not proposed" in strong["warnings"]
