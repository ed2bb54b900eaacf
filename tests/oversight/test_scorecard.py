"""The scorecard: standings over declining quarters, the trend charts (SVG), the PDF for the supplier review,
the standing in the register, and the standing as evidence of the "quality systems" criterion."""

import io
from datetime import date

import pytest
from pypdf import PdfReader

from oversight import charts, selectors
from oversight.models_performance import Scorecard
from scoring import evidence, ranking_compute
from scoring import selectors as scoring_selectors
from tests.factories import SiteFactory, VendorFactory
from vendorselect import builders

pytestmark = pytest.mark.django_db

GOOD = {
    "batches_started": 20,
    "batches_released": 20,
    "batches_right_first_time": 20,
    "deliveries_due": 10,
    "deliveries_on_time": 10,
    "capas_due": 2,
    "capas_closed_on_time": 2,
    "change_notifications_due": 1,
    "change_notifications_on_time": 1,
}
SLIPPING = {**GOOD, "batches_right_first_time": 19, "deviations_minor": 3, "deliveries_on_time": 9}
BREACH = {
    **GOOD,
    "batches_released": 19,
    "batches_right_first_time": 16,
    "deviations_minor": 5,
    "deviations_major": 2,
    "oos_results": 1,
    "deliveries_on_time": 8,
    "capas_due": 4,
    "capas_closed_on_time": 2,
    "complaints": 2,
}
CRISIS = {**BREACH, "batches_right_first_time": 12, "deviations_critical": 2, "complaints": 5}


@pytest.fixture
def declining(users):
    site = SiteFactory(vendor=VendorFactory(name="Northfield CDMO"), name="Cork sterile <fill>")
    builders.performance_quarters(
        site=site, user=users["qa"], quarters=[GOOD, SLIPPING, BREACH, CRISIS], last_end=date(2026, 9, 30)
    )
    return site


def test_standings_follow_the_decline(declining):
    cards = list(Scorecard.objects.filter(site=declining).order_by("period_end"))
    assert [c.period_label for c in cards] == ["2025 Q4", "2026 Q1", "2026 Q2", "2026 Q3"]
    assert [c.standing for c in cards] == ["preferred", "preferred", "on_watch", "under_probation"]
    assert float(cards[0].score) == 5.0
    # Q2: RFT 16/19 = 84.2 % is below 90 % (a critical flag: at most on watch), and the score is there already
    assert cards[2].reasons == [
        "score 2.54 is in the band 2 ≤ score < 3: On watch",
        "1 critical KPI flags (≥ 1): at most On watch (already there)",
        "3 warning KPI flags (≥ 3): at most On watch (already there)",
    ]
    # Q3: the score alone is under probation; two critical deviations would put it there too
    assert cards[3].reasons[0] == "score 1.87 is in the band 1 ≤ score < 2: Under probation"
    assert "2 critical deviations (≥ 2): at most Under probation (already there)" in cards[3].reasons
    standing = selectors.standing_of([declining.pk, 0])
    assert list(standing) == [declining.pk]
    assert standing[declining.pk].code == "under_probation"
    assert standing[declining.pk].label == "Under probation"
    assert standing[declining.pk].period == "2026 Q3"
    assert standing[declining.pk].score == float(cards[3].score)


def test_standing_of_is_one_query(declining, users, django_assert_num_queries):
    others = [SiteFactory() for _ in range(5)]
    for site in others:
        builders.performance_quarters(site=site, user=users["auditor"], quarters=[GOOD], last_end=date(2026, 9, 30))
    with django_assert_num_queries(1):
        found = selectors.standing_of([declining.pk, *(s.pk for s in others)])
    assert len(found) == 6 and {s.code for s in found.values()} == {"under_probation", "preferred"}


def test_the_scorecard_page(declining, client_as, django_assert_max_num_queries):
    client = client_as("auditor")
    with django_assert_max_num_queries(12):
        page = client.get(f"/oversight/sites/{declining.pk}/scorecard/").content.decode()
    assert "Cork sterile &lt;fill&gt;" in page and "<fill>" not in page
    assert page.count('<svg class="trend-chart"') == 7  # one per KPI
    assert "Under probation" in page
    assert "2 critical deviations (≥ 2): at most Under probation" in page
    assert f"/audits/new/?site={declining.pk}&amp;type=for_cause" in page  # auditors plan the for-cause audit
    assert "Plan a for-cause audit" in page
    manager_page = client_as("manager").get(f"/oversight/sites/{declining.pk}/scorecard/").content.decode()
    assert "Plan a for-cause audit" not in manager_page and "Auditors plan audits." in manager_page
    assert client_as("evaluator").get(f"/oversight/sites/{declining.pk}/scorecard/").status_code == 403
    assert client_as("manager").get("/oversight/sites/999999/scorecard/").status_code == 404
    empty = client.get(f"/oversight/sites/{SiteFactory().pk}/scorecard/").content.decode()
    assert "No performance recorded for this site" in empty


def test_trend_chart_geometry_threshold_and_gaps():
    series = {
        "name": "<b>RFT</b>",
        "unit": "%",
        "higher_is_better": True,
        "threshold": 90.0,
        "points": [("2026 Q1", 95.0), ("2026 Q2", None), ("2026 Q3", 85.0)],
    }
    svg = str(charts.trend_chart(series))
    # 300 x 150, plot from x 46 to 290 and y 14 to 116; the % axis runs from 80 (lowest − 5) to 100.
    assert '<circle cx="46.0" cy="39.5" r="3.5" fill="#0b5cad">' in svg  # 95 %: 14 + 102 × (1 − 15/20)
    assert '<circle cx="290.0" cy="90.5" r="3.5" fill="#d1495b">' in svg  # 85 %: below the threshold, red
    assert 'y1="65.0" y2="65.0" stroke="#d1495b" stroke-dasharray="4 3"' in svg  # threshold 90 %
    assert "<polyline" not in svg  # the gap (no value in Q2) leaves two single points
    assert "&lt;b&gt;RFT&lt;/b&gt;" in svg and "<b>" not in svg
    assert "2026 Q2 n/a" in svg  # the accessible name lists every period
    lower_better = {**series, "name": "OOS", "unit": "per batch", "higher_is_better": False, "threshold": 0.1}
    lower_better["points"] = [("Q1", 0.0), ("Q2", 0.05), ("Q3", 0.2)]
    svg = str(charts.trend_chart(lower_better))
    assert svg.count("<polyline") == 1 and svg.count('fill="#d1495b">') == 1  # only 0.2 is above 0.1
    assert "No values yet" in str(charts.trend_chart({**series, "points": []}))


def test_the_pdf_for_the_supplier_review(declining, client_as):
    response = client_as("qa").get(f"/oversight/sites/{declining.pk}/scorecard.pdf")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].startswith(f'attachment; filename="scorecard-{declining.pk}-')
    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(response.content)).pages)
    text = " ".join(text.split())
    assert "Supplier scorecard: Northfield CDMO — Cork sterile <fill>" in text
    assert "Under probation for 2026 Q3" in text
    assert "A for-cause audit of the site is suggested." in text
    assert "100 × batches released right first time / batches released" in text
    assert "2025 Q4" in text  # the periods table
    assert client_as("evaluator").get(f"/oversight/sites/{declining.pk}/scorecard.pdf").status_code == 403


def test_the_register_shows_the_latest_standing(declining, users, client_as, django_assert_max_num_queries):
    client = client_as("evaluator")
    with django_assert_max_num_queries(20) as few:  # the register's own queries + 1 for the standings
        page = client.get("/vendors/").content.decode()
    assert 'title="Cork sterile &lt;fill&gt;: Under probation (2026 Q3)">Under probation</span>' in page
    for i in range(8):
        site = SiteFactory(vendor=VendorFactory(name=f"Rated {i}"))
        builders.performance_quarters(site=site, user=users["qa"], quarters=[GOOD], last_end=date(2026, 9, 30))
    with django_assert_max_num_queries(len(few.captured_queries)):  # more rated vendors, no more queries
        page = client.get("/vendors/").content.decode()
    assert page.count(">Preferred</span>") == 8
    detail = client.get(f"/vendors/{declining.vendor_id}/").content.decode()
    assert "Under probation" in detail
    assert f"/oversight/sites/{declining.pk}/scorecard/" not in detail  # evaluators do not open scorecards
    detail = client_as("manager").get(f"/vendors/{declining.vendor_id}/").content.decode()
    assert f'/oversight/sites/{declining.pk}/scorecard/">scorecard 2026 Q3</a>' in detail


def test_quality_systems_evidence_combines_audit_and_scorecard():
    audit = {
        "site": "Cork",
        "site_id": 1,
        "end_date": date(2026, 6, 1),
        "findings": [{"severity": "major", "capa_status": "open", "capa_due": None, "capa_completed": None}],
    }
    today = date(2026, 6, 1)
    assert evidence.quality_systems([audit], today).value == 4.0  # 5 − 1 major
    approved = [{"site": "Cork", "site_id": 1, "standing": "approved", "period": "2026 Q1", "score": 3.5}]
    derived = evidence.quality_systems([audit], today, approved)
    assert derived.value == 3.75  # (4.0 + 3.5) / 2
    assert "performance standing at Cork: Approved (2026 Q1, score 3.50)" in derived.evidence
    watch = [{**approved[0], "standing": "on_watch", "score": 3.9}]
    derived = evidence.quality_systems([audit], today, watch)
    assert derived.value == 3.0  # (4.0 + 3.9) / 2 = 3.95, capped at 3 on watch
    assert derived.evidence[-1] == "capped at 3 by the performance standing"
    probation_only = evidence.quality_systems([], today, [{**approved[0], "standing": "under_probation", "score": 2.4}])
    assert probation_only.value == 2.0
    assert "no completed audit on record: the scorecards alone" in probation_only.evidence
    assert evidence.quality_systems([], today).value is None


def test_the_ranking_loads_standings_with_the_sites(reviewed, users, django_assert_max_num_queries):
    evaluation, candidates = reviewed
    site = candidates[0].vendor.sites.first()
    builders.performance_quarters(site=site, user=users["qa"], quarters=[GOOD, BREACH], last_end=date(2026, 9, 30))
    facts = scoring_selectors.vendor_facts(evaluation)
    offer, sites, inspections = facts[candidates[0].vendor_id]
    assert offer["standings"] == [
        {
            "site": site.name,
            "site_id": site.pk,
            "standing": "on_watch",
            "period": "2026 Q3",
            "score": offer["standings"][0]["score"],
        }
    ]
    assert "standings" not in facts[candidates[1].vendor_id][0]
    derived = ranking_compute.derive("quality", {}, offer, sites, inspections, date(2026, 10, 1))
    assert f"performance standing at {site.name}: On watch (2026 Q3, score" in " ".join(derived.evidence)
    assert derived.value == min(3.0, offer["standings"][0]["score"])  # no audit: the scorecard alone, capped
