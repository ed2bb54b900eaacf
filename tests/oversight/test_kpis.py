"""oversight/kpis.py on hand-computed cases: no database."""

from datetime import date

import pytest

from oversight import kpis

ZERO = dict.fromkeys(kpis.COUNT_FIELDS, 0)


def counts(**values):
    return {**ZERO, **values}


QUARTER = counts(
    batches_started=20,
    batches_released=18,
    batches_right_first_time=16,
    deviations_minor=4,
    deviations_major=1,
    deviations_critical=0,
    oos_results=1,
    deliveries_due=10,
    deliveries_on_time=9,
    capas_due=4,
    capas_closed_on_time=3,
    change_notifications_due=2,
    change_notifications_on_time=2,
    complaints=1,
)


def test_kpi_values_by_hand():
    results = {r.code: r for r in kpis.compute_kpis(QUARTER, kpis.default_settings())}
    # 16 / 18 = 88.888…%
    assert results["right_first_time"].value == pytest.approx(88.8889, abs=1e-4)
    assert results["right_first_time"].worked == "100 × 16 / 18 = 88.9 %"
    assert results["on_time_delivery"].value == 90.0
    assert results["capa_on_time"].value == 75.0
    assert results["change_notifications_on_time"].value == 100.0
    # (4 minor + 3 × 1 major + 9 × 0 critical) / 20 started = 7 / 20 = 0.35
    assert results["deviations_per_batch"].value == pytest.approx(0.35)
    assert results["deviations_per_batch"].worked == "(4 + 3 × 1 + 9 × 0) / 20 = 0.35"
    assert results["oos_per_batch"].value == pytest.approx(0.05)
    assert results["complaints"].value == 1.0


def test_scores_are_linear_and_clamped():
    # right first time: 1 at 80 %, 5 at 98 %: 88.889 -> 1 + 4 × 8.889 / 18 = 2.975… -> 2.98
    assert kpis.kpi_score(88.8889, 80, 98) == 2.98
    assert kpis.kpi_score(79, 80, 98) == 1.0
    assert kpis.kpi_score(99.5, 80, 98) == 5.0
    # lower is better: deviations 1 at 1.0, 5 at 0.05: 0.35 -> 1 + 4 × (0.35 − 1) / (0.05 − 1) = 3.7368… -> 3.74
    assert kpis.kpi_score(0.35, 1, 0.05) == 3.74
    with pytest.raises(ValueError):
        kpis.kpi_score(1, 2, 2)


def test_weighted_score_by_hand():
    results = kpis.compute_kpis(QUARTER, kpis.default_settings())
    scores = {r.code: r.score for r in results}
    # OTD 90 %: 1 + 4 × 20/28 = 3.857 -> 3.86; CAPA 75 %: 1 + 4 × 25/50 = 3.0; changes 100 %: 5.0;
    # OOS 0.05: 1 + 4 × (0.05 − 0.2)/(0 − 0.2) = 4.0; complaints 1: 1 + 4 × (1 − 6)/(0 − 6) = 4.333 -> 4.33
    assert scores == {
        "right_first_time": 2.98,
        "on_time_delivery": 3.86,
        "capa_on_time": 3.0,
        "change_notifications_on_time": 5.0,
        "deviations_per_batch": 3.74,
        "oos_per_batch": 4.0,
        "complaints": 4.33,
    }
    # (30 × 2.98 + 20 × 3.86 + 15 × 3.0 + 10 × 5.0 + 15 × 3.74 + 5 × 4.0 + 5 × 4.33) / 100 = 3.5925 -> 3.59
    assert kpis.weighted_score(results) == 3.59


def test_a_kpi_without_denominator_is_left_out_of_the_score():
    only_complaints = counts(complaints=0)
    results = kpis.compute_kpis(only_complaints, kpis.default_settings())
    by_code = {r.code: r for r in results}
    assert by_code["right_first_time"].value is None
    assert by_code["right_first_time"].display == "n/a"
    assert by_code["right_first_time"].flagged is False
    assert kpis.weighted_score(results) == 5.0  # complaints alone: 0 complaints scores 5
    no_weight = {code: kpis.Setting(0, s.scores_1_at, s.scores_5_at) for code, s in kpis.default_settings().items()}
    assert kpis.weighted_score(kpis.compute_kpis(only_complaints, no_weight)) is None


def test_flags_follow_the_direction_of_the_kpi():
    results = {r.code: r for r in kpis.compute_kpis(QUARTER, kpis.default_settings())}
    assert results["right_first_time"].flagged  # 88.9 % < 90 %
    assert results["right_first_time"].severity == "critical"
    assert not results["on_time_delivery"].flagged  # 90 % ≥ 85 %
    assert results["capa_on_time"].flagged  # 75 % < 80 %
    assert not results["deviations_per_batch"].flagged  # 0.35 ≤ 0.5
    assert not results["oos_per_batch"].flagged  # 0.05 ≤ 0.1
    assert kpis.flag_text(results["right_first_time"]) == (
        "Right first time 88.9 % is below the threshold of 90.0 % (critical)"
    )
    assert kpis.breaches(kpis.KPI_BY_CODE["complaints"], 4, 3)
    assert not kpis.breaches(kpis.KPI_BY_CODE["complaints"], 3, 3)


def test_standing_band_then_caps():
    rules = kpis.DEFAULT_RULES
    card = kpis.scorecard(QUARTER, kpis.default_settings(), rules)
    # 3.59 is "approved"; the critical RFT flag caps it at "on watch"
    assert card.score == 3.59
    assert card.standing == "on_watch"
    assert card.reasons[0] == "score 3.59 is in the band 3 ≤ score < 4.2: Approved"
    assert card.reasons[1] == "1 critical KPI flags (≥ 1): at most On watch"
    assert [f["kpi"] for f in card.flags] == ["right_first_time", "capa_on_time"]


def test_standing_bands_edges():
    perfect = counts(
        batches_started=10, batches_released=10, batches_right_first_time=10, deliveries_due=5, deliveries_on_time=5
    )
    card = kpis.scorecard(perfect, kpis.default_settings(), kpis.DEFAULT_RULES)
    assert card.score == 5.0
    assert card.standing == "preferred"  # the top band includes 5
    assert card.reasons == ["score 5.00 is in the band 4.2 ≤ score ≤ 5: Preferred"]
    one_critical = {**perfect, "deviations_critical": 1}
    card = kpis.scorecard(one_critical, kpis.default_settings(), kpis.DEFAULT_RULES)
    # 9 / 10 = 0.9 deviations per batch scores 1.42 and is flagged (warning); one critical deviation: at most approved
    assert card.standing == "approved"
    assert "1 critical deviations (≥ 1): at most Approved" in card.reasons
    two_critical = {**perfect, "deviations_critical": 2}
    assert kpis.scorecard(two_critical, kpis.default_settings(), kpis.DEFAULT_RULES).standing == "under_probation"
    assert kpis.standing(None, ZERO, [], kpis.DEFAULT_RULES) == ("not_rated", ["no KPI could be scored for the period"])


@pytest.mark.parametrize(
    ("bands", "message"),
    [
        ([{"standing": "approved", "min_score": 1, "max_score": 4}], "Gap: scores from 4 to 5 have no band."),
        (
            [
                {"standing": "preferred", "min_score": 4, "max_score": 5},
                {"standing": "approved", "min_score": 1, "max_score": 3.5},
            ],
            "Gap: scores from 3.5 to 4 have no band.",
        ),
        (
            [
                {"standing": "preferred", "min_score": 4, "max_score": 5},
                {"standing": "approved", "min_score": 1, "max_score": 4.5},
            ],
            "Overlap: Approved and Preferred both cover 4–4.5.",
        ),
        (
            [
                {"standing": "approved", "min_score": 3, "max_score": 5},
                {"standing": "preferred", "min_score": 1, "max_score": 3},
            ],
            "Approved is on higher scores than Preferred: better standings need higher scores.",
        ),
        (
            [{"standing": "approved", "min_score": 1, "max_score": 6}],
            "Band 1: needs 1 ≤ min_score < max_score ≤ 5 (got 1–6).",
        ),
        ([{"standing": "great", "min_score": 1, "max_score": 5}], "Band 1: the standing must be one of"),
        ([], "Give at least one score band."),
    ],
)
def test_rules_with_gap_overlap_or_nonsense_are_refused(bands, message):
    errors, _ = kpis.validate_rules(bands, [])
    assert any(text.startswith(message) for _, text in errors), errors


def test_rule_caps_are_checked_and_normalised():
    errors, _ = kpis.validate_rules(
        kpis.DEFAULT_RULES["bands"], [{"condition": "moon", "at_least": 0, "standing": "x"}]
    )
    assert [field for field, _ in errors] == ["caps", "caps", "caps"]
    errors, clean = kpis.validate_rules(
        [{"standing": "approved", "min_score": "1", "max_score": "5"}],
        [{"condition": "flags", "at_least": 2, "standing": "on_watch"}],
    )
    assert errors == []
    assert clean["bands"] == [{"standing": "approved", "min_score": 1.0, "max_score": 5.0}]


def test_contradictions_name_the_field():
    bad = counts(
        batches_started=5, batches_released=6, batches_right_first_time=7, deliveries_due=1, deliveries_on_time=2
    )
    assert kpis.contradictions(bad) == [
        ("batches_released", "More batches released than started."),
        ("batches_right_first_time", "More batches right first time than released."),
        ("deliveries_on_time", "More deliveries on time than due."),
    ]


def test_periods():
    assert kpis.quarter_of(date(2026, 11, 28)) == (date(2026, 10, 1), date(2026, 12, 31))
    assert kpis.quarter_of(date(2026, 2, 28)) == (date(2026, 1, 1), date(2026, 3, 31))
    assert kpis.next_quarter(date(2026, 12, 31)) == (date(2027, 1, 1), date(2027, 3, 31))
    assert kpis.period_label(date(2026, 4, 1), date(2026, 6, 30)) == "2026 Q2"
    assert kpis.period_label(date(2026, 4, 1), date(2026, 5, 31)) == "2026-04-01 – 2026-05-31"
