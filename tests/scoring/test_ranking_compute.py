"""The ranking computation on hand-built inputs: no database."""

import datetime
from types import SimpleNamespace

import numpy as np
import pytest

from scoring.ranking_compute import (
    CandidateInput,
    Cell,
    CriterionInput,
    EvaluatorInput,
    Ranking,
    RankingInputs,
    Row,
    compute_ranking,
    sensitivity,
)
from scoring.serializers import RankingCellSerializer, RankingRowSerializer, RankingSerializer, row_data

NAN = np.nan
TODAY = datetime.date(2026, 1, 15)
REQUIREMENT = {
    "services": ["FILL"],
    "modality": None,
    "dosage_form": None,
    "phase": None,
    "unit": "",
    "min": None,
    "max": None,
    "launch": None,
    "agencies": (),
}
OFFER = {"services": ["FILL"], "modalities": [], "dosage_forms": [], "phases": []}


def inputs(leaf_scores, *, weights=(50.0, 30.0, 20.0, 0.0), withheld=False, viewer_index=None, **overrides):
    """Candidates A, B, C; criteria: quality (judged), cost (two sub-criteria, local weights 3:1),
    scope (derived: scope fit) and scale (derived, not applicable: the evaluation sets no scale)."""
    leaf_scores = np.array(leaf_scores, dtype=float)
    values = {
        "aggregation": "mean",
        "criteria": [
            CriterionInput(id=1, key="quality", name="Quality", leaves=(0,)),
            CriterionInput(
                id=2,
                key="cost",
                name="Cost",
                leaves=(1, 2),
                local_weights=(3.0, 1.0),
                parts=("Price (local weight 3)", "Terms (local weight 1)"),
            ),
            CriterionInput(id=3, key="scope", name="Scope", evidence="scope_fit"),
            CriterionInput(id=4, key="scale", name="Scale", evidence="scale"),
        ],
        "weights": np.array(weights),
        "candidates": [
            CandidateInput(id=10, vendor_id=100, vendor_name="Beta"),
            CandidateInput(id=11, vendor_id=101, vendor_name="alpha"),
            CandidateInput(id=12, vendor_id=102, vendor_name="Gamma"),
        ],
        "evaluators": [EvaluatorInput(id=7, submitted=True), EvaluatorInput(id=8)],
        "leaf_scores": leaf_scores,
        "filled": (~np.isnan(leaf_scores)).sum(axis=(1, 2)),
        "requirement": REQUIREMENT,
        "today": TODAY,
        "facts": {vendor: (OFFER, [], []) for vendor in (100, 101, 102)},
        "withheld": withheld,
        "viewer_index": viewer_index,
    }
    values.update(overrides)
    return RankingInputs(**values)


# evaluators x candidates x leaves (quality, price, terms)
FULL = [
    [[5, 4, 4], [3, 2, 2], [4, 5, 1]],
    [[3, 4, 4], [3, 2, 2], [4, 5, 1]],
]


def by_vendor(result: Ranking) -> dict[str, Row]:
    return {row.candidate.vendor_name: row for row in result.rows}


def test_totals_ranks_and_cells_from_hand_built_inputs():
    result = compute_ranking(inputs(FULL))
    rows = by_vendor(result)
    # quality: means 4, 3, 4; cost: (3·price + terms)/4 = 4, 2, 4; scope: 5 (offers the one service)
    assert rows["Beta"].cells[0].value == 4.0 and rows["Beta"].cells[0].spread is not None
    assert rows["Beta"].cells[1].value == 4.0
    assert rows["Beta"].cells[1].formula == "weighted mean of sub-criteria"
    assert rows["Beta"].cells[1].evidence == ["Price (local weight 3)", "Terms (local weight 1)"]
    assert rows["Beta"].cells[2].derived and rows["Beta"].cells[2].value == 5.0
    # scale does not apply: weight 0, no value, not missing
    scale = rows["Beta"].cells[3]
    assert scale.not_applicable and scale.value is None and scale.formula == "not applicable"
    assert result.weights.tolist() == [50.0, 30.0, 20.0, 0.0]
    assert result.not_applicable_reasons[3] is not None and result.not_applicable_reasons[:3] == [None] * 3
    assert rows["Beta"].total == pytest.approx((50 * 4 + 30 * 4 + 20 * 5) / 100)
    assert rows["alpha"].total == pytest.approx((50 * 3 + 30 * 2 + 20 * 5) / 100)
    assert [row.candidate.vendor_name for row in result.rows] == ["Beta", "Gamma", "alpha"]
    assert [row.rank for row in result.rows] == [1, 1, 3]
    assert all(row.completeness == 1.0 for row in result.rows)
    assert [p[1:] for p in result.evaluator_progress] == [(9, 9, True), (9, 9, False)]


def test_a_missing_score_leaves_the_candidate_incomplete_and_unranked():
    scores = np.array(FULL, dtype=float)
    scores[:, 1, 2] = NAN  # nobody scored alpha's terms: its cost is missing
    result = compute_ranking(inputs(scores))
    alpha = by_vendor(result)["alpha"]
    assert alpha.cells[1].value is None and alpha.total is None and alpha.rank is None
    assert alpha.completeness == pytest.approx(4 / 6)
    assert result.rows[-1] is alpha


def test_knockouts_and_overrides():
    result = compute_ranking(
        inputs(
            FULL,
            knockout_rules=[{"rule": "all_services", "years": None}],
            facts={100: (OFFER, [], []), 101: (OFFER, [], []), 102: ({**OFFER, "services": []}, [], [])},
            overrides={(10, 3): (2.0, "site visit")},
        )
    )
    rows = by_vendor(result)
    assert rows["Gamma"].knocked_out and rows["Gamma"].knockouts and rows["Gamma"].rank is None
    assert rows["Gamma"].total is not None  # listed with its total, not ranked
    assert rows["Beta"].cells[2].value == 2.0 and rows["Beta"].cells[2].overridden
    assert rows["Beta"].cells[2].evidence[-1] == "overridden: site visit"


def test_withheld_inputs_give_only_the_viewers_own_scores():
    own = np.full((2, 3, 3), NAN)
    own[1] = FULL[1]  # the loader gives a blind viewer only their own scores
    result = compute_ranking(inputs(own, withheld=True, viewer_index=1, filled=np.array([9, 9])))
    assert result.withheld and result.matrix is None
    assert [row.candidate.vendor_name for row in result.rows] == ["alpha", "Beta", "Gamma"]
    for row in result.rows:
        assert row.total is None and row.rank is None and row.contributions == [0.0] * 4
        assert row.cells[2].value is None  # derived values may carry another evaluator's override
    assert by_vendor(result)["Beta"].cells[0].value == 3.0
    assert list(result.agreement) == [None] * 4
    assert sensitivity(result)["tipping"] is None


def test_no_evaluators_and_no_candidates():
    empty = compute_ranking(inputs(np.empty((2, 0, 3)), candidates=[], facts={}))
    assert empty.rows == []
    nobody = compute_ranking(inputs(np.empty((0, 3, 3)), evaluators=[], filled=np.zeros(0, dtype=int)))
    assert all(row.total is None and row.completeness == 0.0 for row in nobody.rows)


def test_the_serializer_writes_exactly_its_declared_fields():
    criteria = [SimpleNamespace(id=1, key="quality", name="Quality", evidence="")]
    vendor = SimpleNamespace(name="Beta")
    candidate = SimpleNamespace(pk=10, vendor_id=100, vendor=vendor, knockout_override=False)
    row = Row(candidate, [Cell(4.0, spread=2.0)], 4.0, 1, [4.0], 1.0, [], False)
    data = row_data(row, ["quality"])
    assert list(data) == list(RankingRowSerializer().fields)
    assert list(data["cells"][0]) == list(RankingCellSerializer().fields)
    assert data["cells"][0]["disagreement"] is True
    result = Ranking(
        evaluation=None,
        criteria=criteria,
        weights=np.array([100.0]),
        weight_set=SimpleNamespace(version=2),
        rows=[row],
        agreement=[None],
        evaluator_progress=[],
    )
    payload = RankingSerializer(result).data
    assert set(payload) == set(RankingSerializer().fields) - {"detail"}
    assert payload["weights"] == {"quality": 100.0} and payload["weights_version"] == 2


def test_rows_and_cells_hold_plain_python_numbers():
    """The arrays are read into Python values once (tolist): what the rows carry is float, int and
    bool, never numpy scalars, and serializes as before."""
    result = compute_ranking(inputs(np.array([[[5, 4, 3], [3, 3, 3], [1, 2, 4]], [[4, 4, 3], [3, 2, 3], [2, 2, 5]]])))
    for row in result.rows:
        assert type(row.total) is float and type(row.rank) is int and type(row.knocked_out) is bool
        assert all(type(value) is float for value in row.contributions)
        for cell in row.cells:
            assert cell.value is None or type(cell.value) is float
            assert cell.spread is None or type(cell.spread) is float
            assert type(cell.scored_by) is int
