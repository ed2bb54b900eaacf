"""Program steps, proposed sites and default gates: a biologics program judged at the sites each
candidate would use (the QA expert's scenario: Phase II sterile injectable mAb, FDA + EMA, 2,000 L,
aseptic fill-finish)."""

from datetime import date, timedelta
from decimal import Decimal

import pytest

from scoring.models import KnockoutRule, ProposedSite
from tests.factories import (
    InspectionFactory,
    SiteFactory,
    SiteQualificationFactory,
    VendorFactory,
    WarningLetterFactory,
)
from vendors.models import DosageForm, Modality, Service, Site, Vendor

pytestmark = pytest.mark.django_db

DS = ["api-manufacturing"]
DP = ["drug-product-manufacturing", "fill-finish"]


def vendor(name: str, **extra) -> Vendor:
    made = VendorFactory(name=name, **extra)
    made.modalities.set(Modality.objects.filter(code="biologic-mab"))
    made.dosage_forms.set(DosageForm.objects.filter(code__in=["biologic-drug-substance", "sterile-injectable"]))
    made.services.set(Service.objects.filter(code__in=DS + DP))
    return made


def site(owner: Vendor, name: str, services, regime="cGMP", low=500, high=3000, unit="L", clean=True) -> Site:
    made = SiteFactory(
        vendor=owner,
        name=name,
        quality_regime=regime,
        scale_min=Decimal(low) if low is not None else None,
        scale_max=Decimal(high) if high is not None else None,
        scale_unit=unit if low is not None else "",
    )
    made.capabilities.set(Service.objects.filter(code__in=services))
    if clean:
        InspectionFactory(site=made, classification="NAI", end_date=date.today() - timedelta(days=400))
    return made


@pytest.fixture
def world(api_as, users):
    """Five candidates for the mAb program, each failing (or passing) one gate for its own reason."""
    strong = vendor("Strong Biologics")
    site(strong, "Strong mAb campus", DS)
    site(strong, "Strong fill line", DP, low=None)
    tablets = site(strong, "Strong tablet plant", ["drug-product-manufacturing"], low=None)
    WarningLetterFactory(site=tablets, issued_on=date.today() - timedelta(days=120), subject="CGMP/Finished tablets")

    oai = vendor("Recent OAI Bio")
    oai_campus = site(oai, "OAI campus", DS)
    InspectionFactory(site=oai_campus, classification="OAI", end_date=date.today() - timedelta(days=300))
    site(oai, "OAI fill line", DP, low=None)

    no_fill = vendor("No Fill Biotech")
    site(no_fill, "NF campus", DS)
    site(no_fill, "NF vial plant", ["drug-product-manufacturing"], low=None)

    small = vendor("Small Scale Bio")
    site(small, "Small campus", DS, low=50, high=500)
    site(small, "Small fill line", DP, low=None)

    glp = vendor("GLP Fill Labs")
    site(glp, "GLP campus", DS)
    site(glp, "GLP aseptic lab", DP, regime="GLP", low=None)

    lead = api_as("procurement")
    created = lead.post(
        "/api/v1/evaluations/",
        {
            "name": "Phase II sterile injectable mAb",
            "modality": "biologic-mab",
            "phase": "phase-2",
            "target_agencies": ["FDA", "EMA"],
            "evaluators": ["evaluator"],
        },
        format="json",
    )
    assert created.status_code == 201, created.content
    base = f"/api/v1/evaluations/{created.json()['id']}"
    steps = {}
    for body in (
        {
            "step": "drug_substance",
            "dosage_form": "biologic-drug-substance",
            "services": DS,
            "scale_unit": "L",
            "scale_min": "2000",
            "scale_max": "2000",
        },
        {"step": "drug_product", "dosage_form": "sterile-injectable", "services": DP},
    ):
        response = lead.post(f"{base}/steps/", body, format="json")
        assert response.status_code == 201, response.content
        steps[body["step"]] = response.json()
    assert steps["drug_product"]["quality_regime"] == "cGMP"  # the step's usual regime
    for made in (strong, oai, no_fill, small, glp):
        assert lead.post(f"{base}/candidates/", {"vendor": made.pk}, format="json").status_code == 201
    return {"base": base, "lead": lead, "steps": steps, "vendors": (strong, oai, no_fill, small, glp)}


def rows_of(world) -> dict:
    return {row["vendor_name"]: row for row in world["lead"].get(f"{world['base']}/ranking/").json()["rows"]}


def test_default_gates_knock_out_four_of_five_for_the_right_reason_at_the_right_site(world):
    rows = rows_of(world)
    assert not rows["Strong Biologics"]["knocked_out"] and rows["Strong Biologics"]["knockouts"] == []
    # The warning letter at an unrelated tablet plant is shown, not a gate.
    assert any(
        "warning letter" in w and "Strong tablet plant" in w and "not proposed" in w
        for w in rows["Strong Biologics"]["warnings"]
    )
    assert rows["Strong Biologics"]["proposed_sites"] == [
        {"step": "Drug substance (Biologic drug substance)", "sites": ["Strong mAb campus"]},
        {"step": "Drug product / fill-finish (Sterile injectable)", "sites": ["Strong fill line"]},
    ]
    reasons = {name: " | ".join(row["knockouts"]) for name, row in rows.items()}
    assert "FDA OAI" in reasons["Recent OAI Bio"] and "OAI campus" in reasons["Recent OAI Bio"]
    assert "Drug product / fill-finish (Sterile injectable): no site proposed" in reasons["No Fill Biotech"]
    assert "no proposed site covers 2000–2000 L" in reasons["Small Scale Bio"]
    assert "Drug product / fill-finish (Sterile injectable): no site proposed" in reasons["GLP Fill Labs"]
    for name in ("Recent OAI Bio", "No Fill Biotech", "Small Scale Bio", "GLP Fill Labs"):
        assert rows[name]["knocked_out"] and rows[name]["rank"] is None, name


def test_a_recent_oai_at_a_proposed_site_caps_the_regulatory_score_at_one(world):
    cell = next(c for c in rows_of(world)["Recent OAI Bio"]["cells"] if c["criterion"] == "regulatory_track_record")
    assert cell["value"] == 1.0
    assert "capped at 1" in cell["formula"] and any("OAI campus" in line for line in cell["evidence"])
    strong = next(c for c in rows_of(world)["Strong Biologics"]["cells"] if c["criterion"] == "regulatory_track_record")
    assert strong["value"] == 5.0  # the tablet plant's warning letter is not at a proposed site


def test_the_lead_proposes_sites_and_bad_proposals_change_nothing(world):
    lead, base, steps = world["lead"], world["base"], world["steps"]
    glp = world["vendors"][4]
    candidates = {c["vendor_name"]: c for c in lead.get(f"{base}/candidates/").json()}
    candidate = candidates["GLP Fill Labs"]
    url = f"{base}/candidates/{candidate['id']}/sites/"
    before = lead.get(url).json()
    ds, dp = str(steps["drug_substance"]["id"]), str(steps["drug_product"]["id"])
    campus = glp.sites.get(name="GLP campus").pk
    lab = glp.sites.get(name="GLP aseptic lab").pk
    other_vendor_site = world["vendors"][0].sites.first().pk
    for sites, expected in (
        ({ds: [campus]}, "choose at least one site"),  # a step without a site
        ({ds: [campus], dp: [lab]}, "GLP aseptic lab works under GLP, the step needs cGMP"),
        ({ds: [campus], dp: [other_vendor_site]}, "is not a site of GLP Fill Labs"),
        ({ds: [campus], "999999": [campus]}, "not steps of this program"),
    ):
        response = lead.put(url, {"sites": sites}, format="json")
        assert response.status_code == 400 and expected in str(response.json()["sites"]), response.content
        assert lead.get(url).json() == before
    assert lead.put(url, {"sites": "all"}, format="json").status_code == 400
    assert candidates["Strong Biologics"]["proposed_sites"]


def test_an_evaluator_cannot_change_steps_or_sites(world, api_as):
    evaluator = api_as("evaluator")
    base = world["base"]
    candidate = world["lead"].get(f"{base}/candidates/").json()[0]
    assert evaluator.post(f"{base}/steps/", {"step": "testing"}, format="json").status_code == 403
    assert evaluator.put(f"{base}/candidates/{candidate['id']}/sites/", {"sites": {}}, format="json").status_code == 403


def test_step_input_is_checked_and_steps_fix_once_scoring_starts(world):
    lead, base = world["lead"], world["base"]
    for body, field in (
        ({"step": "brewing"}, "step"),
        ({"step": "testing", "scale_min": "10"}, "scale_unit"),
        ({"step": "testing", "scale_unit": "L", "scale_min": "10", "scale_max": "5"}, "scale_max"),
        ({"step": "testing", "dosage_form": "potion"}, "dosage_form"),
        ({"step": "testing", "services": ["alchemy"]}, "services"),
        ({"step": "testing", "quality_regime": "ISO"}, "quality_regime"),
        ({"step": "drug_product", "dosage_form": "sterile-injectable"}, "step"),  # the same step twice
    ):
        response = lead.post(f"{base}/steps/", body, format="json")
        assert response.status_code == 400 and field in response.json(), (body, response.content)
    assert len(lead.get(f"{base}/steps/").json()) == 2
    # A step added later is suggested to every candidate at the sites that can do it.
    testing = lead.post(f"{base}/steps/", {"step": "testing", "services": []}, format="json")
    assert testing.status_code == 201
    assert lead.post(f"{base}/transition/", {"action": "start_scoring"}, format="json").status_code == 200
    assert lead.post(f"{base}/steps/", {"step": "packaging"}, format="json").status_code == 409
    step_id = testing.json()["id"]
    assert lead.delete(f"{base}/steps/{step_id}/").status_code == 409


def test_a_disqualified_site_or_vendor_is_knocked_out(world, users):
    strong = world["vendors"][0]
    SiteQualificationFactory(site=strong.sites.get(name="Strong fill line"), activity=None, status="disqualified")
    reasons = rows_of(world)["Strong Biologics"]["knockouts"]
    assert any("Strong fill line is disqualified (all activities)" in r for r in reasons)
    small = world["vendors"][3]
    Vendor.objects.filter(pk=small.pk).update(status=Vendor.Status.DISQUALIFIED)
    assert "disqualified in the register" in rows_of(world)["Small Scale Bio"]["knockouts"]


def test_company_wide_red_flags_become_a_gate_when_the_lead_asks(world):
    lead, base = world["lead"], world["base"]
    on = dict.fromkeys(KnockoutRule.DEFAULT_ON, 2) | {"company_red_flags": 2}
    assert lead.post(f"{base}/knockouts/", {"rules": on}, format="json").status_code == 200
    reasons = rows_of(world)["Strong Biologics"]["knockouts"]
    assert any("Strong tablet plant, another site of the company" in r for r in reasons)


def test_ranking_queries_do_not_grow_with_proposed_sites(world, api_as, django_assert_max_num_queries):
    lead, base = world["lead"], world["base"]
    with django_assert_max_num_queries(32):
        assert lead.get(f"{base}/ranking/").status_code == 200
    extra = vendor("Another Bio")
    for i in range(3):
        site(extra, f"Another campus {i}", DS)
        site(extra, f"Another fill {i}", DP, low=None)
    assert lead.post(f"{base}/candidates/", {"vendor": extra.pk}, format="json").status_code == 201
    assert ProposedSite.objects.filter(candidate__vendor=extra).count() == 6
    with django_assert_max_num_queries(32):
        assert lead.get(f"{base}/ranking/").status_code == 200


def test_a_disqualified_candidate_is_not_shortlisted_whatever_override(users):
    from scoring import services, shortlists
    from scoring.services import ScoringError
    from vendorselect import builders

    good, barred = VendorFactory(name="Good Co"), VendorFactory(name="Barred Co")
    for made in (good, barred):
        SiteFactory(vendor=made, name=f"{made.name} plant")
    evaluation, candidates = builders.reviewed_evaluation(
        lead=users["procurement"], evaluators=[users["evaluator"]], vendors=[good, barred], name="Shortlist gate"
    )
    SiteQualificationFactory(site=barred.sites.get(), activity=None, status="disqualified")
    services.candidate_override_knockout(candidate=candidates[1], user=users["procurement"], reason="We know them.")
    with pytest.raises(ScoringError) as refused:
        shortlists.shortlist_propose(
            evaluation=evaluation, user=users["procurement"], candidate_ids=[c.pk for c in candidates]
        )
    assert refused.value.field == "candidates" and "Barred Co" in refused.value.message
    assert not evaluation.shortlists.exists()
    shortlist = shortlists.shortlist_propose(
        evaluation=evaluation, user=users["procurement"], candidate_ids=[candidates[0].pk]
    )
    assert list(shortlist.entries.values_list("candidate_id", flat=True)) == [candidates[0].pk]


def test_the_lead_works_the_program_on_the_page(world, client_as, django_assert_max_num_queries):
    evaluation_id = int(world["base"].rstrip("/").split("/")[-1])
    page_url = f"/evaluations/{evaluation_id}/"
    lead = client_as("procurement")
    with django_assert_max_num_queries(60):  # five candidates, three sites each: a fixed number
        page = lead.get(page_url).content.decode()
    assert "Program steps" in page and "Drug product / fill-finish (Sterile injectable)" in page
    assert "Change sites" in page and "a site of the company not proposed" in page
    # A default gate turned off without a reason: refused, nothing changes.
    kept = [r for r in KnockoutRule.DEFAULT_ON if r != "scale_range"]
    done = lead.post(f"/evaluations/{evaluation_id}/knockouts/", {"rules": kept, "years": 2}, follow=True)
    assert "Record why these gates are off" in done.content.decode()
    assert KnockoutRule.objects.get(evaluation_id=evaluation_id, rule="scale_range").enabled
    lead.post(
        f"/evaluations/{evaluation_id}/knockouts/",
        {"rules": kept, "years": 2, "reason": "Scale is asked in the RFP."},
    )
    gate = KnockoutRule.objects.get(evaluation_id=evaluation_id, rule="scale_range")
    assert not gate.enabled and gate.off_reason == "Scale is asked in the RFP."
    assert "Off because: Scale is asked in the RFP." in lead.get(page_url).content.decode()
    # The page's site form: a GLP lab for aseptic fill-finish is refused with the reason.
    glp = world["vendors"][4]
    candidate = glp.candidacies.get()
    steps = {s["step"]: s["id"] for s in world["steps"].values()}
    prefix = f"c{candidate.pk}-step_"
    refused = lead.post(
        f"/evaluations/{evaluation_id}/candidates/{candidate.pk}/sites/",
        {
            f"{prefix}{steps['drug_substance']}": [glp.sites.get(name="GLP campus").pk],
            f"{prefix}{steps['drug_product']}": [glp.sites.get(name="GLP aseptic lab").pk],
        },
        follow=True,
    )
    assert "works under GLP, the step needs cGMP" in refused.content.decode()
    assert not candidate.proposed_sites.filter(site__name="GLP aseptic lab").exists()
    # A step added on the page.
    added = lead.post(
        f"/evaluations/{evaluation_id}/steps/", {"step": "testing", "services": ["release-testing"]}, follow=True
    )
    assert "Program step added" in added.content.decode()
    assert client_as("evaluator").post(f"/evaluations/{evaluation_id}/steps/", {"step": "packaging"}).status_code == 403


def test_shortlist_approval_needs_quality_assurance_when_the_policy_says_so(users):
    from accounts.models import Signature
    from accounts.roles import QA
    from scoring import shortlists
    from tests.factories import PASSWORD, UserFactory
    from vendorselect import builders

    vendors = [VendorFactory(name=f"QA Co {i}") for i in range(2)]
    evaluation, candidates = builders.reviewed_evaluation(
        lead=users["procurement"],
        evaluators=[users["evaluator"]],
        vendors=vendors,
        name="QA policy",
        qa_approval_required=True,
    )
    shortlist = builders.submitted_shortlist(
        evaluation=evaluation, proposer=users["procurement"], candidates=candidates, required_approvals=1
    )
    assert shortlist.snapshot["qa_approval_required"] is True
    shortlist = builders.approve(shortlist=shortlist, approvers=[users["manager"]], password=PASSWORD)
    assert shortlist.status == "submitted"  # one manager is enough by count, but QA has not signed
    qa = UserFactory(username="qa-head", roles=[QA])
    shortlist = builders.approve(shortlist=shortlist, approvers=[qa], password=PASSWORD)
    assert shortlist.status == "approved"
    meanings = {row["printed_name"]: row["meaning"] for row in shortlists.manifest(shortlist)}
    assert set(meanings.values()) == {"Approved", "Approved for quality"}
    assert Signature.objects.filter(meaning="approved_quality").count() == 1


def test_a_return_is_signed_as_returned_for_changes(users):
    from scoring import shortlists
    from tests.factories import PASSWORD
    from vendorselect import builders

    vendors = [VendorFactory(name=f"Ret Co {i}") for i in range(2)]
    evaluation, candidates = builders.reviewed_evaluation(
        lead=users["procurement"], evaluators=[users["evaluator"]], vendors=vendors, name="Returned"
    )
    shortlist = builders.submitted_shortlist(
        evaluation=evaluation, proposer=users["procurement"], candidates=candidates
    )
    shortlists.shortlist_decide(
        request=builders.signing_request(),
        shortlist=shortlist,
        user=users["manager"],
        decision="return",
        password=PASSWORD,
        seen_hash=shortlist.snapshot_hash,
        comment="Add the second fill line.",
    )
    assert [row["meaning"] for row in shortlists.manifest(shortlist)] == ["Returned for changes"]
