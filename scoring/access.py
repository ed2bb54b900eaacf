"""Who may see and do what in evaluations: every view and API endpoint asks here."""

from django.db.models import Exists, OuterRef, Q, QuerySet

from accounts.roles import MANAGER, QA, has_role
from scoring.models import Evaluation, Shortlist, Submission


def visible_evaluations(user) -> QuerySet[Evaluation]:
    """Evaluations are visible to their team (lead and evaluators), to managers and to quality
    assurance (who sign shortlists "Approved for quality")."""
    if not user.is_authenticated:
        return Evaluation.objects.none()
    if has_role(user, MANAGER) or has_role(user, QA):
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


def evaluation_flags(user, evaluation: Evaluation) -> dict[str, bool]:
    """What `user` may do on the evaluation's pages, for the templates (the services check again)."""
    lead = is_lead(user, evaluation)
    evaluator = is_evaluator(user, evaluation)
    status = evaluation.status
    open_ = status != Evaluation.Status.CLOSED
    return {
        "is_lead": lead,
        "is_evaluator": evaluator,
        # The scorecard (criteria, sub-criteria, their sources) and the must-have gates: only in draft.
        "can_edit_setup": lead and status == Evaluation.Status.DRAFT,
        # Candidates join in draft or while scoring; from review on the field is fixed (what was scored).
        "can_add_candidates": lead and status in (Evaluation.Status.DRAFT, Evaluation.Status.SCORING),
        # Program steps are fixed with the scorecard; the sites a candidate proposes until review.
        "can_propose_sites": lead and status in (Evaluation.Status.DRAFT, Evaluation.Status.SCORING),
        "can_override_knockouts": lead,
        "can_set_weights": lead and open_,
        "weights_locked": status != Evaluation.Status.DRAFT,  # a new weight version needs a reason
        "can_transition": lead,
        "can_score": evaluator and status == Evaluation.Status.SCORING,
        "can_override_derived": open_ and (lead or evaluator),
    }


def is_evaluator(user, evaluation: Evaluation) -> bool:
    cached = getattr(evaluation, "_evaluator_ids", None)
    if cached is None:
        cached = set(evaluation.evaluators.values_list("pk", flat=True))
        evaluation._evaluator_ids = cached
    return user.pk in cached


# Blind scoring: the one rule. Every read of anything derived from other evaluators' scores (the
# ranking and what is computed from it, the scores themselves, shortlist snapshots) asks here.
SHORTLIST_DECIDED = (Shortlist.Status.APPROVED, Shortlist.Status.REJECTED)


def blind_evaluations(user) -> QuerySet[Evaluation]:
    """The evaluations in which `user` may see nothing derived from the other evaluators' scores.

    An evaluator (who is not the evaluation's lead) is blind until they submit their own scores.
    If the lead moved the evaluation to review before they submitted (a recorded, reasoned
    decision), they stay blind until a shortlist version of it is decided (approved or rejected):
    their scores can no longer count, and what the others scored must not reach them before the
    decision. Back in scoring (reopened), an evaluator who has not submitted is blind again.
    The lead and non-evaluators (managers) are never blind.
    """
    if not user.is_authenticated:
        return Evaluation.objects.none()
    submitted = Submission.objects.filter(evaluation=OuterRef("pk"), evaluator=user)
    decided = Shortlist.objects.filter(evaluation=OuterRef("pk"), status__in=SHORTLIST_DECIDED)
    return (
        Evaluation.objects.filter(evaluators=user)
        .exclude(lead=user)
        .exclude(Exists(submitted))
        .filter(Q(status__in=(Evaluation.Status.DRAFT, Evaluation.Status.SCORING)) | ~Exists(decided))
    )


def blind_to_others(user, evaluation: Evaluation) -> bool:
    """Whether `user` must see nothing of `evaluation` derived from other evaluators' scores.

    See blind_evaluations for the rule; the answer is kept on the evaluation for the request.
    """
    if is_lead(user, evaluation):
        return False
    cache = evaluation.__dict__.setdefault("_blind_to_others", {})
    if user.pk not in cache:
        cache[user.pk] = blind_evaluations(user).filter(pk=evaluation.pk).exists()
    return cache[user.pk]


def forget_blindness(evaluation: Evaluation) -> None:
    """Drop the cached answers after a change that may end or start blindness (a submission)."""
    evaluation.__dict__.pop("_blind_to_others", None)
