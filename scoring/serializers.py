"""The ranking's one output shape: the API's answer (documented in OpenAPI), the ranking and compare
pages, the export's rows and the shortlist snapshot's rows are all made from RankingSerializer /
RankingRowSerializer.

The declared fields are the schema. `to_representation` is written out by hand (the same keys, in
the same order) because a ranking has thousands of cells and DRF's per-field machinery would be
most of the answer's time; tests/scoring/test_ranking_compute.py checks that both agree.
"""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from scoring.models import Evaluation
from scoring.ranking_compute import DISAGREEMENT_FLAG, Ranking, Row


def withheld_detail(evaluation: Evaluation, while_scoring: str) -> str:
    if evaluation.status in (Evaluation.Status.DRAFT, Evaluation.Status.SCORING):
        return while_scoring
    return "Review started before you submitted: blind until the shortlist is decided (blind scoring)."


class RankingCriterionSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    key = serializers.CharField()
    name = serializers.CharField()
    derived = serializers.BooleanField(help_text="Scored from evidence, not by the evaluators.")

    def to_representation(self, instance) -> dict:
        return criterion_data(instance)


def criterion_data(criterion) -> dict:
    return {"id": criterion.id, "key": criterion.key, "name": criterion.name, "derived": bool(criterion.evidence)}


class RankingCellSerializer(serializers.Serializer):
    criterion = serializers.CharField(help_text="The criterion's key.")
    value = serializers.FloatField(allow_null=True)
    derived = serializers.BooleanField()
    overridden = serializers.BooleanField()
    not_applicable = serializers.BooleanField(
        help_text="The criterion does not apply to the evaluation (weight 0): no value, and not missing either; "
        "`evidence` says why."
    )
    spread = serializers.FloatField(allow_null=True, help_text="Evaluators' disagreement (judged criteria).")
    disagreement = serializers.BooleanField(help_text=f"The spread is {DISAGREEMENT_FLAG} rubric points or more.")
    evidence = serializers.ListField(child=serializers.CharField())
    formula = serializers.CharField(allow_blank=True)

    def to_representation(self, instance) -> dict:
        return cell_data(*instance)


def cell_data(key: str, cell) -> dict:
    return {
        "criterion": key,
        "value": cell.value,
        "derived": cell.derived,
        "overridden": cell.overridden,
        "not_applicable": cell.not_applicable,
        "spread": cell.spread,
        "disagreement": bool(cell.spread is not None and cell.spread >= DISAGREEMENT_FLAG),
        "evidence": cell.evidence,
        "formula": cell.formula,
    }


class RankingRowSerializer(serializers.Serializer):
    """One candidate's row; needs `context={"criteria": ranking.criteria}`."""

    candidate = serializers.IntegerField()
    vendor = serializers.IntegerField()
    vendor_name = serializers.CharField()
    rank = serializers.IntegerField(allow_null=True)
    total = serializers.FloatField(allow_null=True)
    complete = serializers.BooleanField()
    completeness = serializers.FloatField()
    knocked_out = serializers.BooleanField()
    knockouts = serializers.ListField(child=serializers.CharField())
    knockout_override = serializers.CharField(allow_null=True, help_text="Why the knock-out was overridden.")
    warnings = serializers.ListField(
        child=serializers.CharField(),
        help_text="Shown, not gates: red flags at the company's other sites, proposed sites not yet qualified.",
    )
    proposed_sites = serializers.ListField(
        child=serializers.DictField(),
        help_text="Per program step: {step, sites}: the sites the candidate proposes (empty without steps).",
    )
    cells = RankingCellSerializer(many=True)
    contributions = serializers.DictField(child=serializers.FloatField(), help_text="By criterion key.")

    def to_representation(self, instance) -> dict:
        return row_data(instance, [c.key for c in self.context["criteria"]])


def row_data(row: Row, keys: list[str]) -> dict:
    candidate = row.candidate
    return {
        "candidate": candidate.pk,
        "vendor": candidate.vendor_id,
        "vendor_name": candidate.vendor.name,
        "rank": row.rank,
        "total": row.total,
        "complete": row.total is not None,
        "completeness": row.completeness,
        "knocked_out": row.knocked_out,
        "knockouts": row.knockouts,
        "knockout_override": candidate.knockout_override_reason if candidate.knockout_override else None,
        "warnings": row.warnings,
        "proposed_sites": [{"step": step, "sites": sites} for step, sites in row.proposed],
        "cells": [cell_data(key, cell) for key, cell in zip(keys, row.cells, strict=True)],
        "contributions": dict(zip(keys, row.contributions, strict=True)),
    }


class RankingSerializer(serializers.Serializer):
    """The ranking as the viewer may see it. Withheld (blind scoring): only `withheld`, `detail`,
    `criteria` and no rows."""

    withheld = serializers.BooleanField()
    detail = serializers.CharField(required=False, help_text="Why the ranking is withheld.")
    criteria = RankingCriterionSerializer(many=True)
    weights = serializers.DictField(child=serializers.FloatField(), required=False, help_text="Percent by key.")
    weights_version = serializers.IntegerField(allow_null=True, required=False)
    agreement = serializers.DictField(
        child=serializers.FloatField(allow_null=True), required=False, help_text="Kendall's W by criterion key."
    )
    rows = RankingRowSerializer(many=True)

    def to_representation(self, instance: Ranking) -> dict[str, Any]:
        result = instance
        criteria = [criterion_data(c) for c in result.criteria]
        if result.withheld:
            return {
                "withheld": True,
                "detail": withheld_detail(
                    result.evaluation, "Submit your own scores to see the ranking (blind scoring)."
                ),
                "criteria": criteria,
                "rows": [],
            }
        keys = [c.key for c in result.criteria]
        return {
            "withheld": False,
            "criteria": criteria,
            "weights": {key: float(w) for key, w in zip(keys, result.weights, strict=True)},
            "weights_version": result.weight_set.version if result.weight_set else None,
            "agreement": dict(zip(keys, result.agreement, strict=True)),
            "rows": [row_data(row, keys) for row in result.rows],
        }


class TippingPointSerializer(serializers.Serializer):
    weight = serializers.FloatField()
    lower = serializers.FloatField()
    upper = serializers.FloatField()
    below_lower_leader = serializers.CharField(allow_null=True)
    above_upper_leader = serializers.CharField(allow_null=True)


class SensitivitySerializer(serializers.Serializer):
    """Tipping points of the leader's weights and rank acceptability; the instance is
    `(ranking, selectors.sensitivity(ranking))`, the second None when the ranking is withheld."""

    withheld = serializers.BooleanField()
    detail = serializers.CharField(required=False)
    candidates = serializers.ListField(child=serializers.CharField(), required=False)
    leader = serializers.CharField(required=False)
    tipping_points = serializers.DictField(
        child=TippingPointSerializer(), allow_null=True, required=False, help_text="By criterion key."
    )
    acceptability = serializers.DictField(
        child=serializers.ListField(child=serializers.FloatField()),
        allow_null=True,
        required=False,
        help_text="By vendor name: the share of sampled weights that give each rank.",
    )

    def to_representation(self, instance) -> dict[str, Any]:
        result, data = instance
        if result.withheld:
            return {
                "withheld": True,
                "detail": withheld_detail(result.evaluation, "Submit your own scores first (blind scoring)."),
            }
        names = [c.vendor.name for c in data["candidates"]]
        if data["tipping"] is None:
            return {
                "withheld": False,
                "candidates": names,
                "tipping_points": None,
                "acceptability": None,
                "detail": "At least two complete, eligible candidates are needed.",
            }
        tipping = data["tipping"]
        return {
            "withheld": False,
            "candidates": names,
            "leader": names[tipping.leader],
            "tipping_points": {
                c.key: {
                    "weight": float(tipping.weights[j]),
                    "lower": float(tipping.lower[j]),
                    "upper": float(tipping.upper[j]),
                    "below_lower_leader": names[tipping.lower_challenger[j]]
                    if tipping.lower_challenger[j] >= 0
                    else None,
                    "above_upper_leader": names[tipping.upper_challenger[j]]
                    if tipping.upper_challenger[j] >= 0
                    else None,
                }
                for j, c in enumerate(result.criteria)
            },
            "acceptability": {
                name: [float(x) for x in row] for name, row in zip(names, data["acceptability"], strict=True)
            },
        }
