"""AHP judgments: Saaty's scale, reading a judgment, the reciprocal matrix, and what makes it inconsistent.

The one place that knows the scale and how people write a judgment ("3", "1/3", 0.333…), used by the
page form and the API alike; the weights themselves are computed by `engine.ahp_weights`.
Pure Python and numpy: no Django import.

Inconsistency help (Saaty 2003, "Decision-making with the AHP: Why is the principal eigenvector
necessary"): with the principal eigenvector w, a consistent judgment a_ij equals w_i / w_j. The
judgments whose ratio a_ij * w_j / w_i lies furthest from 1 (on a log scale) contribute most to the
inconsistency; the Saaty value nearest to w_i / w_j is the one that would agree with the weights.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from scoring import engine

# Saaty's 1-9 scale and its reciprocals, in the order a select lists them.
SCALE: tuple[tuple[str, float], ...] = tuple(
    [(f"1/{n}", 1 / n) for n in range(9, 1, -1)] + [(str(n), float(n)) for n in range(1, 10)]
)
SCALE_LABELS: tuple[str, ...] = tuple(label for label, _value in SCALE)
MEANINGS = {1: "equal", 3: "moderately", 5: "strongly", 7: "very strongly", 9: "extremely"}
# Shown with the comparisons: what the numbers mean.
HELP = (
    "How much more important is the row criterion than the column criterion? "
    + ", ".join(f"{n} = {meaning}" for n, meaning in MEANINGS.items())
    + "; fractions for the reverse."
)
JUDGMENT_HELP = "Each comparison is a number from 1/9 to 9 (e.g. 3 or 1/3)."

# Above CONSISTENCY_THRESHOLD (engine, 0.10) the weights need a justification and the lead's password;
# above REFUSE_ABOVE they are refused whatever the justification.
CONSISTENCY_THRESHOLD = engine.CONSISTENCY_THRESHOLD
REFUSE_ABOVE = 0.20
TOLERANCE = 1e-6

JUSTIFICATION_MIN_CHARACTERS = 20
JUSTIFICATION_MIN_WORDS = 3
JUSTIFICATION_RULE = (
    f"at least one sentence: {JUSTIFICATION_MIN_CHARACTERS} characters or more, "
    f"{JUSTIFICATION_MIN_WORDS} words or more, ending with a full stop"
)
SENTENCE_ENDS = (".", "!", "?", "…", ".)", ".”", '."')


def parse_judgment(value) -> float:
    """A judgment as a number: "3", "1/3", " 0.333 ", 3 or 1/3. Raises ValueError(JUDGMENT_HELP) if it is
    not a positive number from 1/9 to 9."""
    if isinstance(value, bool):
        raise ValueError(JUDGMENT_HELP)
    if isinstance(value, int | float):
        number = float(value)
    elif isinstance(value, str):
        text = value.strip()
        try:
            if "/" in text:
                top, bottom = text.split("/", 1)
                number = float(top) / float(bottom)
            else:
                number = float(text)
        except (ValueError, ZeroDivisionError, OverflowError):
            raise ValueError(JUDGMENT_HELP) from None
    else:
        raise ValueError(JUDGMENT_HELP)
    if not math.isfinite(number) or not engine.SAATY_MIN - TOLERANCE <= number <= engine.SAATY_MAX + TOLERANCE:
        raise ValueError(JUDGMENT_HELP)
    return number


def nearest(value: float) -> tuple[str, float]:
    """The scale's label and value nearest to a positive number, on a log scale (clamped to 1/9..9)."""
    target = math.log(min(max(value, engine.SAATY_MIN), engine.SAATY_MAX))
    return min(SCALE, key=lambda item: abs(math.log(item[1]) - target))


def label(value: float) -> str:
    """How a judgment reads: the scale's label ("1/3", "7") or, off the scale, the number ("2.5")."""
    scale_label, scale_value = nearest(value)
    if abs(scale_value - value) <= TOLERANCE * max(1.0, value):
        return scale_label
    return f"{value:.3g}"


def complete(size: int, judgments: Mapping[tuple[int, int], float]) -> list[list[float]]:
    """The reciprocal matrix from the judgments above the diagonal, {(i, j): a_ij} with i < j.

    A judgment left out counts as 1 (equal); a_ji = 1 / a_ij and the diagonal is 1.
    """
    matrix = [[1.0] * size for _ in range(size)]
    for (i, j), value in judgments.items():
        if not 0 <= i < j < size:
            raise ValueError(f"judgment ({i}, {j}) is not above the diagonal of a {size} x {size} matrix")
        matrix[i][j], matrix[j][i] = float(value), 1 / float(value)
    return matrix


def upper_triangle(matrix) -> dict[tuple[int, int], float]:
    """The judgments above the diagonal of a stored matrix, {(i, j): a_ij}."""
    size = len(matrix)
    return {(i, j): float(matrix[i][j]) for i in range(size) for j in range(i + 1, size)}


def parse_pairwise(rows) -> list[list[float]]:
    """The pairwise matrix as the API takes it: a full n x n matrix, or only the judgments above the
    diagonal (n - 1 rows of n - 1, n - 2, …, 1 entries), completed into the reciprocal matrix.

    Entries are numbers or strings such as "1/3". Raises ValueError with a message for the user.
    """
    if not isinstance(rows, Sequence) or isinstance(rows, str):
        raise ValueError("Give the comparisons as a list of rows.")
    if not all(isinstance(row, Sequence) and not isinstance(row, str) for row in rows):
        raise ValueError("Each row of comparisons is a list.")
    size = len(rows)
    if size == 0:
        return [[1.0]]  # the upper triangle of a single criterion: nothing to compare
    lengths = [len(row) for row in rows]
    try:
        if lengths == [size] * size:  # the whole matrix: read every entry, the engine checks reciprocity
            return [[parse_judgment(value) for value in row] for row in rows]
        if lengths == list(range(size, 0, -1)):  # the upper triangle of a (size + 1) x (size + 1) matrix
            judgments = {
                (i, i + 1 + k): parse_judgment(value) for i, row in enumerate(rows) for k, value in enumerate(row)
            }
            return complete(size + 1, judgments)
    except ValueError as error:
        raise ValueError(str(error)) from None
    raise ValueError(
        "Give either the whole square matrix (one row per criterion) or the judgments above its diagonal "
        "(n - 1 rows of n - 1, n - 2, …, 1 entries)."
    )


@dataclass(frozen=True)
class Inconsistency:
    """One judgment a_ij (row i versus column j) set against the weights it helped to produce."""

    row: int
    column: int
    given: float  # a_ij as entered
    consistent: float  # w_i / w_j
    suggestion: str  # the scale's label nearest to w_i / w_j
    deviation: float  # |log(a_ij * w_j / w_i)|: 0 when the judgment agrees with the weights

    @property
    def given_label(self) -> str:
        return label(self.given)

    def describe(self, names: Sequence[str]) -> str:
        return (
            f"{names[self.row]} versus {names[self.column]}: "
            f"you said {self.given_label}, consistent would be {self.suggestion}"
        )


def inconsistencies(matrix, weights, limit: int = 3) -> list[Inconsistency]:
    """The `limit` judgments above the diagonal that contribute most to the inconsistency, worst first,
    each with the Saaty value that would agree with the weights. Judgments whose nearest scale value is
    already the one entered are left out: there is nothing to suggest for them."""
    a = np.asarray(matrix, dtype=float)
    w = np.asarray(weights, dtype=float)
    size = a.shape[0]
    found = []
    for i in range(size):
        for j in range(i + 1, size):
            consistent = float(w[i] / w[j])
            suggestion, _value = nearest(consistent)
            if label(a[i, j]) == suggestion:
                continue
            deviation = abs(math.log(a[i, j] / consistent))
            found.append(Inconsistency(i, j, float(a[i, j]), consistent, suggestion, deviation))
    found.sort(key=lambda item: (-item.deviation, item.row, item.column))
    return found[:limit]


def inconsistency_advice(matrix, weights, names: Sequence[str], limit: int = 3) -> str:
    """The worst judgments in words, for a refusal: "A versus B: you said 7, consistent would be 3; …"."""
    return "; ".join(item.describe(names) for item in inconsistencies(matrix, weights, limit))


def justification_problem(text: str) -> str | None:
    """Why a justification of inconsistent comparisons is not enough, or None if it is."""
    text = (text or "").strip()
    words = [word for word in text.split() if any(ch.isalpha() for ch in word)]
    if (
        len(text) < JUSTIFICATION_MIN_CHARACTERS
        or len(words) < JUSTIFICATION_MIN_WORDS
        or not text.endswith(SENTENCE_ENDS)
    ):
        return f"Justify the inconsistent comparisons in {JUSTIFICATION_RULE}."
    return None
