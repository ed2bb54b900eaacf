"""The vendors' questionnaire answers, once the proposals are opened (issue 17, item 3).

`answers_matrix(rfp)`: the side-by-side comparison (questions x vendors) of every vendor's latest
response, for the page, the API and the exports. `EvaluationEvidence`: the provider that gives
scoring the opened answers (and total program costs) per candidate (scoring.providers; registered
in RfpConfig.ready), so that the scoring grid and the derived compliance and price criteria can use
them without scoring importing rfp.

Sealed means sealed: before both openers have opened (rfp.bidding.is_opened), both answer with
nothing at all, whoever asks. Each is a fixed number of queries, whatever the vendors and questions.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

from django.db.models import Count, F, Q, QuerySet

from rfp import access, bidding, costs
from rfp.models import Award, QuestionnaireAnswer, QuestionnaireResponse, Rfp
from rfp.services import RfpError
from scoring import providers
from scoring.models import Evaluation

GAPS = (QuestionnaireAnswer.Compliance.NO, QuestionnaireAnswer.Compliance.PARTLY)


class MatrixQuestion(NamedTuple):
    number: int
    criterion: str
    text: str


class MatrixVendor(NamedTuple):
    candidate_id: int
    name: str
    version: int  # of the response shown (a re-submission is a new version; the latest counts)


class MatrixCell(NamedTuple):
    compliance: str  # "yes", "partly", "no", "n/a" or "" (unanswered)
    answer: str
    document: str


@dataclass
class AnswersMatrix:
    """Questions x vendors. `cells[(question number, candidate id)]`; a vendor that did not answer a
    question has no cell. `opened` False: the proposals are sealed and everything else is empty."""

    opened: bool
    criteria: list[str] = field(default_factory=list)  # in question order
    questions: list[MatrixQuestion] = field(default_factory=list)
    vendors: list[MatrixVendor] = field(default_factory=list)
    cells: dict[tuple[int, int], MatrixCell] = field(default_factory=dict)

    def gaps(self, number: int) -> bool:
        """Whether any vendor answered question `number` with No or Partly."""
        return any(self.cells.get((number, v.candidate_id), MatrixCell("", "", ""))[0] in GAPS for v in self.vendors)


def _latest(responses: QuerySet[QuestionnaireResponse]) -> QuerySet[QuestionnaireResponse]:
    """One response per candidate: the newest RFP's, its latest version (PostgreSQL DISTINCT ON)."""
    return responses.order_by("candidate_id", "-rfp__created_at", "-rfp_id", "-version").distinct("candidate_id")


def answers_matrix(rfp: Rfp, *, criterion: str = "", gaps_only: bool = False) -> AnswersMatrix:
    """Every vendor's latest opened answers side by side: four queries (the opening, the responses with
    their vendors, the answers). `criterion`: only that criterion's questions; `gaps_only`: only the
    questions some vendor answered No or Partly. Sealed: an empty matrix with `opened` False."""
    if not bidding.is_opened(rfp):
        return AnswersMatrix(opened=False)
    responses = list(
        _latest(QuestionnaireResponse.objects.filter(rfp=rfp))
        .select_related("candidate__vendor")
        .only("id", "version", "candidate_id", "candidate__vendor__name")
    )
    responses.sort(key=lambda r: (r.candidate.vendor.name.casefold(), r.candidate_id))
    by_response = {r.pk: r.candidate_id for r in responses}
    matrix = AnswersMatrix(
        opened=True, vendors=[MatrixVendor(r.candidate_id, r.candidate.vendor.name, r.version) for r in responses]
    )
    questions: dict[int, MatrixQuestion] = {}
    rows = QuestionnaireAnswer.objects.filter(response_id__in=by_response).order_by("number", "response_id")
    for response_id, number, name, question, compliance, answer, document in rows.values_list(
        "response_id", "number", "criterion", "question", "compliance", "answer", "document"
    ):
        questions.setdefault(number, MatrixQuestion(number, name, question))
        matrix.cells[(number, by_response[response_id])] = MatrixCell(compliance, answer, document)
    matrix.questions = list(questions.values())
    matrix.criteria = list(dict.fromkeys(q.criterion for q in matrix.questions))
    if criterion:
        key = providers.criterion_key(criterion)
        matrix.questions = [q for q in matrix.questions if providers.criterion_key(q.criterion) == key]
    if gaps_only:
        matrix.questions = [q for q in matrix.questions if matrix.gaps(q.number)]
    return matrix


def matrix_for(user, rfp_id, *, criterion: str = "", gaps_only: bool = False) -> tuple[Rfp, AnswersMatrix]:
    """The RFP and its answers matrix for a user who sees the RFP (its evaluation's team, managers
    and quality assurance: rfp.access.visible_rfps); anyone else: not found."""
    rfp = access.visible_rfps(user).select_related("shortlist__evaluation").filter(pk=rfp_id).first()
    if rfp is None:
        raise RfpError("No such RFP, or it is not shared with you.", None, 404)
    return rfp, answers_matrix(rfp, criterion=criterion, gaps_only=gaps_only)


def opened_rfps(evaluation: Evaluation) -> list[int]:
    """The ids of the evaluation's RFPs whose proposals both openers have opened (as bidding.is_opened
    decides one by one), newest first. One query."""
    lead = evaluation.lead_id
    openers = Q(openings__opened_by_id=lead) | Q(openings__opened_by_id=F("co_opener_id"))
    rfps = (
        Rfp.objects.filter(shortlist__evaluation=evaluation, co_opener__isnull=False)
        .exclude(co_opener_id=lead)
        .annotate(opened_by=Count("openings", filter=openers, distinct=True))
        .filter(opened_by=2)
        .order_by("-created_at", "-pk")
    )
    return list(rfps.values_list("pk", flat=True))


class EvaluationEvidence:
    """scoring.providers' source of the opened answers and costs of an evaluation's candidates."""

    def answers(self, evaluation) -> dict[int, list[providers.AnswerFact]]:
        """Per candidate, its latest response in the newest opened RFP it answered. Three queries."""
        rfps = opened_rfps(evaluation)
        if not rfps:
            return {}
        latest = dict(_latest(QuestionnaireResponse.objects.filter(rfp_id__in=rfps)).values_list("pk", "candidate_id"))
        found: dict[int, list[providers.AnswerFact]] = {}
        rows = QuestionnaireAnswer.objects.filter(response_id__in=latest).order_by("response_id", "number")
        for response_id, number, name, question, compliance, answer, document in rows.values_list(
            "response_id", "number", "criterion", "question", "compliance", "answer", "document"
        ):
            found.setdefault(latest[response_id], []).append(
                providers.AnswerFact(number, name, question, compliance, answer, document)
            )
        return found

    def costs(self, evaluation) -> dict[int, providers.CostFact]:
        """Per chosen candidate, its total program cost (rfp.costs) in the newest opened RFP: costs of
        different RFPs (horizons, rates) are not comparable. Nothing before the opening, not even what
        the lead recorded by hand: the price criterion compares all or none."""
        rfps = opened_rfps(evaluation)
        if not rfps:
            return {}
        rfp = Rfp.objects.select_related("shortlist__evaluation").get(pk=rfps[0])
        return {
            candidate_id: providers.CostFact(
                float(cost.total) if cost.total is not None else None,
                cost.complete,
                cost.currency,
                tuple(cost.missing + cost.errors),
            )
            for candidate_id, cost in costs.program_costs(rfp).items()
        }

    def decided(self, evaluation) -> bool:
        return Award.objects.filter(
            rfp__shortlist__evaluation=evaluation, status__in=[Award.Status.SUBMITTED, Award.Status.APPROVED]
        ).exists()


EVIDENCE = EvaluationEvidence()
