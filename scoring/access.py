"""Who may see and do what in evaluations: every view and API endpoint asks here."""

from django.db.models import Q, QuerySet

from accounts.roles import MANAGER, has_role
from scoring.models import Evaluation


def visible_evaluations(user) -> QuerySet[Evaluation]:
    """Evaluations are visible to their team (lead and evaluators) and to managers."""
    if not user.is_authenticated:
        return Evaluation.objects.none()
    if has_role(user, MANAGER):
        return Evaluation.objects.all()
    return Evaluation.objects.filter(Q(lead=user) | Q(evaluators=user)).distinct()


def can_create_evaluation(user) -> bool:
    return user.has_perm("scoring.add_evaluation")


def is_lead(user, evaluation: Evaluation) -> bool:
    return evaluation.lead_id == user.pk


def may_act(user, evaluation: Evaluation, who: str) -> bool:
    """who: "lead" (scorecard, candidates, stages), "evaluator" (own scores), "team" (either)."""
    if who == "lead":
        return is_lead(user, evaluation)
    if who == "evaluator":
        return is_evaluator(user, evaluation)
    return is_lead(user, evaluation) or is_evaluator(user, evaluation)


def is_evaluator(user, evaluation: Evaluation) -> bool:
    cached = getattr(evaluation, "_evaluator_ids", None)
    if cached is None:
        cached = set(evaluation.evaluators.values_list("pk", flat=True))
        evaluation._evaluator_ids = cached
    return user.pk in cached
