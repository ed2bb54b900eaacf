"""Evidence that comes from above scoring: the vendors' questionnaire answers and their program costs.

scoring may not import rfp (the layers, docs/architecture.md), yet the ranking and the scoring grid
use what the vendors answered. So scoring asks registered providers for plain per-candidate facts;
rfp registers its provider in its AppConfig.ready (rfp.answers.EvaluationEvidence). A provider
answers only with what the sponsor may read: nothing of a proposal before both openers opened it.
Each call costs the provider a fixed number of queries, whatever the number of candidates.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class AnswerFact:
    """One question's answer in a candidate's latest opened questionnaire."""

    number: int
    criterion: str  # the questionnaire's criterion name (matched to the evaluation's by name)
    question: str
    compliance: str  # "yes", "partly", "no", "n/a" or "" (unanswered)
    answer: str = ""
    document: str = ""


@dataclass(frozen=True)
class CostFact:
    """A candidate's total program cost in the comparison currency; `complete` False when a line or
    an exchange rate is missing (then `total` is no figure to compare)."""

    total: float | None
    complete: bool
    currency: str = ""
    missing: tuple[str, ...] = ()


class EvidenceProvider(Protocol):
    def answers(self, evaluation) -> dict[int, list[AnswerFact]]:
        """Per candidate id, its opened answers in question order (candidates without any: absent)."""
        ...

    def costs(self, evaluation) -> dict[int, CostFact]:
        """Per candidate id, its opened total program cost (candidates without a proposal: absent)."""
        ...

    def decided(self, evaluation) -> bool:
        """True once an award on the evaluation's proposals awaits approval or is approved: from then on
        the proposal-phase evidence (answers, costs) and its overrides are frozen."""
        ...


_providers: list[EvidenceProvider] = []


def register(provider: EvidenceProvider) -> None:
    """Called once per provider from an AppConfig.ready; registering the same one again is a no-op."""
    if provider not in _providers:
        _providers.append(provider)


def answers(evaluation) -> dict[int, list[AnswerFact]]:
    found: dict[int, list[AnswerFact]] = {}
    for provider in _providers:
        for candidate_id, facts in provider.answers(evaluation).items():
            found.setdefault(candidate_id, []).extend(facts)
    return found


def costs(evaluation) -> dict[int, CostFact]:
    found: dict[int, CostFact] = {}
    for provider in _providers:
        found.update(provider.costs(evaluation))
    return found


def decided(evaluation) -> bool:
    return any(provider.decided(evaluation) for provider in _providers)


@functools.lru_cache(maxsize=4096)  # a handful of distinct names, asked for once per answer
def criterion_key(name: str) -> str:
    """How a questionnaire's criterion name meets an evaluation criterion's: case and spacing aside."""
    return " ".join(name.split()).casefold()
