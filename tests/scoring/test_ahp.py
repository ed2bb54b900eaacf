"""AHP judgments (scoring.ahp): the scale, parsing, completion, inconsistency help; then the consistency
gates through the service and the API (CR above 0.20 refused; 0.10-0.20 needs a sentence and the password)."""

import math

import pytest
from django.test import RequestFactory

from scoring import ahp, engine, services
from tests.factories import PASSWORD

# A consistent 6 x 6 matrix (weights 4:2:2:1:4:1) and one judgment (row 0 versus column 3) spoiled.
CONSISTENT = [
    [1, 2, 2, 4, 1, 4],
    [1 / 2, 1, 1, 2, 1 / 2, 2],
    [1 / 2, 1, 1, 2, 1 / 2, 2],
    [1 / 4, 1 / 2, 1 / 2, 1, 1 / 4, 1],
    [1, 2, 2, 4, 1, 4],
    [1 / 4, 1 / 2, 1 / 2, 1, 1 / 4, 1],
]
NAMES = ["Scope fit", "Regulatory", "Scale", "Technology transfer", "Quality systems", "Cultural fit"]


def spoiled(value):
    matrix = [row[:] for row in CONSISTENT]
    matrix[0][3], matrix[3][0] = value, 1 / value
    return matrix


MIDDLE = spoiled(1 / 3)  # CR 0.138: a sentence and the password
TOO_INCONSISTENT = spoiled(1 / 5)  # CR 0.216: refused


# --- the pure parts ---------------------------------------------------------------------------------


def test_the_scale_runs_from_one_ninth_to_nine():
    assert ahp.SCALE_LABELS[0] == "1/9" and ahp.SCALE_LABELS[8] == "1" and ahp.SCALE_LABELS[-1] == "9"
    assert len(ahp.SCALE) == 17
    values = [value for _label, value in ahp.SCALE]
    assert values == sorted(values) and values[0] == pytest.approx(1 / 9)


@pytest.mark.parametrize(
    ("text", "value"),
    [("3", 3), (" 1/3 ", 1 / 3), ("0.333333333", 1 / 3), (0.5, 0.5), (9, 9), ("1/9", 1 / 9), ("2.5", 2.5)],
)
def test_a_judgment_is_read_however_it_is_written(text, value):
    assert ahp.parse_judgment(text) == pytest.approx(value, rel=1e-6)


@pytest.mark.parametrize("bad", ["", "x", "1/0", "10", "1/10", "0", "-3", "nan", "inf", "1e3", None, True, [3]])
def test_a_judgment_off_the_scale_is_refused_with_the_rule(bad):
    with pytest.raises(ValueError, match=r"from 1/9 to 9"):
        ahp.parse_judgment(bad)


def test_labels_and_nearest_scale_value():
    assert ahp.label(1 / 3) == "1/3" and ahp.label(7.0) == "7" and ahp.label(2.5) == "2.5"
    assert ahp.nearest(2.9) == ("3", 3.0) and ahp.nearest(0.3)[0] == "1/3"
    assert ahp.nearest(40)[0] == "9" and ahp.nearest(0.001)[0] == "1/9"  # clamped to the scale


def test_upper_triangle_is_completed_into_the_reciprocal_matrix():
    matrix = ahp.complete(3, {(0, 1): 3.0, (1, 2): 1 / 5})
    assert matrix == [[1.0, 3.0, 1.0], [1 / 3, 1.0, 1 / 5], [1.0, 5.0, 1.0]]
    assert ahp.upper_triangle(matrix) == {(0, 1): 3.0, (0, 2): 1.0, (1, 2): 1 / 5}
    with pytest.raises(ValueError, match="above the diagonal"):
        ahp.complete(3, {(2, 1): 3.0})


def test_the_api_gives_the_whole_matrix_or_its_upper_triangle():
    whole = ahp.parse_pairwise([[1, "3"], ["1/3", 1]])
    assert whole == [[1.0, 3.0], [pytest.approx(1 / 3), 1.0]]
    triangle = ahp.parse_pairwise([["3", 1], ["1/5"]])
    assert triangle == ahp.complete(3, {(0, 1): 3.0, (0, 2): 1.0, (1, 2): 0.2})
    assert ahp.parse_pairwise([]) == [[1.0]]  # one criterion: nothing to compare
    for bad, message in [
        ([[1, 2, 3], [1]], "whole square matrix"),
        ("1,2", "list of rows"),
        ([1, 2], "Each row"),
        ([[1, 12], [1 / 12, 1]], "from 1/9 to 9"),
    ]:
        with pytest.raises(ValueError, match=message):
            ahp.parse_pairwise(bad)


def test_a_consistent_matrix_has_nothing_to_suggest():
    weights = engine.ahp_weights(CONSISTENT).weights
    assert ahp.inconsistencies(CONSISTENT, weights) == []


def test_the_spoiled_judgment_is_named_first_with_the_consistent_value():
    result = engine.ahp_weights(MIDDLE)
    assert 0.10 < result.consistency_ratio < 0.20
    found = ahp.inconsistencies(MIDDLE, result.weights)
    assert len(found) == 3
    worst = found[0]
    assert (worst.row, worst.column, worst.given_label, worst.suggestion) == (0, 3, "1/3", "1")
    assert worst.deviation == pytest.approx(abs(math.log(MIDDLE[0][3] * result.weights[3] / result.weights[0])))
    assert [f.deviation for f in found] == sorted((f.deviation for f in found), reverse=True)
    assert worst.describe(NAMES) == "Scope fit versus Technology transfer: you said 1/3, consistent would be 1"
    advice = ahp.inconsistency_advice(MIDDLE, result.weights, NAMES)
    assert advice.startswith("Scope fit versus Technology transfer: you said 1/3, consistent would be 1; ")
    assert advice.count(" versus ") == 3
    # Following the first suggestion brings the matrix back under the threshold.
    assert engine.ahp_weights(spoiled(1)).consistency_ratio < ahp.CONSISTENCY_THRESHOLD


@pytest.mark.parametrize(
    ("text", "enough"),
    [
        ("", False),
        ("test", False),
        ("test test test test test", False),  # no full stop
        ("Regulatory input", False),
        ("Because QA said so and they decide", False),  # no full stop
        ("QA insists on it.", False),  # 17 characters
        ("Quality outweighs everything for this program.", True),
        ("Regulatory affairs asked for this order!", True),
    ],
)
def test_a_justification_is_at_least_one_sentence(text, enough):
    problem = ahp.justification_problem(text)
    assert (problem is None) is enough
    if problem:
        assert "20 characters or more, 3 words or more, ending with a full stop" in problem


# --- through the service and the API ----------------------------------------------------------------


@pytest.fixture
def draft(users):
    return services.evaluation_create(lead=users["procurement"], name="AHP gates")


def signed_in_request(user):
    request = RequestFactory().post("/")
    request.user = user
    return request


@pytest.mark.django_db
def test_service_refuses_above_020_whatever_the_justification(draft, users):
    lead = users["procurement"]
    with pytest.raises(services.ScoringError) as refused:
        services.weights_set_ahp(
            evaluation=draft,
            user=lead,
            pairwise=TOO_INCONSISTENT,
            justification="Quality outweighs everything for this program.",
            password=PASSWORD,
            request=signed_in_request(lead),
        )
    assert refused.value.field == "pairwise"
    assert "CR = 0.216 > 0.20" in refused.value.message
    assert "Scope fit versus Technology transfer: you said 1/5, consistent would be 1" in refused.value.message
    assert draft.weight_sets.count() == 1


@pytest.mark.django_db
def test_service_between_010_and_020_needs_a_sentence_and_the_password(draft, users):
    lead = users["procurement"]
    request = signed_in_request(lead)
    good = "Quality outweighs everything for this program."
    with pytest.raises(services.ScoringError) as refused:
        services.weights_set_ahp(
            evaluation=draft, user=lead, pairwise=MIDDLE, justification="test", password=PASSWORD, request=request
        )
    assert refused.value.field == "justification" and "ending with a full stop" in refused.value.message
    assert "Scope fit versus Technology transfer: you said 1/3, consistent would be 1" in refused.value.message
    with pytest.raises(services.ScoringError) as refused:
        services.weights_set_ahp(
            evaluation=draft, user=lead, pairwise=MIDDLE, justification=good, password="wrong", request=request
        )
    assert refused.value.field == "password" and "not correct" in refused.value.message
    assert draft.weight_sets.count() == 1
    weight_set = services.weights_set_ahp(
        evaluation=draft, user=lead, pairwise=MIDDLE, justification=good, password=PASSWORD, request=request
    )
    assert weight_set.justification == good and weight_set.consistency_ratio == pytest.approx(0.138, abs=0.001)


@pytest.mark.django_db
def test_service_takes_consistent_weights_without_password_or_justification(draft, users):
    weight_set = services.weights_set_ahp(
        evaluation=draft, user=users["procurement"], pairwise=CONSISTENT, justification="ignored"
    )
    assert weight_set.consistency_ratio == pytest.approx(0, abs=1e-6) and weight_set.justification == ""


@pytest.mark.django_db
def test_api_gates_and_the_upper_triangle(api_as, draft, users):
    client = api_as("procurement")
    url = f"/api/v1/evaluations/{draft.pk}/weights/"
    refused = client.post(url, {"method": "ahp", "pairwise": TOO_INCONSISTENT}, format="json")
    assert refused.status_code == 400
    assert "you said 1/5, consistent would be 1" in refused.json()["pairwise"][0]
    sentence = "Quality outweighs everything for this program."
    body = {"method": "ahp", "pairwise": MIDDLE, "justification": sentence}
    no_password = client.post(url, body, format="json")
    assert no_password.status_code == 400 and "password" in no_password.json()
    short = client.post(url, {**body, "justification": "Regulatory input", "password": PASSWORD}, format="json")
    assert short.status_code == 400 and "at least one sentence" in short.json()["justification"][0]
    assert draft.weight_sets.count() == 1
    accepted = client.post(url, {**body, "password": PASSWORD}, format="json")
    assert accepted.status_code == 201, accepted.content
    assert "password" not in accepted.json()
    triangle = [[row[j] for j in range(i + 1, 6)] for i, row in enumerate(CONSISTENT[:-1])]
    triangle[0][0] = "2"  # strings are judgments too
    triangle[2][1] = "1/2"
    from_triangle = client.post(url, {"method": "ahp", "pairwise": triangle}, format="json")
    assert from_triangle.status_code == 201, from_triangle.content
    assert from_triangle.json()["percents"]["scope_fit"] == pytest.approx(100 * 4 / 14, abs=0.001)
    ragged = client.post(url, {"method": "ahp", "pairwise": [[1, 2, 3], [1]]}, format="json")
    assert ragged.status_code == 400 and "whole square matrix" in ragged.json()["pairwise"][0]


@pytest.mark.django_db
def test_direct_weights_accept_what_ahp_rounded_to(draft, users):
    lead = users["procurement"]
    keys = list(draft.top_criteria().values_list("key", flat=True))
    # What the page shows of an AHP result, two decimals each: adds up to 99.99.
    shown = dict(zip(keys, ["28.57", "14.29", "14.29", "7.14", "28.57", "7.13"], strict=True))
    weight_set = services.weights_set_direct(evaluation=draft, user=lead, percents=shown)
    stored = {w.criterion.key: w.percent for w in weight_set.weights.select_related("criterion")}
    assert sum(stored.values()) == 100
    with pytest.raises(services.ScoringError, match=r"within 0.05 %"):
        services.weights_set_direct(evaluation=draft, user=lead, percents={**shown, keys[0]: "28.50"})
