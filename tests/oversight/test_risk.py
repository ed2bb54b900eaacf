"""Risk-based requalification: the score and interval on a table of cases (pure), the matrix checks,
and the site's requalification date following a signed qualification, its records and the matrix."""

from datetime import date, timedelta
from decimal import Decimal

import pytest

from accounts import roles
from oversight import requalification, risk
from oversight.defaults import DEFAULT_BANDS
from oversight.models_qa import RiskAssessment, RiskMatrix
from oversight.qa_access import OversightError
from tests.factories import PASSWORD, SiteFactory, UserFactory, WarningLetterFactory
from vendors.models import Service, Site
from vendorselect import builders

TODAY = date.today()
F = risk.Factors

# (case, factors, expected score, expected months with the default matrix 0-29: 36, 30-49: 24, 50-100: 12)
CASES = [
    ("clean testing lab, preferred", F("testing", "approved", standing="preferred"), 15, 36),
    ("non-GMP, approved, no standing yet", F("non_gmp", "approved"), 10, 36),
    # points come in fives: the boundary 29/30 lies between these two
    (
        "testing, approved standing, 1 major CAPA",
        F("testing", "approved", standing="approved", open_major_capas=1),
        25,
        36,
    ),
    ("testing + OAI + approved standing", F("testing", "approved", recent_oai=True, standing="approved"), 30, 24),
    ("drug substance, approved standing", F("drug_substance", "approved", standing="approved"), 30, 24),
    ("drug product, approved standing", F("drug_product", "approved", standing="approved"), 35, 24),
    ("sterile, preferred", F("sterile", "approved", standing="preferred"), 40, 24),
    # the boundary 49/50: on watch moves a drug-product site to yearly audits
    ("sterile, no standing yet", F("sterile", "approved"), 45, 24),
    ("drug product on watch", F("drug_product", "approved", standing="on_watch"), 50, 12),
    ("drug product, not yet audited", F("drug_product", None), 55, 12),
    ("conditional approval caps at 12 months", F("testing", "approved_with_conditions", standing="preferred"), 30, 12),
    (
        "inspection history capped at 30",
        F("drug_product", "approved", recent_oai=True, recent_warning_letter=True, import_alert=True),
        65,
        12,
    ),
    ("CAPA capped at 20", F("non_gmp", "approved", open_critical_capas=3, open_major_capas=2), 30, 24),
    (
        "everything bad stays at 100",
        F(
            "sterile",
            "not_approved",
            recent_oai=True,
            recent_warning_letter=True,
            import_alert=True,
            standing="under_probation",
            open_critical_capas=5,
        ),
        100,
        12,
    ),
]


@pytest.mark.parametrize(("case", "factors", "expected", "months"), CASES, ids=[c[0] for c in CASES])
def test_score_and_interval_table(case, factors, expected, months):
    result = risk.score(factors)
    assert result.score == expected, result.reasons
    assert sum(int(r.split(":")[0]) for r in result.reasons) >= expected  # the reasons add up (before the 100 cap)
    _band, interval, _cap = risk.interval(result.score, risk.check_bands(DEFAULT_BANDS), factors.last_outcome)
    assert interval == months


def test_reasons_name_each_factor():
    result = risk.score(
        F(
            "sterile",
            "approved_with_conditions",
            recent_warning_letter=True,
            standing="on_watch",
            standing_label="On watch",
            open_critical_capas=1,
        )
    )
    assert result.reasons == [
        "+40: GMP impact of the activity: sterile drug product",
        "+15: last qualification: approved with conditions",
        "+15: inspection history: warning letter in the last 5 years",
        "+20: performance standing: On watch",
        "+10: open CAPA: 1 critical, 0 major",
    ]
    assert result.score == 100


@pytest.mark.parametrize(
    ("code", "group", "forms", "impact"),
    [
        ("fill-finish", "manufacturing", set(), "sterile"),
        ("drug-product-manufacturing", "manufacturing", {"oral-solid"}, "drug_product"),
        ("drug-product-manufacturing", "manufacturing", {"sterile-injectable"}, "sterile"),
        ("api-manufacturing", "manufacturing", {"sterile-injectable"}, "drug_substance"),
        ("release-testing", "regulatory_quality", set(), "testing"),
        ("medical-writing", "research_clinical", set(), "non_gmp"),
        ("process-development", "development", set(), "non_gmp"),
        ("some-new-manufacturing-term", "manufacturing", set(), "drug_product"),
    ],
)
def test_activity_impact_from_services(code, group, forms, impact):
    assert risk.activity_impact(code, group, forms) == impact


def test_every_seeded_manufacturing_service_has_a_gmp_impact(db):
    for service in Service.objects.filter(group="manufacturing"):
        assert risk.activity_impact(service.code, service.group) in (
            "sterile",
            "drug_product",
            "drug_substance",
            "testing",
        )
    assert risk.highest_impact(["testing", "sterile", "non_gmp"]) == "sterile"
    assert risk.highest_impact([]) == "non_gmp"


@pytest.mark.parametrize(
    ("bands", "message"),
    [
        ([{"low": 0, "high": 40, "months": 36}, {"low": 45, "high": 100, "months": 12}], "Scores 41-44 are in no band"),
        ([{"low": 0, "high": 50, "months": 36}, {"low": 45, "high": 100, "months": 12}], "overlap at scores 45-50"),
        ([{"low": 0, "high": 50, "months": 0}, {"low": 51, "high": 100, "months": 12}], "at least one month, not 0"),
        ([{"low": 5, "high": 100, "months": 12}], "Scores 0-4 are in no band"),
        ([{"low": 0, "high": 90, "months": 12}], "Scores 91-100 are in no band"),
        ([{"low": 0, "high": 100}], "give the lowest score, the highest score and the interval"),
        ([{"low": 60, "high": 10, "months": 12}], "is above the highest"),
        ([], "at least one band"),
    ],
)
def test_matrix_with_a_gap_an_overlap_or_a_zero_interval_is_refused(bands, message):
    with pytest.raises(risk.BandError, match=message):
        risk.check_bands(bands)


def test_bands_are_sorted_and_cleaned():
    bands = risk.check_bands([{"low": "51", "high": 100, "months": 12}, {"low": 0, "high": 50, "months": "24"}])
    assert [(b["low"], b["months"], b["label"]) for b in bands] == [(0, 24, "Scores 0-50"), (51, 12, "Scores 51-100")]


# --- With the database --------------------------------------------------------------------------------------


@pytest.fixture
def qa(db):
    return UserFactory(username="quinn", first_name="Quinn", last_name="Assurance", roles=[roles.QA])


@pytest.fixture
def sterile_site(db):
    site = SiteFactory(name="Fill line 2")
    site.capabilities.add(Service.objects.get(code="fill-finish"))
    return site


def _sign_outcome(audit, qa, outcome="approved"):
    from audits import services as audit_services

    return audit_services.outcome_sign(
        request=builders.signing_request(), audit=audit, user=qa, outcome=outcome, password=PASSWORD
    )


def test_signed_qualification_sets_the_risk_based_due_date(users, qa, sterile_site):
    audit = builders.signed_audit(site=sterile_site, auditor=users["auditor"], password=PASSWORD)
    _sign_outcome(audit, qa)
    sterile_site.refresh_from_db()
    [assessment] = RiskAssessment.objects.filter(site=sterile_site)
    # sterile 40 + approved 0 + no standing 5 = 45: medium risk, 24 months from the audit's end
    assert assessment.score == 45 and assessment.interval_months == 24
    assert assessment.due == requalification.add_months(audit.actual_end, 24) == sterile_site.requalification_due
    assert assessment.trigger.startswith("Qualification outcome signed (approved)")
    assert "+40: GMP impact of the activity: sterile drug product" in assessment.reasons
    assert sterile_site.qualifications.get().requalification_due == assessment.due  # the approved-supplier list too


def test_a_warning_letter_moves_requalification_forward_with_its_reason(users, qa, sterile_site):
    audit = builders.signed_audit(site=sterile_site, auditor=users["auditor"], password=PASSWORD)
    _sign_outcome(audit, qa)
    WarningLetterFactory(site=sterile_site, issued_on=TODAY - timedelta(days=10))
    latest = RiskAssessment.objects.filter(site=sterile_site).order_by("-pk").first()
    assert latest.score == 60 and latest.interval_months == 12
    assert latest.previous_due == requalification.add_months(audit.actual_end, 24)
    assert Site.objects.get(pk=sterile_site.pk).requalification_due == requalification.add_months(audit.actual_end, 12)
    assert "+15: inspection history: warning letter in the last 5 years" in latest.reasons
    assert latest.trigger.startswith("Warning letter #")
    # Nothing changed: no new row.
    assert requalification.reassess(sterile_site, trigger="again") is None


def test_not_approved_site_gets_no_risk_date(users, qa, sterile_site):
    audit = builders.signed_audit(
        site=sterile_site, auditor=users["auditor"], password=PASSWORD, recommendation="not_approved"
    )
    _sign_outcome(audit, qa, outcome="not_approved")
    assert not RiskAssessment.objects.filter(site=sterile_site).exists()
    assert Site.objects.get(pk=sterile_site.pk).requalification_due is None


def test_matrix_save_versions_and_reassesses_refusing_bad_input(users, qa, sterile_site):
    audit = builders.signed_audit(site=sterile_site, auditor=users["auditor"], password=PASSWORD)
    _sign_outcome(audit, qa)
    before = RiskMatrix.objects.count()
    for bands in (
        [{"low": 0, "high": 40, "months": 36}, {"low": 42, "high": 100, "months": 12}],
        [{"low": 0, "high": 100, "months": 0}],
        "nonsense",
    ):
        with pytest.raises(OversightError) as error:
            requalification.matrix_save(user=qa, bands=bands)
        assert error.value.field == "bands"
    assert RiskMatrix.objects.count() == before
    with pytest.raises(OversightError) as error:
        requalification.matrix_save(user=users["manager"], bands=DEFAULT_BANDS)
    assert error.value.status == 403
    matrix = requalification.matrix_save(
        user=qa,
        bands=[
            {"low": 0, "high": 29, "months": 36, "label": "Low"},
            {"low": 30, "high": 44, "months": 24, "label": "Medium"},
            {"low": 45, "high": 100, "months": 12, "label": "High"},
        ],
        note="Sterile sites yearly",
    )
    assert matrix.version == before + 1
    latest = RiskAssessment.objects.filter(site=sterile_site).order_by("-pk").first()
    assert (latest.score, latest.band, latest.interval_months, latest.matrix_id) == (45, "High", 12, matrix.pk)
    assert latest.trigger == f"Risk matrix version {matrix.version}"
    assert Site.objects.get(pk=sterile_site.pk).requalification_due == requalification.add_months(audit.actual_end, 12)


def test_site_risk_page_and_matrix_editor(users, qa, sterile_site, client, django_assert_max_num_queries):
    audit = builders.signed_audit(site=sterile_site, auditor=users["auditor"], password=PASSWORD)
    _sign_outcome(audit, qa)
    WarningLetterFactory(site=sterile_site, issued_on=TODAY - timedelta(days=10))
    client.force_login(users["manager"])
    with django_assert_max_num_queries(22):
        page = client.get(f"/oversight/sites/{sterile_site.pk}/risk/")
    html = page.content.decode()
    assert page.status_code == 200 and "+15: inspection history: warning letter in the last 5 years" in html
    assert f"{requalification.add_months(audit.actual_end, 12):%Y-%m-%d}" in html  # the due date, and its history
    assert f"was {requalification.add_months(audit.actual_end, 24):%Y-%m-%d}" in html
    assert (
        client.post(
            "/oversight/risk-matrix/", {"band-0-low": "0", "band-0-high": "100", "band-0-months": "12"}
        ).status_code
        == 403
    )
    client.force_login(qa)
    gap = {
        "band-0-low": "0", "band-0-high": "40", "band-0-months": "24", "band-0-label": "Low",
        "band-1-low": "45", "band-1-high": "100", "band-1-months": "12", "band-1-label": "High",
        "note": "try",
    }  # fmt: skip
    refused = client.post("/oversight/risk-matrix/", gap)
    assert refused.status_code == 400 and "Scores 41-44 are in no band (a gap)." in refused.content.decode()
    assert RiskMatrix.objects.count() == 1
    gap["band-1-low"] = "41"
    assert client.post("/oversight/risk-matrix/", gap).status_code == 302
    assert RiskMatrix.objects.get(version=2).bands[0] == {"low": 0, "high": 40, "months": 24, "label": "Low"}
    with django_assert_max_num_queries(12):
        assert "Save as version 3" in client.get("/oversight/risk-matrix/").content.decode()


def test_risk_api(users, qa, sterile_site, api_as, django_assert_max_num_queries):
    audit = builders.signed_audit(site=sterile_site, auditor=users["auditor"], password=PASSWORD)
    _sign_outcome(audit, qa)
    with django_assert_max_num_queries(4):
        listed = api_as("auditor").get(f"/api/v1/risk-assessments/?site={sterile_site.pk}")
    [row] = listed.json()["results"]
    assert (row["score"], row["interval_months"], row["matrix_version"]) == (45, 24, 1)
    assert api_as("evaluator").get("/api/v1/risk-assessments/").status_code == 403
    api = api_as(None)
    api.force_authenticate(qa)
    bad = api.post("/api/v1/risk-matrices/", {"bands": [{"low": 0, "high": 100, "months": 0}]}, format="json")
    assert bad.status_code == 400 and "at least one month" in bad.json()["bands"][0]
    good = api.post(
        "/api/v1/risk-matrices/",
        {"bands": [{"low": 0, "high": 44, "months": 24}, {"low": 45, "high": 100, "months": 12}], "note": "Stricter"},
        format="json",
    )
    assert good.status_code == 201 and good.json()["version"] == 2
    assert api_as("manager").post("/api/v1/risk-matrices/", {"bands": []}, format="json").status_code == 403
    assert [m["version"] for m in api_as("manager").get("/api/v1/risk-matrices/").json()["results"]] == [2, 1]
    assert Site.objects.get(pk=sterile_site.pk).requalification_due == requalification.add_months(audit.actual_end, 12)


def test_a_threshold_change_that_moves_the_standing_reassesses_the_site(users, qa, sterile_site):
    """Scorecards recomputed in bulk (a KPI setting changed) send no post_save: the sites are reassessed anyway."""
    from oversight import performance
    from oversight.models_performance import KpiSetting, Scorecard

    audit = builders.signed_audit(site=sterile_site, auditor=users["auditor"], password=PASSWORD)
    _sign_outcome(audit, qa)
    counts = {"batches_started": 10, "batches_released": 10, "batches_right_first_time": 8}  # 80 % < 90 %
    performance.performance_save(
        user=qa, site=sterile_site, start=TODAY - timedelta(days=120), end=TODAY - timedelta(days=30), **counts
    )
    assert Scorecard.objects.get().standing == "on_watch"
    before = RiskAssessment.objects.filter(site=sterile_site).count()
    setting = KpiSetting.objects.get(kpi="right_first_time")
    performance.kpi_setting_update(  # QA agrees a lower threshold with the vendor: the flag goes
        user=qa,
        kpi="right_first_time",
        weight=setting.weight,
        scores_1_at=Decimal("50"),  # 80 % right first time now scores 3.4, not 1
        scores_5_at=Decimal("90"),
        threshold=Decimal("70"),
        severity=setting.severity,
        reason="Agreed with the CMO",
    )
    assert Scorecard.objects.get().standing != "on_watch"
    latest = RiskAssessment.objects.filter(site=sterile_site).order_by("-pk").first()
    assert RiskAssessment.objects.filter(site=sterile_site).count() == before + 1
    assert latest.trigger == "Performance scorecards recomputed (KPI settings or rules)"
    assert latest.score < RiskAssessment.objects.filter(site=sterile_site).order_by("-pk")[1].score
