"""The scoring engine against published reference cases, independent oracles and properties."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from scoring import engine

# Hwang & Yoon (1981), "Multiple Attribute Decision Making", fighter aircraft example: maximum
# speed, ferry range, maximum payload, acquisition cost (a cost criterion), reliability,
# manoeuvrability. The book reports closeness 0.643, 0.268, 0.613, 0.312 (rank A1, A3, A4, A2).
AIRCRAFT = np.array(
    [
        [2.0, 1500, 20000, 5.5, 5, 9],
        [2.5, 2700, 18000, 6.5, 3, 5],
        [1.8, 2000, 21000, 4.5, 7, 7],
        [2.2, 1800, 20000, 5.0, 5, 5],
    ]
)
AIRCRAFT_WEIGHTS = [0.2, 0.1, 0.1, 0.1, 0.2, 0.3]
AIRCRAFT_BENEFIT = [True, True, True, False, True, True]


def test_topsis_matches_hwang_and_yoon_aircraft_example():
    closeness = engine.topsis(AIRCRAFT, AIRCRAFT_WEIGHTS, AIRCRAFT_BENEFIT)
    # The book rounds its intermediate tables to 4 decimals; its results agree to about 0.005.
    np.testing.assert_allclose(closeness, [0.643, 0.268, 0.613, 0.312], atol=0.005)
    assert engine.rank(closeness).tolist() == [1, 4, 2, 3]


def test_topsis_identical_alternatives_are_undecided():
    assert engine.topsis([[3, 3], [3, 3]], [1, 1], [True, True]).tolist() == [0.5, 0.5]


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ([0.9, 0.5, 0.5, 0.1], [1, 2, 2, 4]),
        ([1, 1, 1], [1, 1, 1]),
        ([0.2, 0.8, 0.5], [3, 1, 2]),
        ([np.nan, 2.0, 3.0, np.nan], [3, 2, 1, 3]),
        ([5.0], [1]),
    ],
)
def test_rank_competition_ties(values, expected):
    assert engine.rank(values).tolist() == expected


def test_rank_works_row_by_row():
    ranks = engine.rank([[1, 2, 2], [3, 1, 2]])
    assert ranks.tolist() == [[3, 1, 1], [1, 3, 2]]


def test_weighted_sum_normalises_weights_and_keeps_missing_scores_missing():
    matrix = [[5, 1], [3, 3], [4, np.nan]]
    np.testing.assert_allclose(engine.weighted_sum(matrix, [3, 1])[:2], [4.0, 3.0])
    assert np.isnan(engine.weighted_sum(matrix, [3, 1])[2])
    np.testing.assert_allclose(engine.contributions(matrix, [3, 1])[0], [3.75, 0.25])


@pytest.mark.parametrize("weights", [[1, -1], [0, 0], [np.nan, 1], [1, 2, 3]])
def test_bad_weights_are_refused(weights):
    with pytest.raises(ValueError):
        engine.weighted_sum([[1, 2]], weights)


# Saaty (1990), "How to make a decision: The Analytic Hierarchy Process", European Journal of
# Operational Research 48, 9-26: the house-buying example's eight criteria (size, transportation,
# neighbourhood, age, yard, modern facilities, general condition, financing). Published results:
# weights .173 .054 .188 .018 .031 .036 .167 .333, lambda_max 9.669, C.I. 0.238, C.R. 0.169.
SAATY_HOUSE = [
    [1, 5, 3, 7, 6, 6, 1 / 3, 1 / 4],
    [1 / 5, 1, 1 / 3, 5, 3, 3, 1 / 5, 1 / 7],
    [1 / 3, 3, 1, 6, 3, 4, 6, 1 / 5],
    [1 / 7, 1 / 5, 1 / 6, 1, 1 / 3, 1 / 4, 1 / 7, 1 / 8],
    [1 / 6, 1 / 3, 1 / 3, 3, 1, 1 / 2, 1 / 5, 1 / 6],
    [1 / 6, 1 / 3, 1 / 4, 4, 2, 1, 1 / 5, 1 / 6],
    [3, 5, 1 / 6, 7, 5, 5, 1, 1 / 2],
    [4, 7, 5, 8, 6, 6, 2, 1],
]


def test_ahp_matches_saaty_house_example():
    result = engine.ahp_weights(SAATY_HOUSE)
    np.testing.assert_allclose(result.weights, [0.173, 0.054, 0.188, 0.018, 0.031, 0.036, 0.167, 0.333], atol=0.0005)
    assert result.lambda_max == pytest.approx(9.669, abs=0.0005)
    assert result.consistency_index == pytest.approx(0.238, abs=0.0005)
    assert result.consistency_ratio == pytest.approx(0.169, abs=0.0005)


def test_ahp_consistent_matrix_recovers_the_ratio_scale():
    # For a consistent matrix a_ij = w_i / w_j, the principal eigenvector is w and
    # lambda_max = n (Saaty 1977, theorem 1), so CI = CR = 0.
    w = np.array([0.5, 0.25, 0.125, 0.125])
    result = engine.ahp_weights(w[:, None] / w[None, :])
    np.testing.assert_allclose(result.weights, w)
    assert result.lambda_max == pytest.approx(4)
    assert result.consistency_ratio == pytest.approx(0, abs=1e-9)


def test_ahp_inconsistent_matrix_against_power_iteration():
    a = np.array([[1, 3, 1 / 5], [1 / 3, 1, 7], [5, 1 / 7, 1]])  # a circular preference
    result = engine.ahp_weights(a)
    vector = np.ones(3)
    for _ in range(200):  # independent oracle: power iteration converges to the principal pair
        vector = a @ vector
        vector /= vector.sum()
    np.testing.assert_allclose(result.weights, vector, atol=1e-9)
    lambda_max = (a @ vector / vector).mean()
    assert result.lambda_max == pytest.approx(lambda_max)
    assert result.consistency_index == pytest.approx((lambda_max - 3) / 2)
    assert result.consistency_ratio == pytest.approx((lambda_max - 3) / 2 / 0.58)
    assert result.consistency_ratio > engine.CONSISTENCY_THRESHOLD


def test_ahp_two_criteria_is_always_consistent():
    result = engine.ahp_weights([[1, 3], [1 / 3, 1]])
    np.testing.assert_allclose(result.weights, [0.75, 0.25])
    assert result.consistency_ratio == 0


@pytest.mark.parametrize(
    ("matrix", "message"),
    [
        ([[1, 10], [0.1, 1]], "Saaty's scale"),
        ([[1, 3], [3, 1]], "reciprocal"),
        ([[2, 3], [1 / 3, 1]], "itself"),
        ([[1, -3], [-1 / 3, 1]], "positive"),
        ([[1, 2, 3]], "square"),
    ],
)
def test_ahp_refuses_bad_matrices(matrix, message):
    with pytest.raises(ValueError, match=message):
        engine.ahp_weights(matrix)


def test_rank_acceptability_is_reproducible_and_sums_to_one():
    matrix = np.array([[4.0, 2.0, 3.0], [3.0, 4.0, 2.0], [1.0, 1.0, 1.0]])
    a = engine.rank_acceptability(matrix, [0.4, 0.3, 0.3], samples=5000, seed=7)
    b = engine.rank_acceptability(matrix, [0.4, 0.3, 0.3], samples=5000, seed=7)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(a.sum(axis=1), 1.0)
    assert a[2, 2] == 1.0  # dominated by everyone: always last
    assert a[0, 0] + a[1, 0] == pytest.approx(1.0)


def test_rank_acceptability_against_straightforward_version():
    rng = np.random.default_rng(1)
    matrix = rng.uniform(1, 5, size=(12, 6))
    weights = rng.uniform(0.1, 1, size=6)
    fast = engine.rank_acceptability(matrix, weights, samples=2000, concentration=20, seed=3)
    samples = engine.sample_weights(weights, 2000, 20, 3)
    scores = samples @ matrix.T
    positions = np.argsort(np.argsort(-scores, axis=1), axis=1)  # no ties with continuous data
    slow = np.zeros((12, 12))
    np.add.at(slow, (np.broadcast_to(np.arange(12), positions.shape), positions), 1)
    np.testing.assert_allclose(fast, slow / 2000)


def test_zero_weights_stay_zero_in_samples():
    drawn = engine.sample_weights([0.5, 0, 0.5], 100, 50, 0)
    assert np.all(drawn[:, 1] == 0)
    np.testing.assert_allclose(drawn.sum(axis=1), 1)


def test_weight_sensitivity_tipping_points_by_brute_force():
    matrix = np.array([[5, 2, 4], [3, 5, 3], [4, 4, 1], [2, 1, 5]], dtype=float)
    weights = np.array([0.5, 0.3, 0.2])
    result = engine.weight_sensitivity(matrix, weights)
    assert result.leader == int(np.argmax(matrix @ weights))
    grid = np.linspace(0, 1, 20001)
    for j in range(3):
        others = np.delete(np.arange(3), j)
        stays = []
        for t in grid:
            w = np.empty(3)
            w[j] = t
            w[others] = weights[others] * (1 - t) / (1 - weights[j])
            scores = matrix @ w
            stays.append(scores[result.leader] >= scores.max() - 1e-12)
        stays = np.array(stays)
        inside = grid[stays]
        assert result.lower[j] == pytest.approx(inside.min(), abs=1e-4)
        assert result.upper[j] == pytest.approx(inside.max(), abs=1e-4)
        if result.lower[j] > 0:
            t = result.lower[j] - 1e-3
            w = np.empty(3)
            w[j] = t
            w[others] = weights[others] * (1 - t) / (1 - weights[j])
            assert int(np.argmax(matrix @ w)) == result.lower_challenger[j]


def test_aggregate_and_disagreement_with_missing_scores():
    nan = np.nan
    scores = np.array(
        [
            [[5, 3], [2, nan]],
            [[3, 3], [nan, nan]],
            [[4, nan], [nan, nan]],
        ]
    )
    np.testing.assert_allclose(engine.aggregate(scores, "mean"), [[4, 3], [2, nan]])
    np.testing.assert_allclose(engine.aggregate(scores, "median"), [[4, 3], [2, nan]])
    np.testing.assert_allclose(engine.disagreement(scores), [[2, 0], [nan, nan]])
    with pytest.raises(ValueError):
        engine.aggregate(scores, "mode")


def _kendall_w_reference(ratings):
    """The textbook formula, written plainly with loops: the oracle for the vectorised version."""
    k, m = ratings.shape
    ranks = np.zeros((k, m))
    ties = 0.0
    for e in range(k):
        for i in range(m):
            below = sum(1 for x in ratings[e] if x < ratings[e, i])
            equal = sum(1 for x in ratings[e] if x == ratings[e, i])
            ranks[e, i] = below + (equal + 1) / 2
        for value in set(ratings[e]):
            t = list(ratings[e]).count(value)
            ties += t**3 - t
    sums = ranks.sum(axis=0)
    s = ((sums - sums.mean()) ** 2).sum()
    return 12 * s / (k**2 * (m**3 - m) - k * ties)


def test_kendall_w():
    agree = np.array([[[1], [2], [3], [4]], [[1], [2], [3], [4]], [[2], [3], [4], [5]]], dtype=float)
    assert engine.kendall_w(agree)[0] == pytest.approx(1.0)
    rng = np.random.default_rng(5)
    scores = rng.integers(1, 6, size=(4, 9, 3)).astype(float)
    for j in range(3):
        assert engine.kendall_w(scores)[j] == pytest.approx(_kendall_w_reference(scores[:, :, j]))
    assert np.isnan(engine.kendall_w(scores[:1])).all()


weights_strategy = arrays(float, 6, elements=st.floats(0.01, 10))
matrix_strategy = arrays(float, (8, 6), elements=st.floats(1, 5))


@settings(max_examples=60, deadline=None)
@given(matrix_strategy, weights_strategy, st.floats(0.1, 100))
def test_scaling_weights_keeps_the_ranking(matrix, weights, factor):
    base = engine.weighted_sum(matrix, weights)
    scaled = engine.weighted_sum(matrix, weights * factor)
    np.testing.assert_allclose(base, scaled, rtol=1e-9)
    assert np.array_equal(engine.rank(np.round(base, 9)), engine.rank(np.round(scaled, 9)))


@settings(max_examples=60, deadline=None)
@given(matrix_strategy, weights_strategy, arrays(float, 6, elements=st.floats(0, 2)))
def test_a_dominated_alternative_never_outranks_its_dominator(matrix, weights, gap):
    dominated = matrix[0] - gap  # no better anywhere
    extended = np.vstack([matrix, dominated])
    ranks = engine.rank(engine.weighted_sum(extended, weights))
    assert ranks[-1] >= ranks[0]
    closeness = engine.topsis(extended, weights, [True] * 6)
    assert closeness[-1] <= closeness[0] + 1e-12


@settings(max_examples=40, deadline=None)
@given(matrix_strategy, weights_strategy)
def test_adding_a_dominated_alternative_does_not_reorder_the_others(matrix, weights):
    before = engine.rank(engine.weighted_sum(matrix, weights))
    worst = np.full((1, 6), 0.5)  # below the rubric's floor on every criterion
    after = engine.rank(engine.weighted_sum(np.vstack([matrix, worst]), weights))[:-1]
    assert np.array_equal(before, after)


@settings(max_examples=40, deadline=None)
@given(arrays(float, 5, elements=st.floats(0.05, 1)))
def test_ahp_weights_sum_to_one(w):
    result = engine.ahp_weights(np.clip(w[:, None] / w[None, :], 1 / 9, 9))
    assert result.weights.sum() == pytest.approx(1)
    assert np.all(result.weights > 0)


def test_engine_imports_numpy_and_not_django():
    import subprocess
    import sys

    code = "import sys, scoring.engine; print(sorted(m for m in sys.modules if m.split('.')[0] == 'django'))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
