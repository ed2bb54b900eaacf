"""State changes of evaluations. Each checks permission and state, then writes in one transaction."""

from __future__ import annotations

from decimal import Decimal
from typing import NoReturn

import numpy as np
from django.conf import settings
from django.contrib.auth import authenticate, get_user_model
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import IntegrityError, transaction
from django.db.models import Count, Exists, Max, OuterRef, Q, QuerySet
from django.utils import timezone
from django.utils.text import slugify
from django_fsm import TransitionNotAllowed

from accounts import notifications
from accounts.models import Notification
from core import trail
from core.errors import ServiceError
from scoring import access, ahp, engine, program, providers
from scoring.models import (
    MAX_REQUIRED_APPROVALS,
    RUBRIC_MAX,
    RUBRIC_MIN,
    Candidate,
    Criterion,
    CriterionWeight,
    DerivedOverride,
    Evaluation,
    Score,
    Shortlist,
    Submission,
    WeightSet,
)
from vendors.filters import VendorFilter
from vendors.models import Site, Vendor

PROPOSAL_EVIDENCE = (Criterion.Evidence.COMPLIANCE, Criterion.Evidence.PRICE)


class ScoringError(ServiceError):
    """A refused action on an evaluation."""


def _refuse(message: str, field: str | None = None, status: int = 400) -> NoReturn:
    raise ScoringError(message, field, status)


# The default scorecard: the six criteria of the domain brief, with anchored rubrics.
DEFAULT_CRITERIA = [
    (
        "scope_fit",
        "Scope fit",
        "Services, modality, dosage form, phase and regions the program needs.",
        "Offers a minority of the required services; modality or dosage form outside its experience.",
        "Offers most required services; some gaps covered by subcontractors.",
        "Offers every required service, modality, dosage form and phase in-house.",
        Criterion.Evidence.SCOPE_FIT,
    ),
    (
        "regulatory_track_record",
        "Regulatory track record",
        "History with the agencies of the target markets: inspections, classifications, 483s, warning letters.",
        "Recent OAI or warning letter; unresolved observations.",
        "Mostly VAI with observations closed; limited history with the target agencies.",
        "Consistently NAI with the target agencies; experience supporting approvals.",
        Criterion.Evidence.REGULATORY,
    ),
    (
        "scale_flexibility",
        "Scale flexibility",
        "Coverage of the required scale now and at launch; capacity.",
        "Cannot reach today's batch size.",
        "Covers today's scale; launch needs another partner.",
        "Covers clinical and commercial scale without a change of partner.",
        Criterion.Evidence.SCALE,
    ),
    (
        "technology_transfer",
        "Technology transfer",
        "How easily the process moves in: transfer package, sessions, gap analysis, demonstration batches.",
        "No structured transfer process; expects the sponsor to drive it.",
        "Standard transfer protocol; gap analysis on request.",
        "Proven transfer methodology with gap analysis and demonstration batches; realistic timeline.",
        Criterion.Evidence.NONE,
    ),
    (
        "quality_systems",
        "Quality systems",
        "QA/QC rigour, deviations and CAPA, change control, data integrity, documentation.",
        "Critical audit findings; weak CAPA follow-up.",
        "Minor findings, closed on time.",
        "Clean audits; mature, data-integrity-aware quality system.",
        Criterion.Evidence.NONE,
    ),
    (
        "cultural_fit",
        "Cultural fit and communication",
        "Collaboration style, transparency, speed, time zone and language, governance.",
        "Opaque, slow to respond, governance unclear.",
        "Responsive with some friction.",
        "Transparent, fast, aligned governance and communication.",
        Criterion.Evidence.NONE,
    ),
]


def evaluation_create(*, lead, name: str, evaluators=(), steps=(), **context) -> Evaluation:
    if not access.can_create_evaluation(lead):
        _refuse("Only procurement leads create evaluations.", status=403)
    if not name.strip():
        _refuse("Give the evaluation a name.", "name")
    if context.get("required_approvals") in (None, ""):
        context.pop("required_approvals", None)  # the model's default: the site's minimum
    else:
        context["required_approvals"] = checked_approvals(context["required_approvals"])
    services = context.pop("required_services", None)
    kinds = context.pop("allowed_kinds", None)
    with transaction.atomic():
        evaluation = Evaluation.objects.create(lead=lead, name=name.strip(), **context)
        if services is not None:
            evaluation.required_services.set(services)
        if kinds is not None:
            evaluation.allowed_kinds.set(kinds)
        evaluation.evaluators.set(evaluators)
        program.default_gates(evaluation)
        for step in steps:
            program.step_add(evaluation=evaluation, user=lead, **step)
        criteria = Criterion.objects.bulk_create(
            [
                Criterion(
                    evaluation=evaluation,
                    key=key,
                    name=label,
                    description=text,
                    rubric_1=r1,
                    rubric_3=r3,
                    rubric_5=r5,
                    evidence=evidence,
                    position=index,
                )
                for index, (key, label, text, r1, r3, r5, evidence) in enumerate(DEFAULT_CRITERIA)
            ]
        )
        equal = Decimal(100) / len(criteria)
        _new_weight_set(evaluation, lead, WeightSet.Method.DIRECT, dict.fromkeys((c.pk for c in criteria), equal))
    return evaluation


def checked_approvals(value, floor: int | None = None) -> int:
    """A number of required approvals: a whole number from the site's minimum (or `floor`) to 5."""
    minimum = max(settings.SHORTLIST_REQUIRED_APPROVALS, floor or 0)
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        _refuse("Give the number of approvals as a whole number.", "required_approvals")
    if number < minimum:
        why = (
            "this evaluation's approval policy"
            if floor and floor > settings.SHORTLIST_REQUIRED_APPROVALS
            else "the site's minimum"
        )
        _refuse(f"At least {minimum} signed approvals are required ({why}).", "required_approvals")
    if number > MAX_REQUIRED_APPROVALS:
        _refuse(f"At most {MAX_REQUIRED_APPROVALS} signed approvals can be required.", "required_approvals")
    return number


def _require_lead(user, evaluation: Evaluation, action: str) -> None:
    if not access.is_lead(user, evaluation):
        _refuse(f"Only the evaluation's lead can {action}.", status=403)


def _new_weight_set(evaluation, user, method, percents: dict[int, Decimal], **extra) -> WeightSet:
    trail.reason(extra.get("reason", ""))
    version = (evaluation.weight_sets.aggregate(v=Max("version"))["v"] or 0) + 1
    weight_set = WeightSet.objects.create(
        evaluation=evaluation, version=version, method=method, created_by=user, **extra
    )
    CriterionWeight.objects.bulk_create(
        [
            CriterionWeight(weight_set=weight_set, criterion_id=pk, percent=Decimal(p).quantize(Decimal("0.0001")))
            for pk, p in percents.items()
        ]
    )
    return weight_set


def _check_weight_change(evaluation: Evaluation, reason: str) -> None:
    if evaluation.status == Evaluation.Status.CLOSED:
        _refuse("The evaluation is closed; its weights can no longer change.", status=409)
    if evaluation.status != Evaluation.Status.DRAFT and not reason.strip():
        _refuse("Weights are locked once scoring has started: give a reason to create a new version.", "reason")


WEIGHT_SUM_TOLERANCE = Decimal("0.05")  # percentages rounded for display (19.96 + …) still count as 100


def weights_set_direct(*, evaluation: Evaluation, user, percents: dict[str, object], reason: str = "") -> WeightSet:
    """Direct weights as percentages by criterion key: non-negative, summing to 100 (within 0.05, so
    that the rounded AHP weights can be entered again); stored rescaled to exactly 100."""
    _require_lead(user, evaluation, "set weights")
    _check_weight_change(evaluation, reason)
    criteria = {c.key: c for c in evaluation.top_criteria()}
    unknown = sorted(set(percents) - set(criteria))
    missing = sorted(set(criteria) - set(percents))
    if unknown or missing:
        _refuse(
            "Give one weight per criterion"
            + (f"; unknown: {', '.join(unknown)}" if unknown else "")
            + (f"; missing: {', '.join(missing)}" if missing else "")
            + ".",
            "percents",
        )
    values: dict[int, Decimal] = {}
    for key, raw in percents.items():
        try:
            value = Decimal(str(raw))
        except ArithmeticError:
            _refuse(f"The weight of {criteria[key].name} is not a number.", "percents")
        if not value.is_finite() or value < 0:
            _refuse(f"The weight of {criteria[key].name} must be zero or more.", "percents")
        values[criteria[key].pk] = value
    total = sum(values.values(), Decimal(0))
    if abs(total - 100) > WEIGHT_SUM_TOLERANCE:
        _refuse(
            f"Weights must add up to 100 % (within {WEIGHT_SUM_TOLERANCE} %); they add up to {total.normalize():f} %.",
            "percents",
        )
    with transaction.atomic():
        return _new_weight_set(
            evaluation, user, WeightSet.Method.DIRECT, _percents_of_100(values, total), reason=reason.strip()
        )


def _percents_of_100(values: dict[int, Decimal], total: Decimal) -> dict[int, Decimal]:
    """Percentages rescaled to add up to exactly 100 at the stored 4 decimals (the remainder to the largest)."""
    if total == 100:
        return values
    rounded = {pk: (v * 100 / total).quantize(Decimal("0.0001")) for pk, v in values.items()}
    rounded[max(rounded, key=lambda pk: rounded[pk])] += Decimal(100) - sum(rounded.values())
    return rounded


def weights_set_ahp(
    *,
    evaluation: Evaluation,
    user,
    pairwise,
    justification: str = "",
    reason: str = "",
    password: str = "",
    request=None,
) -> WeightSet:
    """Weights from an AHP pairwise matrix in criterion order (scoring.ahp.parse_pairwise reads one).

    Consistency ratio up to 0.10: accepted. Between 0.10 and 0.20: accepted with a justification of at
    least one sentence (ahp.justification_problem) and the lead's password, re-entered (`request` is the
    one the password is checked in, for the lockout). Above 0.20: refused whatever the justification.
    Every refusal for inconsistency names the judgments that contribute most and the consistent values.
    """
    _require_lead(user, evaluation, "set weights")
    _check_weight_change(evaluation, reason)
    criteria = list(evaluation.top_criteria())
    try:
        matrix = np.asarray(pairwise, dtype=float)
        if matrix.shape != (len(criteria), len(criteria)):
            raise ValueError(f"the matrix must be {len(criteria)} x {len(criteria)}, one row per criterion")
        result = engine.ahp_weights(matrix)
    except (ValueError, TypeError) as error:
        _refuse(f"Invalid pairwise comparisons: {error}.", "pairwise")
    ratio = float(result.consistency_ratio)
    justification = justification.strip() if isinstance(justification, str) else ""
    if ratio > ahp.CONSISTENCY_THRESHOLD:
        advice = ahp.inconsistency_advice(matrix, result.weights, [c.name for c in criteria])
        advice = f" Most inconsistent: {advice}." if advice else ""
        if ratio > ahp.REFUSE_ABOVE:
            _refuse(
                f"The comparisons are too inconsistent to use (CR = {ratio:.3f} > {ahp.REFUSE_ABOVE:.2f}): "
                f"revise them.{advice}",
                "pairwise",
            )
        problem = ahp.justification_problem(justification)
        if problem:
            _refuse(
                f"The comparisons are inconsistent (CR = {ratio:.3f} > {ahp.CONSISTENCY_THRESHOLD:.2f}): revise "
                f"them, or justify them and re-enter your password to use them anyway. {problem}{advice}",
                "justification",
            )
        # Outside any transaction: a wrong password counts for the lockout (axes) and that must stay.
        if not password or authenticate(request, username=user.username, password=password) is None:
            _refuse(
                "The password is not correct; the weights were not saved. Inconsistent comparisons "
                f"(CR = {ratio:.3f}) are used only with your password.",
                "password",
            )
    percents = {c.pk: Decimal(str(w * 100)) for c, w in zip(criteria, result.weights, strict=True)}
    # Rounding to 4 decimals must still add up to exactly 100: give the remainder to the largest weight.
    rounded = {pk: p.quantize(Decimal("0.0001")) for pk, p in percents.items()}
    largest = max(rounded, key=lambda pk: rounded[pk])
    rounded[largest] += Decimal(100) - sum(rounded.values())
    with transaction.atomic():
        return _new_weight_set(
            evaluation,
            user,
            WeightSet.Method.AHP,
            rounded,
            pairwise=matrix.tolist(),
            consistency_ratio=ratio,
            justification=justification if ratio > ahp.CONSISTENCY_THRESHOLD else "",
            reason=reason.strip(),
        )


def _require_draft(evaluation: Evaluation, what: str) -> None:
    if evaluation.status != Evaluation.Status.DRAFT:
        _refuse(f"The scorecard is fixed once scoring has started; {what} only in draft.", status=409)


def criterion_add(
    *,
    evaluation: Evaluation,
    user,
    name: str,
    description: str = "",
    rubric_1: str = "",
    rubric_3: str = "",
    rubric_5: str = "",
    parent: Criterion | None = None,
    local_weight=1,
) -> Criterion:
    """A new judged criterion, or a sub-criterion of one (with a relative local weight).

    A new top-level criterion starts at weight 0 in a new weight version: re-weight afterwards.
    """
    _require_lead(user, evaluation, "change the scorecard")
    _require_draft(evaluation, "criteria can be added")
    name = name.strip()
    if not name:
        _refuse("Give the criterion a name.", "name")
    if parent is not None:
        if parent.evaluation_id != evaluation.pk or parent.parent_id is not None:
            _refuse("Sub-criteria refine a top-level criterion of this evaluation.", "parent")
        if parent.evidence:
            _refuse(f"{parent.name} is derived from evidence and has no sub-criteria.", "parent")
        try:
            local_weight = Decimal(str(local_weight))
        except ArithmeticError:
            local_weight = Decimal(-1)
        if not local_weight.is_finite() or local_weight <= 0:
            _refuse("A sub-criterion's local weight is a positive number.", "local_weight")
    key = slugify(f"{parent.key} {name}" if parent else name).replace("-", "_")[:60] or "criterion"
    duplicate = evaluation.criteria.filter(name__iexact=name, parent=parent).exists()
    if duplicate or evaluation.criteria.filter(key=key).exists():
        _refuse(f"The scorecard already has a criterion “{name}”.", "name")
    current = _latest_percents(evaluation)
    with transaction.atomic():
        criterion = Criterion.objects.create(
            evaluation=evaluation,
            key=key,
            name=name,
            description=description.strip(),
            rubric_1=rubric_1.strip(),
            rubric_3=rubric_3.strip(),
            rubric_5=rubric_5.strip(),
            parent=parent,
            local_weight=local_weight if parent else Decimal(1),
            position=(evaluation.criteria.aggregate(p=Max("position"))["p"] or 0) + 1,
        )
        if parent is None:
            _new_weight_set(
                evaluation,
                user,
                WeightSet.Method.DIRECT,
                {**current, criterion.pk: Decimal(0)},
                reason=f"criterion “{name}” added at weight 0",
            )
    return criterion


def criterion_update(*, criterion: Criterion, user, **fields) -> Criterion:
    evaluation = criterion.evaluation
    _require_lead(user, evaluation, "change the scorecard")
    _require_draft(evaluation, "criteria can be renamed")
    allowed = {"name", "description", "rubric_1", "rubric_3", "rubric_5", "evidence"}
    if "evidence" in fields:
        if fields["evidence"] not in Criterion.Evidence.values:
            _refuse(
                f"Evidence source must be one of {', '.join(v or '(none)' for v in Criterion.Evidence.values)}.",
                "evidence",
            )
        if fields["evidence"] and (criterion.parent_id or criterion.children.exists()):
            _refuse("A criterion with sub-criteria, or a sub-criterion, is scored by evaluators.", "evidence")
    for field_name, value in fields.items():
        if field_name not in allowed:
            _refuse(f"“{field_name}” cannot be changed.", field_name)
        setattr(criterion, field_name, str(value).strip())
    if not criterion.name:
        _refuse("Give the criterion a name.", "name")
    criterion.save()
    return criterion


def _criterion_delete(criterion: Criterion) -> None:
    """Delete a draft criterion with what names it, row by row (foreign keys protect; each row's delete
    is in the trail): its sub-criteria, and its weights in earlier draft weight versions."""
    for part in list(criterion.children.all()):
        _criterion_delete(part)
    CriterionWeight.objects.filter(criterion=criterion).delete()
    criterion.delete()


def criterion_remove(*, criterion: Criterion, user) -> None:
    """Remove a criterion in draft; the remaining weights are rescaled to 100 % in a new version."""
    evaluation = criterion.evaluation
    _require_lead(user, evaluation, "change the scorecard")
    _require_draft(evaluation, "criteria can be removed")
    if criterion.parent_id is not None:
        _criterion_delete(criterion)  # a sub-criterion carries no evaluation weight
        return
    if evaluation.top_criteria().count() <= 1:
        _refuse("An evaluation needs at least one criterion.", status=409)
    current = _latest_percents(evaluation)
    current.pop(criterion.pk, None)
    total = sum(current.values())
    rescaled = {pk: (p * 100 / total if total else Decimal(100) / len(current)) for pk, p in current.items()}
    rounded = {pk: p.quantize(Decimal("0.0001")) for pk, p in rescaled.items()}
    rounded[max(rounded, key=lambda pk: rounded[pk])] += Decimal(100) - sum(rounded.values())
    name = criterion.name
    with transaction.atomic():
        _criterion_delete(criterion)
        _new_weight_set(
            evaluation,
            user,
            WeightSet.Method.DIRECT,
            rounded,
            reason=f"criterion “{name}” removed; remaining weights rescaled",
        )


def _latest_percents(evaluation: Evaluation) -> dict[int, Decimal]:
    latest = evaluation.weight_sets.order_by("-version").first()
    return {w.criterion_id: w.percent for w in latest.weights.all()} if latest else {}


TRANSITIONS = {
    "start_scoring": "start scoring",
    "start_review": "move to review",
    "reopen_scoring": "reopen scoring",
    "close": "close the evaluation",
}


def not_submitted(evaluation: Evaluation) -> list:
    """The evaluators who have not submitted their scores, by user name."""
    return [row["user"] for row in evaluator_completeness(evaluation) if not row["submitted"]]


def evaluator_completeness(evaluation: Evaluation) -> list[dict]:
    """Per evaluator (by user name): scores entered of those expected, and whether submitted.

    `expected` is every judged cell (scored criteria x candidates) as they are now: an evaluator who
    submitted before a candidate was added is complete no longer. Three queries.
    """
    scored = list(evaluation.scored_criteria().values_list("pk", flat=True))
    expected = len(scored) * evaluation.candidates.count()
    done = dict(
        Score.objects.filter(candidate__evaluation=evaluation, criterion__in=scored)
        .values("evaluator")
        .annotate(n=Count("pk"))
        .values_list("evaluator", "n")
    )
    submitted = dict(evaluation.submissions.values_list("evaluator_id", "submitted_at"))
    return [
        {
            "user": user,
            "done": done.get(user.pk, 0),
            "expected": expected,
            "complete": done.get(user.pk, 0) >= expected,
            "submitted": user.pk in submitted,
            "submitted_at": submitted.get(user.pk),
        }
        for user in evaluation.evaluators.order_by("username")
    ]


def _shortfall(rows: list[dict]) -> str:
    """What the evaluators lack, e.g. "Ana Ruiz: 10 of 21 scores, not submitted; Ben Ode: not submitted"."""
    parts = []
    for row in rows:
        lacks = []
        if not row["complete"]:
            lacks.append(f"{row['done']} of {row['expected']} scores")
        if not row["submitted"]:
            lacks.append("not submitted")
        if lacks:
            parts.append(f"{row['user'].printed_name}: {', '.join(lacks)}")
    return "; ".join(parts)


def evaluation_transition(*, evaluation: Evaluation, user, action: str, reason: str = "") -> Evaluation:
    """Move the evaluation along draft -> scoring -> review -> closed (and review -> scoring).

    Moving to review while an evaluator has not entered every score or has not submitted needs the
    lead's `reason` (field "reason"): it is kept on the evaluation (early_review_reason) and in the
    trail, with what each of them lacked. Such evaluators can no longer submit, and stay blind to the
    others' scores until a shortlist version is approved or rejected (access.blind_evaluations).

    Scoring cannot reopen once a shortlist version is submitted (the approvers sign the scores as
    they are) or approved (the shortlist is final: a new evaluation is the route to score again).
    A returned or rejected version lets it reopen. The evaluation closes by itself when a shortlist
    version is approved (evaluation_close_on_approval).
    """
    if action not in TRANSITIONS:
        _refuse(f"Unknown action “{action}”; allowed: {', '.join(TRANSITIONS)}.", "action")
    _require_lead(user, evaluation, TRANSITIONS[action])
    reason = reason.strip() if isinstance(reason, str) else ""
    with transaction.atomic():
        evaluation = Evaluation.objects.select_for_update().get(pk=evaluation.pk)
        if action == "start_scoring":
            if not evaluation.candidates.exists():
                _refuse("Add at least one candidate before scoring starts.", status=409)
            if not evaluation.evaluators.exists():
                _refuse("Invite at least one evaluator before scoring starts.", status=409)
        if action == "reopen_scoring":
            _check_reopen(evaluation)
        try:
            getattr(evaluation, action)()
        except TransitionNotAllowed:
            _refuse(
                f"You cannot {TRANSITIONS[action]} while the evaluation is {evaluation.get_status_display().lower()}.",
                status=409,
            )
        if action == "start_review":
            shortfall = _shortfall(evaluator_completeness(evaluation))
            if shortfall and not reason:
                _refuse(
                    f"Scoring is incomplete ({shortfall}). Missing scores stay missing and scores not submitted "
                    "do not count; to move to review anyway, confirm with a reason.",
                    "reason",
                )
            evaluation.early_review_reason = reason if shortfall else ""
            if shortfall:
                trail.reason(
                    f"Moved to review before every evaluator had entered and submitted every score ({shortfall}): {reason}"
                )
        evaluation.save()
    return evaluation


def evaluation_close_on_approval(*, shortlist: Shortlist) -> None:
    """The evaluation's shortlist is approved: the evaluation is done, and closes (review -> closed).

    Called by shortlists._decide inside its transaction, with the trail's reason already set. An
    evaluation closed by hand before the approval stays closed.
    """
    shortlist.evaluation = evaluation_close(
        evaluation_id=shortlist.evaluation_id, what=f"Shortlist version {shortlist.version}"
    )


def evaluation_close(*, evaluation_id: int, what: str) -> Evaluation:
    """Close the evaluation on an approval (`what` is approved: a shortlist, or an award in rfp); one
    already closed stays closed, one that cannot close refuses the approval (409)."""
    evaluation = Evaluation.objects.select_for_update().get(pk=evaluation_id)
    if evaluation.status == Evaluation.Status.CLOSED:
        return evaluation
    try:
        evaluation.close()
    except TransitionNotAllowed:
        _refuse(
            f"{what} cannot be approved while the evaluation is {evaluation.get_status_display().lower()}.",
            status=409,
        )
    evaluation.save()
    return evaluation


def _check_reopen(evaluation: Evaluation) -> None:
    locked = (
        evaluation.shortlists.filter(status__in=(Shortlist.Status.SUBMITTED, Shortlist.Status.APPROVED))
        .order_by("-version")
        .first()
    )
    if locked is None:
        return
    if locked.status == Shortlist.Status.APPROVED:
        _refuse(
            f"Scoring cannot reopen: shortlist version {locked.version} is approved and final. "
            "Start a new evaluation to score again.",
            status=409,
        )
    _refuse(
        f"Scoring cannot reopen: shortlist version {locked.version} awaits approval of the scores as they are. "
        "It can reopen once the version is returned or rejected.",
        status=409,
    )


# Candidates join while the evaluation is open to them; in review the field is fixed (what was scored).
CANDIDATES_OPEN = (Evaluation.Status.DRAFT, Evaluation.Status.SCORING)


def addable_vendors(evaluation: Evaluation) -> QuerySet[Vendor]:
    """The register's vendors the lead may add: not yet candidates, and of an allowed kind when the
    evaluation names kinds. The one rule of candidate_add, the vendor search and the suggestions."""
    vendors = Vendor.objects.exclude(candidacies__evaluation=evaluation)
    kinds = list(evaluation.allowed_kinds.values_list("pk", flat=True))
    if kinds:
        of_kind = Vendor.kinds.through.objects.filter(vendor_id=OuterRef("pk"), kind_id__in=kinds)
        vendors = vendors.filter(Exists(of_kind))
    return vendors


def candidate_suggestions(evaluation: Evaluation, limit: int = 8) -> tuple[list[Vendor], int]:
    """Register vendors that fit the program, most required services first; with the number of
    services required. They may be added (addable_vendors), are not disqualified, work with the
    modality, have a site covering the program's batch-size range and, for every program step, a
    site that does it under the step's quality regime with the step's services (the sites
    program.suggest_for_candidate would propose): no CRO for a fill-finish program."""
    vendors = addable_vendors(evaluation).exclude(status=Vendor.Status.DISQUALIFIED)
    if evaluation.modality_id:
        vendors = vendors.filter(modalities=evaluation.modality_id)
    vendors = VendorFilter.filter_scale(
        vendors,
        {"scale_unit": evaluation.scale_unit, "scale_from": evaluation.scale_min, "scale_to": evaluation.scale_max},
    )
    for step in evaluation.steps.prefetch_related("services"):
        able = Site.objects.filter(vendor_id=OuterRef("pk"), quality_regime=step.quality_regime)
        for service in step.services.all():
            able = able.filter(capabilities=service)
        vendors = vendors.filter(Exists(able))
    services_needed = list(evaluation.required_services.all())
    vendors = vendors.annotate(matched=Count("services", filter=Q(services__in=services_needed), distinct=True))
    return list(vendors.distinct().order_by("-matched", "name")[:limit]), len(services_needed)


def candidate_add(*, evaluation: Evaluation, user, vendor) -> Candidate:
    _require_lead(user, evaluation, "add candidates")
    if evaluation.status not in CANDIDATES_OPEN:
        now = "closed" if evaluation.status == Evaluation.Status.CLOSED else "in review"
        _refuse(f"Candidates are added in draft or while scoring; the evaluation is {now}.", status=409)
    if not addable_vendors(evaluation).filter(pk=vendor.pk).exists():
        if evaluation.candidates.filter(vendor=vendor).exists():
            _refuse(f"{vendor.name} is already a candidate.", "vendor", status=409)
        kinds = ", ".join(evaluation.allowed_kinds.order_by("code").values_list("code", flat=True))
        _refuse(f"{vendor.name} is not of an allowed kind ({kinds}).", "vendor")
    try:
        with transaction.atomic():
            candidate = Candidate.objects.create(evaluation=evaluation, vendor=vendor, added_by=user)
            program.suggest_for_candidate(candidate)
            return candidate
    except IntegrityError:
        _refuse(f"{vendor.name} is already a candidate.", "vendor", status=409)


def candidate_override_knockout(*, candidate: Candidate, user, reason: str) -> Candidate:
    _require_lead(user, candidate.evaluation, "override a knock-out")
    if not reason.strip():
        _refuse("Record why the knock-out is overridden.", "reason")
    trail.reason(reason.strip())
    candidate.knockout_override = True
    candidate.knockout_override_reason = reason.strip()
    candidate.save(update_fields=["knockout_override", "knockout_override_reason"])
    return candidate


def knockout_rule_set(
    *, evaluation: Evaluation, user, rules: dict[str, int | None], reason: str = "", years: int | None = None
) -> None:
    """Which must-have gates are on ({rule: years or None}); see program.gates_set."""
    program.gates_set(evaluation=evaluation, user=user, rules=rules, reason=reason, years=years)


def _require_scoring(user, evaluation: Evaluation) -> None:
    if not access.is_evaluator(user, evaluation):
        _refuse("You are not an evaluator of this evaluation.", status=403)
    if evaluation.status != Evaluation.Status.SCORING:
        _refuse(
            f"Scores can be entered only while scoring is open; the evaluation is {evaluation.get_status_display().lower()}.",
            status=409,
        )


def score_save(
    *,
    evaluation: Evaluation,
    user,
    candidate_id: int,
    criterion_id: int,
    value,
    rationale: str = "",
    evidence_url: str = "",
    revision: int | None = None,
) -> Score:
    """Save one cell. `revision` is the version the user last saw: a stale save is refused (409)."""
    _require_scoring(user, evaluation)
    if Submission.objects.filter(evaluation=evaluation, evaluator=user).exists():
        _refuse("You have submitted your scores; they can no longer change.", status=409)
    candidate = Candidate.objects.filter(evaluation=evaluation, pk=candidate_id).first()
    criterion = Criterion.objects.filter(evaluation=evaluation, pk=criterion_id).first()
    if candidate is None:
        _refuse("No such candidate in this evaluation.", "candidate")
    if criterion is None:
        _refuse("No such criterion in this evaluation.", "criterion")
    if criterion.evidence:
        _refuse(f"{criterion.name} is derived from evidence; override it with a justification instead.", "criterion")
    if criterion.children.exists():
        _refuse(f"{criterion.name} is scored through its sub-criteria.", "criterion")
    try:
        number = int(value)
        if str(value).strip() not in (str(number), f"{number}.0"):
            raise ValueError
    except (TypeError, ValueError):
        _refuse(f"Scores are whole numbers from {RUBRIC_MIN} to {RUBRIC_MAX}.", "value")
    if not RUBRIC_MIN <= number <= RUBRIC_MAX:
        _refuse(f"Scores are whole numbers from {RUBRIC_MIN} to {RUBRIC_MAX}.", "value")
    if evidence_url:
        try:
            URLValidator(schemes=["http", "https"])(evidence_url)
        except ValidationError:
            _refuse("The evidence link must be an http(s) address.", "evidence_url")
    with transaction.atomic():
        score = (
            Score.objects.select_for_update().filter(candidate=candidate, criterion=criterion, evaluator=user).first()
        )
        if score is None:
            if revision:
                _refuse("This score was removed meanwhile; reload the grid.", status=409)
            try:
                with transaction.atomic():
                    return Score.objects.create(
                        candidate=candidate,
                        criterion=criterion,
                        evaluator=user,
                        value=number,
                        rationale=rationale,
                        evidence_url=evidence_url,
                    )
            except IntegrityError:
                _refuse("This cell was saved from another window meanwhile; reload it.", status=409)
        if revision is not None and revision != score.revision:
            _refuse(
                "This cell was changed elsewhere since you loaded it (your value was not saved); reload it.", status=409
            )
        score.value, score.rationale, score.evidence_url = number, rationale, evidence_url
        score.revision += 1
        score.save()
        return score


def evaluator_submit(*, evaluation: Evaluation, user) -> Submission:
    """Close one evaluator's scoring: every judged cell must be filled; then the others' scores show."""
    _require_scoring(user, evaluation)
    with transaction.atomic():
        # Under the evaluation's lock: a submission racing the move to review is either counted
        # before it or refused after it, never half-seen by the move's check.
        locked = Evaluation.objects.select_for_update().get(pk=evaluation.pk)
        _require_scoring(user, locked)
        submission = _submit(evaluation, user)
    access.forget_blindness(evaluation)
    return submission


def _submit(evaluation: Evaluation, user) -> Submission:
    scored = evaluation.scored_criteria()
    expected = scored.count() * evaluation.candidates.count()
    done = Score.objects.filter(candidate__evaluation=evaluation, evaluator=user, criterion__in=scored).count()
    if done < expected:
        _refuse(f"{expected - done} of {expected} scores are still missing.", status=409)
    submission, created = Submission.objects.get_or_create(evaluation=evaluation, evaluator=user)
    if not created:
        _refuse(f"You already submitted on {timezone.localtime(submission.submitted_at):%Y-%m-%d %H:%M}.", status=409)
    return submission


def derived_override(*, candidate: Candidate, criterion: Criterion, user, value, justification: str) -> DerivedOverride:
    evaluation = candidate.evaluation
    if not (access.is_lead(user, evaluation) or access.is_evaluator(user, evaluation)):
        _refuse("Only the evaluation's team can override a derived score.", status=403)
    if not criterion.evidence:
        _refuse(f"{criterion.name} is scored by evaluators, not derived.", "criterion")
    if evaluation.status == Evaluation.Status.CLOSED:
        # The proposals' evidence (answers, costs) arrives after the shortlist closed the evaluation:
        # it stays open to overrides until an award is put to approval, which freezes it.
        if criterion.evidence not in PROPOSAL_EVIDENCE:
            _refuse("The evaluation is closed.", status=409)
        if providers.decided(evaluation):
            _refuse("An award on these proposals awaits approval or is approved; its figures are frozen.", status=409)
    if not justification.strip():
        _refuse("A justification is required to override a derived score.", "justification")
    try:
        number = Decimal(str(value))
    except ArithmeticError:
        number = None
    if number is None or not number.is_finite() or not RUBRIC_MIN <= number <= RUBRIC_MAX:
        _refuse(f"The value must be between {RUBRIC_MIN} and {RUBRIC_MAX}.", "value")
    trail.reason(justification.strip())
    override, _ = DerivedOverride.objects.update_or_create(
        candidate=candidate,
        criterion=criterion,
        defaults={"value": number.quantize(Decimal("0.01")), "justification": justification.strip(), "by": user},
    )
    return override


def evaluators_invited(evaluation: Evaluation, user_ids) -> None:
    """Tell newly added evaluators (whichever path added them: page, API, admin)."""
    notifications.notify(
        get_user_model().objects.filter(pk__in=user_ids),
        Notification.Kind.INVITED,
        f"You are invited to score: {evaluation.name}",
        f"{evaluation.lead.printed_name} added you as an evaluator.",
        evaluation.get_absolute_url(),
        key=f"invited:{evaluation.pk}",
    )
