"""The scoring engine: multi-criteria decision methods on numpy arrays, with no Django import.

Conventions: a decision matrix has one row per alternative (vendor) and one column per
criterion; weights have one entry per criterion and are normalised to sum to 1 inside each
function. Scores stay on the rubric's fixed scale (1-5): nothing here re-normalises a
weighted sum over the current set of alternatives, so adding a dominated alternative can
never reorder the others. A missing score is NaN, never zero: totals over a row with a NaN
are NaN, and the application shows such rows as incomplete.

Every function is vectorised: no Python loop runs over alternatives or samples.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

# Saaty's random consistency index RI by matrix order n (Saaty, "The Analytic Hierarchy
# Process", 1980, for n <= 10; the usual extension to n = 15 after it). Index 0 is unused.
RANDOM_INDEX = np.array([0.0, 0.0, 0.0, 0.58, 0.90, 1.12, 1.24, 1.32, 1.41, 1.45, 1.49, 1.51, 1.48, 1.56, 1.57, 1.59])
SAATY_MIN, SAATY_MAX = 1 / 9, 9.0
CONSISTENCY_THRESHOLD = 0.10


def _matrix(matrix) -> np.ndarray:
    values = np.asarray(matrix, dtype=float)
    if values.ndim != 2:
        raise ValueError("the decision matrix must be 2-dimensional (alternatives x criteria)")
    return values


def _weights(weights, criteria: int) -> np.ndarray:
    values = np.asarray(weights, dtype=float)
    if values.shape != (criteria,):
        raise ValueError(f"expected {criteria} weights, got shape {values.shape}")
    if not np.all(np.isfinite(values)) or np.any(values < 0):
        raise ValueError("weights must be finite and non-negative")
    total = values.sum()
    if total <= 0:
        raise ValueError("at least one weight must be positive")
    return values / total


def weighted_sum(matrix, weights) -> np.ndarray:
    """Simple additive weighting (Fishburn 1967): score_i = sum_j w_j * x_ij.

    Criteria must share a common scale (the rubric); rows containing NaN give NaN.
    """
    values = _matrix(matrix)
    return values @ _weights(weights, values.shape[1])


def contributions(matrix, weights) -> np.ndarray:
    """Each criterion's share of each alternative's weighted sum: w_j * x_ij (m x n).

    Rows add up to `weighted_sum`; this is what the ranking's stacked bars show.
    """
    values = _matrix(matrix)
    return values * _weights(weights, values.shape[1])


def topsis(matrix, weights, benefit) -> np.ndarray:
    """TOPSIS closeness coefficients (Hwang & Yoon, "Multiple Attribute Decision Making", 1981).

    Vector normalisation r_ij = x_ij / sqrt(sum_i x_ij^2), weighting v_ij = w_j r_ij, ideal and
    anti-ideal per criterion (max/min for benefit criteria, min/max for cost criteria),
    Euclidean distances S+ and S-, closeness C_i = S-_i / (S+_i + S-_i) in [0, 1].
    Alternatives identical on every criterion get 0.5 (neither closer to the ideal nor to the anti-ideal).
    """
    values = _matrix(matrix)
    w = _weights(weights, values.shape[1])
    benefit = np.asarray(benefit, dtype=bool)
    if benefit.shape != (values.shape[1],):
        raise ValueError("benefit needs one flag per criterion")
    norms = np.sqrt(np.einsum("ij,ij->j", values, values))
    weighted = values * (w / np.where(norms > 0, norms, 1.0))
    column_max, column_min = weighted.max(axis=0), weighted.min(axis=0)
    ideal = np.where(benefit, column_max, column_min)
    anti_ideal = np.where(benefit, column_min, column_max)
    to_ideal = np.sqrt(((weighted - ideal) ** 2).sum(axis=1))
    to_anti = np.sqrt(((weighted - anti_ideal) ** 2).sum(axis=1))
    denominator = to_ideal + to_anti
    return np.divide(to_anti, denominator, out=np.full_like(to_anti, 0.5), where=denominator > 0)


class AhpResult(NamedTuple):
    weights: np.ndarray
    lambda_max: float
    consistency_index: float
    consistency_ratio: float


def validate_pairwise(pairwise) -> np.ndarray:
    """A pairwise comparison matrix on Saaty's 1-9 scale: square, positive, reciprocal."""
    a = np.asarray(pairwise, dtype=float)
    if a.ndim != 2 or a.shape[0] != a.shape[1]:
        raise ValueError("the pairwise comparison matrix must be square")
    n = a.shape[0]
    if n < 1 or n >= len(RANDOM_INDEX):
        raise ValueError(f"AHP supports 1 to {len(RANDOM_INDEX) - 1} criteria")
    if not np.all(np.isfinite(a)) or np.any(a <= 0):
        raise ValueError("comparisons must be positive numbers")
    tolerance = 1e-6
    if np.any(a < SAATY_MIN - tolerance) or np.any(a > SAATY_MAX + tolerance):
        raise ValueError("comparisons must lie on Saaty's scale, between 1/9 and 9")
    if not np.allclose(np.diag(a), 1.0):
        raise ValueError("a criterion compared with itself must be 1")
    if not np.allclose(a * a.T, 1.0, rtol=1e-3):
        raise ValueError("the matrix must be reciprocal: a_ji = 1 / a_ij")
    return a


def ahp_weights(pairwise) -> AhpResult:
    """Priority weights from a pairwise comparison matrix (Saaty 1977, 1980).

    Weights are the principal right eigenvector, normalised to sum to 1; lambda_max its
    eigenvalue; CI = (lambda_max - n) / (n - 1); CR = CI / RI(n) with RI from `RANDOM_INDEX`.
    For n <= 2 every reciprocal matrix is consistent and CI = CR = 0. A CR above 0.10 is
    conventionally too inconsistent to use without a recorded justification.
    """
    a = validate_pairwise(pairwise)
    n = a.shape[0]
    eigenvalues, eigenvectors = np.linalg.eig(a)
    principal = int(np.argmax(eigenvalues.real))
    vector = np.abs(eigenvectors[:, principal].real)
    weights = vector / vector.sum()
    lambda_max = float(eigenvalues[principal].real)
    if n <= 2:
        return AhpResult(weights, float(n), 0.0, 0.0)
    consistency_index = max((lambda_max - n) / (n - 1), 0.0)
    return AhpResult(weights, lambda_max, consistency_index, consistency_index / RANDOM_INDEX[n])


def rank(values) -> np.ndarray:
    """Competition ranks along the last axis: 1 = largest, ties share the best rank (1, 2, 2, 4).

    NaN (an incomplete alternative) ranks after every number, tied with the other NaNs.
    Works on a vector or on a stack of vectors (one ranking per row).
    """
    v = np.asarray(values, dtype=float)
    keys = np.fmax(v, -np.inf)  # NaN becomes -inf
    # Sort stability is irrelevant: tied values get the same rank whatever their order.
    order = np.argsort(-keys, axis=-1)
    if keys.ndim == 1:
        ordered = keys[order]
        starts = np.empty(ordered.shape, dtype=bool)
        starts[:1] = True
        np.not_equal(ordered[1:], ordered[:-1], out=starts[1:])
        positions = np.arange(1, ordered.size + 1)
        ranks = np.empty(ordered.shape, dtype=np.int64)
        ranks[order] = positions if starts.all() else np.maximum.accumulate(np.where(starts, positions, 0))
        return ranks
    ordered = np.take_along_axis(keys, order, axis=-1)
    starts = np.empty(ordered.shape, dtype=bool)
    starts[..., :1] = True
    np.not_equal(ordered[..., 1:], ordered[..., :-1], out=starts[..., 1:])
    # Inside a run of ties, every position takes the position where the run starts.
    run_start = np.maximum.accumulate(np.where(starts, np.arange(ordered.shape[-1]), 0), axis=-1)
    ranks = np.empty(ordered.shape, dtype=np.int64)
    np.put_along_axis(ranks, order, run_start + 1, axis=-1)
    return ranks


def sample_weights(weights, samples: int, concentration: float, seed) -> np.ndarray:
    """Weight vectors drawn from a Dirichlet distribution centred on `weights`.

    The Dirichlet parameters are concentration * w, so the mean is w and a larger
    concentration keeps samples closer to it. Criteria weighted 0 stay at 0.
    """
    if samples < 1:
        raise ValueError("samples must be at least 1")
    if concentration <= 0:
        raise ValueError("concentration must be positive")
    w = np.asarray(weights, dtype=float)
    w = _weights(w, w.shape[0])
    rng = np.random.default_rng(seed)
    positive = w > 0
    drawn = np.zeros((samples, w.shape[0]))
    drawn[:, positive] = rng.dirichlet(concentration * w[positive], size=samples)
    return drawn


def rank_acceptability(matrix, weights, samples: int = 10_000, concentration: float = 100.0, seed=None) -> np.ndarray:
    """Rank acceptability indices (Lahdelma, Hokkanen & Salminen 1998, SMAA-2), by Monte Carlo.

    Returns an m x m array whose [i, k] is the share of weight samples (Dirichlet around
    `weights`, see `sample_weights`) in which alternative i takes rank k + 1 under the weighted
    sum. Ties share the best rank. Each row sums to 1. Reproducible for a given seed.
    """
    values = _matrix(matrix)
    if np.isnan(values).any():
        raise ValueError("rank acceptability needs complete scores; leave incomplete alternatives out")
    m = values.shape[0]
    drawn = sample_weights(weights, samples, concentration, seed)
    counts = np.zeros(m * m, dtype=np.int64)
    alternatives = np.arange(m)
    # Chunks bound the memory of the samples x alternatives score table.
    chunk = max(1, min(samples, 4_000_000 // max(m, 1)))
    for start in range(0, samples, chunk):
        ranks = rank(drawn[start : start + chunk] @ values.T)
        counts += np.bincount((alternatives * m + ranks - 1).ravel(), minlength=m * m)
    return counts.reshape(m, m) / samples


class WeightSensitivity(NamedTuple):
    """One-at-a-time weight sensitivity of the leader (the alternative ranked first).

    For criterion j, lower[j] and upper[j] bound the weight of j (the others rescaled in
    proportion, so weights still sum to 1) within which the leader stays first; outside the
    range, lower_challenger[j] / upper_challenger[j] overtakes it (-1: nobody does).
    """

    leader: int
    weights: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    lower_challenger: np.ndarray
    upper_challenger: np.ndarray


def weight_sensitivity(matrix, weights) -> WeightSensitivity:
    """Tipping points of the weighted-sum leader when one criterion's weight changes.

    With criterion j's weight set to t and the others scaled by (1 - t) / (1 - w_j), each
    score is linear in t: s_i(t) = t x_ij + (1 - t) r_ij, r_ij being i's score on the other
    criteria alone. The leader L stays first while d_i(t) = s_L(t) - s_i(t) >= 0 for every i;
    each d_i is linear, so each rival gives at most one crossing t* = a / (a - b), with
    a = d_i(0) and b = d_i(1). Incomplete alternatives (NaN) are ignored.
    """
    values = _matrix(matrix)
    _m, n = values.shape
    w = _weights(weights, n)
    complete = ~np.isnan(values).any(axis=1)
    if not complete.any():
        raise ValueError("no alternative has a complete set of scores")
    totals = np.where(complete, values @ np.nan_to_num(w), -np.inf)
    leader = int(np.argmax(totals))
    x = np.where(complete[:, None], values, 0.0)
    rest_weight = 1.0 - w
    # r[i, j]: score of i on every criterion but j, with those weights renormalised.
    rest = np.divide((x @ w)[:, None] - x * w, rest_weight, out=np.zeros_like(x), where=rest_weight > 0)
    a = rest[leader] - rest  # d_i(0) for each criterion j: shape (m, n)
    b = x[leader] - x  # d_i(1)
    rivals = complete.copy()
    rivals[leader] = False
    lower = np.zeros(n)
    upper = np.ones(n)
    lower_challenger = np.full(n, -1)
    upper_challenger = np.full(n, -1)
    with np.errstate(divide="ignore", invalid="ignore"):
        crossing = np.where(a != b, a / (a - b), np.nan)
    # The leader leads at t = w_j, so d_i(w_j) >= 0. A crossing below w_j with d_i falling as t
    # decreases (a < 0) bounds the range from below; above w_j with b < 0, from above.
    below = rivals[:, None] & (a < 0) & (crossing <= w)
    above = rivals[:, None] & (b < 0) & (crossing >= w)
    low_candidates = np.where(below, crossing, -np.inf)
    high_candidates = np.where(above, crossing, np.inf)
    has_low, has_high = below.any(axis=0), above.any(axis=0)
    lower = np.where(has_low, low_candidates.max(axis=0), lower)
    upper = np.where(has_high, high_candidates.min(axis=0), upper)
    lower_challenger = np.where(has_low, low_candidates.argmax(axis=0), lower_challenger)
    upper_challenger = np.where(has_high, high_candidates.argmin(axis=0), upper_challenger)
    return WeightSensitivity(leader, w, lower, upper, lower_challenger, upper_challenger)


def aggregate(scores, method: str = "mean") -> np.ndarray:
    """Cell values from evaluators' scores (evaluators x alternatives x criteria, NaN = missing).

    Mean or median over the evaluators who scored the cell; a cell nobody scored stays NaN.
    """
    s = np.asarray(scores, dtype=float)
    if s.ndim != 3:
        raise ValueError("scores must be evaluators x alternatives x criteria")
    if method not in ("mean", "median"):
        raise ValueError("method must be 'mean' or 'median'")
    scored = ~np.isnan(s)
    count = scored.sum(axis=0)
    if method == "mean":
        total = np.where(scored, s, 0.0).sum(axis=0)
        return np.divide(total, count, out=np.full(count.shape, np.nan), where=count > 0)
    # Median ignoring NaN without warnings on empty cells: sort puts NaN last.
    ordered = np.sort(s, axis=0)
    low_index = np.clip((count - 1) // 2, 0, None)
    high_index = np.clip(count // 2, 0, None)
    low = np.take_along_axis(ordered, low_index[None], axis=0)[0]
    high = np.take_along_axis(ordered, high_index[None], axis=0)[0]
    return np.where(count > 0, (low + high) / 2, np.nan)


def disagreement(scores) -> np.ndarray:
    """Spread of evaluators' scores per cell: max - min over the evaluators who scored it.

    NaN where fewer than two evaluators scored the cell (no disagreement can be measured).
    """
    s = np.asarray(scores, dtype=float)
    scored = ~np.isnan(s)
    count = scored.sum(axis=0)
    high = np.where(scored, s, -np.inf).max(axis=0)
    low = np.where(scored, s, np.inf).min(axis=0)
    return np.where(count >= 2, high - low, np.nan)


def _average_ranks(values: np.ndarray) -> np.ndarray:
    """Ranks 1..m along the last axis, ties given the mean of the ranks they span."""
    order = np.argsort(values, axis=-1, kind="stable")
    ordered = np.take_along_axis(values, order, axis=-1)
    size = values.shape[-1]
    positions = np.broadcast_to(np.arange(size), ordered.shape)
    starts = np.concatenate(
        [np.ones((*ordered.shape[:-1], 1), dtype=bool), ordered[..., 1:] != ordered[..., :-1]], axis=-1
    )
    run_start = np.maximum.accumulate(np.where(starts, positions, 0), axis=-1)
    ends = np.concatenate([starts[..., 1:], np.ones((*ordered.shape[:-1], 1), dtype=bool)], axis=-1)
    run_end = np.flip(np.minimum.accumulate(np.flip(np.where(ends, positions, size), axis=-1), axis=-1), axis=-1)
    ranks = np.empty(values.shape)
    np.put_along_axis(ranks, order, (run_start + run_end) / 2 + 1, axis=-1)
    return ranks


def kendall_w(scores) -> np.ndarray:
    """Kendall's coefficient of concordance W per criterion (Kendall & Babington Smith 1939).

    `scores` is evaluators x alternatives x criteria. For each criterion, the alternatives
    scored by every evaluator are ranked per evaluator (ties get average ranks) and
    W = 12 S / (k^2 (m^3 - m) - k T), with S the sum of squared deviations of the rank sums
    from their mean and T = sum over tie groups of (t^3 - t). W is 1 when all evaluators agree
    and near 0 when they do not; NaN with fewer than two evaluators or alternatives.
    """
    s = np.asarray(scores, dtype=float)
    k, _m, n = s.shape
    result = np.full(n, np.nan)
    if k < 2:
        return result
    complete = ~np.isnan(s).any(axis=0)  # alternatives x criteria
    for j in np.flatnonzero(complete.sum(axis=0) >= 2):  # a loop over criteria, never alternatives
        ratings = s[:, complete[:, j], j]
        count = ratings.shape[1]
        ranks = _average_ranks(ratings)
        rank_sums = ranks.sum(axis=0)
        deviation = ((rank_sums - rank_sums.mean()) ** 2).sum()
        ordered = np.sort(ratings, axis=1)
        boundaries = np.concatenate(
            [np.ones((k, 1), bool), ordered[:, 1:] != ordered[:, :-1], np.ones((k, 1), bool)], axis=1
        )
        tie_sizes = np.diff(np.flatnonzero(boundaries.ravel()))
        tie_sizes = tie_sizes[tie_sizes > 0]
        ties = (tie_sizes**3 - tie_sizes).sum()
        denominator = k**2 * (count**3 - count) - k * ties
        result[j] = 12 * deviation / denominator if denominator > 0 else np.nan
    return result
