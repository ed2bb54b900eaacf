from datetime import date, timedelta
from decimal import Decimal

import pytest

from scoring import evidence

TODAY = date(2026, 11, 21)


def inspection(days_ago, classification="NAI", observations=0, letter=False, agency="FDA"):
    return {
        "site": "Plant",
        "agency": agency,
        "end_date": TODAY - timedelta(days=days_ago),
        "classification": classification,
        "form_483_observations": observations,
        "warning_letter": letter,
    }


def test_regulatory_track_record_weights_recent_inspections_more():
    assert evidence.regulatory_track_record([], TODAY).value is None
    assert evidence.regulatory_track_record([inspection(10)], TODAY).value == 5.0
    recent_bad = evidence.regulatory_track_record([inspection(30, "OAI"), inspection(3 * 365, "NAI")], TODAY)
    old_bad = evidence.regulatory_track_record([inspection(3 * 365, "OAI"), inspection(30, "NAI")], TODAY)
    assert recent_bad.value < old_bad.value
    # Three years old counts half: (1.5 * 1 + 5 * 0.5) / 1.5 (ages are measured in days, so approximately).
    assert old_bad.value == pytest.approx((5 * 0.98 + 1.5 * 0.5) / 1.48, abs=0.05)
    letter = evidence.regulatory_track_record([inspection(30, "VAI", 3, letter=True)], TODAY)
    assert letter.value == 1.0 and "warning letter" in letter.evidence[0]
    assert evidence.regulatory_track_record([inspection(30, "VAI", 6)], TODAY).value == 3.0
    # A target agency's inspection weighs twice as much as another agency's of the same age.
    mixed = [inspection(30, "OAI", agency="PMDA"), inspection(30, "NAI", agency="FDA")]
    assert evidence.regulatory_track_record(mixed, TODAY).value == pytest.approx((1.5 + 5) / 2, abs=0.01)
    assert evidence.regulatory_track_record(mixed, TODAY, ("FDA",)).value == pytest.approx(
        (1.5 * 0.5 + 5) / 1.5, abs=0.01
    )


def test_scope_fit():
    offer = {"services": ["a", "b"], "modalities": ["peptide"], "dosage_forms": [], "phases": ["phase-1"]}
    assert evidence.scope_fit({}, offer).value is None
    full = evidence.scope_fit({"services": ["a", "b"], "modality": "peptide", "phase": "phase-1"}, offer)
    assert full.value == 5.0
    half = evidence.scope_fit({"services": ["a", "c"]}, offer)
    assert half.value == 3.0 and "missing c" in half.evidence[0]
    partial = evidence.scope_fit({"services": ["a", "b"], "dosage_form": "oral-solid"}, offer)
    assert partial.value == pytest.approx(1 + 4 * (0.5 / 0.7), abs=0.01)


def site(name, low, high, unit):
    return {
        "name": name,
        "quality_regime": "cGMP",
        "scale_min": Decimal(low),
        "scale_max": Decimal(high),
        "scale_unit": unit,
    }


@pytest.mark.parametrize(
    ("sites", "expected"),
    [
        ([site("A", 10, 5000, "L")], 5.0),
        ([site("A", 10, 200, "L"), site("B", 1000, 8000, "L")], 4.0),
        ([site("A", 10, 200, "L")], 3.0),
        ([site("A", 150, 400, "L")], 2.0),
        ([site("A", 1, 5, "kg")], 1.0),
        ([], 1.0),
    ],
)
def test_scale_flexibility(sites, expected):
    requirement = {"unit": "L", "min": Decimal(50), "max": Decimal(200), "launch": Decimal(4000)}
    assert evidence.scale_flexibility(requirement, sites).value == expected


def test_scale_compares_grams_and_kilograms():
    requirement = {"unit": "g", "min": Decimal(500), "max": Decimal(2000), "launch": None}
    assert evidence.scale_flexibility(requirement, [site("K", "0.1", "5", "kg")]).value == 4.0


def test_knockouts():
    rules = [
        {"rule": "all_services", "years": 5},
        {"rule": "cgmp_dosage_form", "years": 5},
        {"rule": "no_red_flags", "years": 3},
        {"rule": "scale_range", "years": 5},
    ]
    requirement = {
        "services": ["a", "b"],
        "dosage_form": "oral-solid",
        "unit": "L",
        "min": Decimal(10),
        "max": Decimal(100),
    }
    offer = {"services": ["a"], "modalities": [], "dosage_forms": ["oral-solid"], "phases": []}
    reasons = evidence.knockouts(rules, requirement, offer, [site("A", 200, 500, "L")], [inspection(400, "OAI")], TODAY)
    assert reasons == [
        "does not offer b",
        "FDA OAI 2025-10-17 at Plant (last 3 years or still open)",
        "no site covers 10–100 L",
    ]
    offer["services"] = ["a", "b"]
    assert (
        evidence.knockouts(rules, requirement, offer, [site("A", 5, 500, "L")], [inspection(1500, "OAI")], TODAY) == []
    )


def test_a_candidates_scope_works_out_its_sites_once_for_every_criterion_and_gate():
    """The regulatory score, the red-flag gate and the warnings read one list of red flags; the sites
    that can do a step are worked out once; a caller cannot change what the next one reads."""
    steps = [{"id": 1, "step": "drug_product", "label": "Drug product", "services": ["fill"], "regime": "cGMP"}]
    proposed = dict(site("Fill line", 1, 10, "L"), id=1, capabilities=["fill"], flags=[])
    letter = {"date": TODAY - timedelta(days=30), "active": True, "label": "FDA warning letter"}
    other = dict(site("Tablets", 1, 10, "L"), id=2, capabilities=[], flags=[letter])
    scope = evidence.candidate_scope({"steps": steps}, [proposed, other], {1: [1]})
    inspections = [dict(inspection(100, "OAI"), site_id=1, site="Fill line")]
    flags = evidence.scope_red_flags(scope, inspections, TODAY, 2)
    assert [f["label"] for f in flags] == [f"FDA OAI {(TODAY - timedelta(days=100)).isoformat()}"]
    assert evidence.scope_red_flags(scope, inspections, TODAY, 2) is flags
    assert evidence.scope_red_flags(scope, inspections, TODAY, 2, others=True)[0]["site"] == "Tablets"
    assert evidence.able_sites(scope, steps[0]) is evidence.able_sites(scope, steps[0]) == [proposed]
    rules = [{"rule": "no_red_flags", "years": 2}, {"rule": "not_disqualified", "years": 2}]
    proposed["qualifications"] = [{"activity": None, "status": "disqualified"}]
    reasons = evidence.knockouts(
        rules, {"steps": steps}, {"services": []}, [proposed, other], inspections, TODAY, scope=scope
    )
    assert reasons == [
        f"FDA OAI {(TODAY - timedelta(days=100)).isoformat()} at proposed site Fill line (last 2 years or still open)",
        "Fill line is disqualified (all activities) on the approved-supplier list",
    ]
    barred = evidence.disqualifications({"steps": steps}, {}, [proposed, other], scope=scope)
    barred.append("changed by a caller")
    assert evidence.disqualifications({"steps": steps}, {}, [proposed, other], scope=scope) == [reasons[1]]
    notes = evidence.warnings([], {"steps": steps}, [proposed, other], inspections, TODAY, scope=scope)
    # (Fill line has an approved-supplier entry, so it is not "not yet qualified".)
    assert notes == ["FDA warning letter at Tablets, a site of the company not proposed"]


@pytest.mark.parametrize(
    ("value", "written"),
    [(Decimal("2000.000"), "2000"), (Decimal("2E+3"), "2000"), (2000, "2000"), (Decimal("0.50"), "0.5")],
)
def test_batch_sizes_are_written_as_people_write_them(value, written):
    assert evidence._size(value) == written
