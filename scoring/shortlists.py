"""Shortlists: the lead proposes from the ranking, managers approve with electronic signatures.

What the approvers sign is a frozen snapshot (weights, scores, ranking, knock-outs) taken at
submission and stored with its SHA-256; a signature is bound to that snapshot, so a later change
of the stored snapshot shows every signature on it as invalid.
"""

from __future__ import annotations

import hashlib
import json
import math
from typing import NoReturn

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.template.loader import render_to_string
from django.utils import timezone

import core.pdf
from accounts import notifications, signatures
from accounts.models import Notification, Signature
from accounts.roles import MANAGER, QA, has_role
from core import trail
from core.errors import ServiceError
from scoring import access, selectors
from scoring.models import Evaluation, Shortlist, ShortlistDecision, ShortlistEntry
from scoring.serializers import RankingRowSerializer
from scoring.services import ScoringError, checked_approvals, evaluation_close_on_approval

MEANINGS = {
    ShortlistDecision.Decision.APPROVE: Signature.Meaning.APPROVED,
    ShortlistDecision.Decision.REJECT: Signature.Meaning.REJECTED,
    ShortlistDecision.Decision.RETURN: Signature.Meaning.RETURNED,
}


def meaning_of(user, decision: str) -> str:
    """The Part 11 meaning of a decision: quality assurance's approval is "Approved for quality",
    a distinct meaning from a manager's business approval."""
    if decision == ShortlistDecision.Decision.APPROVE and has_role(user, QA) and not has_role(user, MANAGER):
        return Signature.Meaning.APPROVED_FOR_QUALITY
    return MEANINGS[ShortlistDecision.Decision(decision)]


def approval_complete(record) -> bool:
    """Enough approvals, and quality assurance's among them when the version's policy asks for it. For any
    signed proposal with `decisions` (signature_id, decision), `snapshot` and `required_approvals`: a
    shortlist, or an award (rfp.awards)."""
    meanings = list(
        Signature.objects.filter(
            pk__in=record.decisions.filter(decision=ShortlistDecision.Decision.APPROVE).values("signature_id")
        ).values_list("meaning", flat=True)
    )
    qa_needed = bool((record.snapshot or {}).get("qa_approval_required"))
    return len(meanings) >= record.required_approvals and (
        not qa_needed or Signature.Meaning.APPROVED_FOR_QUALITY in meanings
    )


def _refuse(message: str, field: str | None = None, status: int = 400) -> NoReturn:
    raise ScoringError(message, field, status)


def canonical(snapshot: dict) -> str:
    return json.dumps(snapshot, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def snapshot_hash(snapshot: dict) -> str:
    return hashlib.sha256(canonical(snapshot).encode()).hexdigest()


def snapshot_intact(shortlist: Shortlist) -> bool:
    return shortlist.snapshot is not None and snapshot_hash(shortlist.snapshot) == shortlist.snapshot_hash


def chosen_candidate_ids(snapshot: dict | None) -> list[int]:
    """The candidates the signed snapshot shortlists: what the approvers approved, whatever the live rows say."""
    return [row["candidate"] for row in (snapshot or {}).get("ranking", []) if row.get("chosen")]


def entries_match_snapshot(shortlist: Shortlist) -> bool:
    """Whether the live entries are exactly the snapshot's chosen candidates (uses prefetched entries)."""
    live = {entry.candidate_id for entry in shortlist.entries.all()}
    return live == set(chosen_candidate_ids(shortlist.snapshot))


# What of a snapshot a blind evaluator sees (access.blind_to_others): who proposed it and when, the
# criteria and weights, the approval policy. Not the ranking, totals, scores, the vendors skipped
# for ranking higher, or the rationale (which argues from them).
BLIND_SNAPSHOT_KEYS = ("evaluation", "shortlist", "proposed_by", "submitted_at", "required_approvals", "weight_set")


def snapshot_for(shortlist: Shortlist, viewer, *, blind: bool | None = None) -> dict | None:
    """The snapshot as `viewer` may see it: whole, or without anything derived from others' scores.

    `blind`: the answer of access.blind_to_others when the caller has it already (list views).
    """
    snapshot = shortlist.snapshot
    if blind is None:
        blind = access.blind_to_others(viewer, shortlist.evaluation)
    if snapshot is None or not blind:
        return snapshot
    return {
        **{key: snapshot[key] for key in BLIND_SNAPSHOT_KEYS if key in snapshot},
        "criteria": [
            {key: c.get(key) for key in ("id", "name", "weight", "evidence", "not_applicable")}
            for c in snapshot.get("criteria", [])
        ],
        "withheld": True,
        "ranking": [],
        "skipped_higher_ranked": [],
        "rationale": "",
    }


def current(evaluation: Evaluation) -> Shortlist | None:
    return evaluation.shortlists.order_by("-version").first()


def _number(value) -> float | None:
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else round(float(value), 4)


def _skipped(result: selectors.Ranking, chosen: set[int]) -> list[str]:
    """Vendors ranked above the lowest-ranked chosen one that were left out."""
    chosen_ranks = [r.rank for r in result.rows if r.candidate.pk in chosen and r.rank is not None]
    unranked_chosen = any(r.rank is None for r in result.rows if r.candidate.pk in chosen)
    floor = math.inf if unranked_chosen else max(chosen_ranks, default=0)
    return [
        r.candidate.vendor.name
        for r in result.rows
        if r.rank is not None and r.rank < floor and r.candidate.pk not in chosen
    ]


def build_snapshot(shortlist: Shortlist, submitted_at) -> dict:
    """Everything the approvers judge, as plain JSON: weights, scores, ranking and knock-outs."""
    evaluation = shortlist.evaluation
    result = selectors.ranking(evaluation, shortlist.proposed_by)
    chosen = set(shortlist.entries.values_list("candidate_id", flat=True))
    total_weight = float(result.weights.sum()) or 1.0
    return {
        "evaluation": {"id": evaluation.pk, "name": evaluation.name},
        "shortlist": {"id": shortlist.pk, "version": shortlist.version},
        "proposed_by": {"id": shortlist.proposed_by_id, "name": shortlist.proposed_by.printed_name},
        "submitted_at": submitted_at.isoformat(),
        "rationale": shortlist.rationale,
        "required_approvals": shortlist.required_approvals,
        "qa_approval_required": evaluation.qa_approval_required,
        "weight_set": (
            {"version": result.weight_set.version, "method": result.weight_set.method} if result.weight_set else None
        ),
        # The must-have gates as they stood, each gate that is off with its recorded reason.
        "gates": [
            {
                "rule": g.rule,
                "label": g.get_rule_display(),
                "on": g.enabled,
                "years": g.years,
                "off_reason": g.off_reason,
            }
            for g in evaluation.knockout_rules.order_by("pk")
        ],
        "program_steps": [step["label"] for step in result.steps],
        "criteria": [
            {
                "id": c.pk,
                "name": c.name,
                "weight": _number(w / total_weight),
                "evidence": c.evidence or None,
                # Why the criterion does not apply (left out at weight 0), or None: its empty scores
                # are then not missing. Snapshots taken before this key existed do not have it.
                "not_applicable": reason,
            }
            for c, w, reason in zip(result.criteria, result.weights, result.not_applicable_reasons, strict=True)
        ],
        # The API's rows (scoring.serializers) in the snapshot's own stored shape: signatures hash it.
        "ranking": [
            {
                "candidate": row["candidate"],
                "vendor": {"id": row["vendor"], "name": row["vendor_name"]},
                "rank": row["rank"],
                "total": _number(row["total"]),
                "scores": [_number(cell["value"]) for cell in row["cells"]],
                "completeness": _number(row["completeness"]),
                "knocked_out": row["knocked_out"],
                "knockouts": row["knockouts"],
                "warnings": row["warnings"],
                "proposed_sites": row["proposed_sites"],
                "chosen": row["candidate"] in chosen,
            }
            for row in RankingRowSerializer(result.rows, many=True, context={"criteria": result.criteria}).data
        ],
        "skipped_higher_ranked": _skipped(result, chosen),
    }


def snapshot_rows(snapshot: dict) -> list[tuple[dict, list[tuple[float | None, str | None]]]]:
    """The snapshot's ranking, each score paired with why its criterion does not apply (None: it applies).

    Only reshapes the stored JSON, for the page and the PDF; a snapshot that has been tampered
    with still shows every stored score.
    """
    reasons = [c.get("not_applicable") for c in snapshot.get("criteria", [])]
    return [
        (row, [(value, reasons[j] if j < len(reasons) else None) for j, value in enumerate(row.get("scores", []))])
        for row in snapshot.get("ranking", [])
    ]


def _require_proposer(user, evaluation: Evaluation) -> None:
    if not access.is_lead(user, evaluation):
        _refuse("Only the evaluation's lead proposes shortlists.", status=403)


def shortlist_propose(
    *, evaluation: Evaluation, user, candidate_ids, rationale: str = "", required_approvals: int | None = None
) -> Shortlist:
    """Create the draft shortlist (a new version after a decision) or change the open draft.

    Approvals: every version needs at least the evaluation's policy (evaluation.required_approvals,
    never below the site's minimum). Without `required_approvals` a version takes the policy; with
    fewer it is refused (400 on the field); with more, the version needs more and, once submitted,
    the policy is raised to it for every later version.
    """
    _require_proposer(user, evaluation)
    if evaluation.status not in (Evaluation.Status.REVIEW, Evaluation.Status.CLOSED):
        _refuse("Shortlists are proposed from the ranking once the evaluation is in review.", status=409)
    policy = max(evaluation.required_approvals, settings.SHORTLIST_REQUIRED_APPROVALS)
    required = policy if required_approvals in (None, "") else checked_approvals(required_approvals, floor=policy)
    try:
        ids = {int(pk) for pk in candidate_ids}
    except (TypeError, ValueError):
        _refuse("Candidates are given by their ids.", "candidates")
    if not ids:
        _refuse("Choose at least one vendor.", "candidates")
    known = set(evaluation.candidates.filter(pk__in=ids).values_list("pk", flat=True))
    if ids - known:
        _refuse(f"Not candidates of this evaluation: {', '.join(map(str, sorted(ids - known)))}.", "candidates")
    barred = [
        f"{row.candidate.vendor.name}: {'; '.join(row.disqualified)}"
        for row in selectors.ranking(evaluation, user).rows
        if row.candidate.pk in ids and row.disqualified
    ]
    if barred:  # no gate override lifts a disqualification
        _refuse(f"Disqualified, so not shortlisted: {' | '.join(barred)}.", "candidates")
    with transaction.atomic():
        locked = Evaluation.objects.select_for_update().get(pk=evaluation.pk)  # one proposer at a time
        if required < locked.required_approvals:  # the policy was raised meanwhile
            required = checked_approvals(required, floor=locked.required_approvals)
        shortlist = current(evaluation)
        if shortlist and shortlist.status == Shortlist.Status.SUBMITTED:
            _refuse(f"Version {shortlist.version} awaits approval; it cannot change now.", status=409)
        if shortlist and shortlist.status == Shortlist.Status.APPROVED:
            _refuse(f"Version {shortlist.version} is approved; the shortlist is final.", status=409)
        if shortlist is None or shortlist.status != Shortlist.Status.DRAFT:
            version = (evaluation.shortlists.aggregate(v=Max("version"))["v"] or 0) + 1
            shortlist = Shortlist.objects.create(
                evaluation=evaluation, version=version, proposed_by=user, required_approvals=required
            )
        shortlist.rationale = rationale.strip()
        shortlist.required_approvals = required
        shortlist.proposed_by = user
        shortlist.save()
        shortlist.entries.exclude(candidate_id__in=ids).delete()  # a draft's choice; recorded in the trail
        have = set(shortlist.entries.values_list("candidate_id", flat=True))
        ShortlistEntry.objects.bulk_create(
            [ShortlistEntry(shortlist=shortlist, candidate_id=pk) for pk in sorted(ids - have)]
        )
    return shortlist


def shortlist_submit(*, shortlist: Shortlist, user) -> Shortlist:
    """Freeze the snapshot, hash it, and ask the managers for their signatures."""
    evaluation = shortlist.evaluation
    _require_proposer(user, evaluation)
    with transaction.atomic():
        shortlist = (
            Shortlist.objects.select_for_update().select_related("evaluation", "proposed_by").get(pk=shortlist.pk)
        )
        if shortlist.status != Shortlist.Status.DRAFT:
            _refuse(
                f"Version {shortlist.version} is {shortlist.get_status_display().lower()}, not a draft.", status=409
            )
        if not shortlist.entries.exists():
            _refuse("Choose at least one vendor.", "candidates")
        now = timezone.now()
        snapshot = build_snapshot(shortlist, now)
        if snapshot["skipped_higher_ranked"] and not shortlist.rationale:
            _refuse(
                "Give a rationale: higher-ranked vendors are left out "
                f"({', '.join(snapshot['skipped_higher_ranked'])}).",
                "rationale",
            )
        policy = Evaluation.objects.select_for_update().get(pk=evaluation.pk).required_approvals
        if shortlist.required_approvals < policy:  # a draft from before the policy was raised
            _refuse(
                f"This evaluation's policy now requires {policy} signed approvals; save the draft with at least that.",
                "required_approvals",
            )
        shortlist.snapshot, shortlist.snapshot_hash = snapshot, snapshot_hash(snapshot)
        shortlist.submitted_at = now
        shortlist.submit()
        shortlist.save()
        if shortlist.required_approvals > policy:  # raising is allowed, and binds every later version
            Evaluation.objects.filter(pk=evaluation.pk).update(required_approvals=shortlist.required_approvals)
        deciders = [MANAGER, QA] if evaluation.qa_approval_required else [MANAGER]
        managers = get_user_model().objects.filter(groups__name__in=deciders).exclude(pk=user.pk).distinct()
        notifications.notify(
            managers,
            Notification.Kind.APPROVAL_REQUESTED,
            f"Shortlist awaits your approval: {evaluation.name} (v{shortlist.version})",
            f"{user.printed_name} proposes {len([r for r in snapshot['ranking'] if r['chosen']])} vendor(s).",
            shortlist.get_absolute_url(),
        )
    return shortlist


def _check_decision(shortlist: Shortlist, user, decision: str, seen_hash: str, comment: str) -> None:
    if decision not in ShortlistDecision.Decision.values:
        _refuse(f"Decide one of: {', '.join(ShortlistDecision.Decision.values)}.", "decision")
    if shortlist.proposed_by_id == user.pk:
        _refuse("You proposed this shortlist; another manager must decide it (separation of duties).", status=403)
    if not user.has_perm("scoring.decide_shortlist"):
        _refuse("Only managers and quality assurance approve, reject or return shortlists.", status=403)
    if shortlist.status != Shortlist.Status.SUBMITTED:
        _refuse(
            f"Version {shortlist.version} is {shortlist.get_status_display().lower()}; it is not awaiting a decision.",
            status=409,
        )
    newer = shortlist.evaluation.shortlists.filter(version__gt=shortlist.version).exists()
    if newer or seen_hash != shortlist.snapshot_hash:
        _refuse(
            "What you reviewed is not the current snapshot of this shortlist; reload it and review again.", status=409
        )
    if not snapshot_intact(shortlist):
        _refuse("The stored snapshot no longer matches its hash; it cannot be signed.", status=409)
    if shortlist.decisions.filter(decided_by=user).exists():
        _refuse("You have already signed a decision on this version.", status=409)
    if decision != ShortlistDecision.Decision.APPROVE and not comment.strip():
        _refuse("Say why: a rejection or a return needs a comment.", "comment")


def shortlist_decide(
    *, request, shortlist: Shortlist, user, decision: str, password: str, seen_hash: str, comment: str = ""
) -> Shortlist:
    """A manager's signed decision. Every refusal is recorded, and nothing else changes."""
    try:
        return _decide(request, shortlist, user, decision, password, seen_hash or "", comment or "")
    except ServiceError as error:  # the service's refusals and a wrong password alike
        signatures.record_refusal(user=user, record=shortlist, action=f"shortlist {decision}", reason=error.message)
        raise


def _decide(request, shortlist, user, decision, password, seen_hash, comment) -> Shortlist:
    _check_decision(shortlist, user, decision, seen_hash, comment)
    # Outside the transaction: the failed attempt must survive for the lockout count. A wrong password
    # raises SignatureError, a refusal under "password".
    signatures.reauthenticate(request=request, user=user, password=password, record=shortlist)
    meaning = Signature.Meaning(meaning_of(user, decision))
    why = f"{meaning.label}: {comment.strip()}" if comment.strip() else meaning.label
    trail.reason(why)
    with transaction.atomic():
        shortlist = Shortlist.objects.select_for_update().select_related("evaluation").get(pk=shortlist.pk)
        _check_decision(shortlist, user, decision, seen_hash, comment)  # again, under the lock
        signature = signatures.create(
            user=user,
            record=shortlist,
            snapshot=signed_content(shortlist.snapshot, decision, comment.strip()),
            meaning=meaning,
        )
        try:
            with transaction.atomic():
                ShortlistDecision.objects.create(
                    shortlist=shortlist,
                    signature=signature,
                    decided_by=user,
                    decision=decision,
                    comment=comment.strip(),
                )
        except IntegrityError:
            _refuse("You have already signed a decision on this version.", status=409)
        if decision == ShortlistDecision.Decision.REJECT:
            shortlist.reject()
        elif decision == ShortlistDecision.Decision.RETURN:
            shortlist.return_for_changes()
        elif approval_complete(shortlist):
            shortlist.approve()
            # The shortlist is final: so is the evaluation (review -> closed), in the same transaction.
            trail.reason(f"{why}. Shortlist version {shortlist.version} approved: the evaluation closes.")
            evaluation_close_on_approval(shortlist=shortlist)
        if shortlist.status != Shortlist.Status.SUBMITTED:
            shortlist.decided_at = timezone.now()
            notifications.notify(
                [shortlist.proposed_by],
                Notification.Kind.SHORTLIST_DECIDED,
                f"Your shortlist was {shortlist.get_status_display().lower()}: {shortlist.evaluation.name} "
                f"(v{shortlist.version})",
                f"{user.printed_name}: {comment.strip()}" if comment.strip() else f"Decided by {user.printed_name}.",
                shortlist.get_absolute_url(),
            )
        shortlist.save()
    return shortlist


def signed_content(snapshot: dict | None, decision: str, comment: str) -> dict:
    """What an approver signs: the record's snapshot (a shortlist's, an award's) and their own decision with
    its comment."""
    return {**(snapshot or {}), "decision": {"decision": decision, "comment": comment}}


def manifest(shortlist: Shortlist) -> list[dict]:
    """Every signature on this shortlist: printed name, UTC time, meaning, comment, and whether it verifies.

    A signature verifies when the stored snapshot still matches its hash and the signature, and
    the live entries are exactly the vendors the snapshot chose (an entry added or removed after
    submission, by whatever path, invalidates what was signed).
    """
    return signature_manifest(shortlist, lambda: snapshot_intact(shortlist) and entries_match_snapshot(shortlist))


def signature_manifest(record, intact) -> list[dict]:
    """The manifest of a record signed as a shortlist is (its snapshot, `signatures` and `decisions`; an award
    too): `intact()`, asked only when there are signatures, says whether the record still is what was signed."""
    signed = list(record.signatures.all())  # prefetched by list views
    if not signed:
        return []
    decisions = {d.signature_id: d for d in record.decisions.all()}
    unchanged = intact()
    return [
        {
            "printed_name": s.printed_name,
            "user_id": s.signer_id,
            "signed_at": s.signed_at,
            "meaning": s.get_meaning_display(),
            "decision": decisions[s.pk].get_decision_display() if s.pk in decisions else "",
            "comment": decisions[s.pk].comment if s.pk in decisions else "",
            "record_hash": s.record_hash,
            "valid": unchanged
            and record.snapshot is not None
            and s.pk in decisions
            and signatures.is_valid(
                s, record, signed_content(record.snapshot, decisions[s.pk].decision, decisions[s.pk].comment)
            ),
        }
        for s in signed
    ]


def pending_for(user):
    """Shortlists awaiting this manager's (or quality assurance's) signature."""
    if not user.has_perm("scoring.decide_shortlist"):
        return Shortlist.objects.none()
    return (
        Shortlist.objects.filter(status=Shortlist.Status.SUBMITTED)
        .exclude(proposed_by=user)
        .exclude(decisions__decided_by=user)
        .select_related("evaluation", "proposed_by")
        .order_by("submitted_at")
    )


def render_pdf(shortlist: Shortlist) -> bytes:
    """The snapshot and signature manifest as a PDF (small: rendered in the request, in the limited child)."""
    html = render_to_string(
        "scoring/shortlist_pdf.html",
        {
            "evaluation": shortlist.evaluation,
            "shortlist": shortlist,
            "snapshot": shortlist.snapshot,
            "snapshot_rows": snapshot_rows(shortlist.snapshot or {}),
            "intact": snapshot_intact(shortlist),
            "manifest": manifest(shortlist),
            "generated_at": timezone.now(),
        },
    )
    return core.pdf.render_pdf(html)[0]
