"""The award: the lead proposes which vendor(s) win the RFP, approvers sign, and every vendor is told.

Mirrors the shortlist's approval (scoring/shortlists.py): what the approvers sign is a snapshot frozen
at submission (weighted scores and ranks, total program costs, questionnaire compliance, the awarded
vendors and their scope, the rationale) stored with its SHA-256; each signature is bound to it. The
proposer never decides; the policy's number of approvals, and quality assurance's when the evaluation
asks for it, make the approval. On approval, in the same transaction: one notice per vendor of the
RFP (award or regret) is queued for the workers (core.outbox), the RFP and the evaluation close, and
the awarded vendors' proposed sites are marked selected in the register. The worker renders each
notice to PDF, then e-mails it to the vendor's signed-in portal contacts; the portal shows it too.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
from decimal import Decimal
from typing import NoReturn

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile
from django.core.mail import EmailMessage
from django.db import IntegrityError, transaction
from django.db.models import Count, Max, Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

import core.pdf
from accounts import notifications, signatures
from accounts.models import Notification, Signature
from accounts.roles import MANAGER, QA
from core import outbox, trail
from core.errors import ServiceError
from rfp import access, bidding, costs
from rfp.models import (
    Award,
    AwardDecision,
    AwardLine,
    AwardNotice,
    Invitation,
    Proposal,
    QuestionnaireAnswer,
    QuestionnaireResponse,
    Rfp,
    SealedUpload,
)
from rfp.services import RfpError
from scoring import selectors as scoring_selectors
from scoring import services as scoring_services
from scoring import shortlists
from scoring.models import Candidate, Evaluation, ProgramStep, ProposedSite, Shortlist
from vendors.models import Site

logger = logging.getLogger(__name__)

NOTICE_TASK = "rfp.tasks.render_award_notice"
DECIDE_PERMISSION = "scoring.decide_shortlist"  # the managers' and quality assurance's approval right


def _refuse(message: str, field: str | None = None, status: int = 400) -> NoReturn:
    raise RfpError(message, field, status)


def _require_lead(user, rfp: Rfp) -> None:
    if not access.can_manage(user, rfp.shortlist):
        _refuse("Only the evaluation's lead proposes the award.", status=403)


def current(rfp: Rfp) -> Award | None:
    return rfp.awards.order_by("-version").first()


def approved_award(rfp: Rfp) -> Award | None:
    return rfp.awards.filter(status=Award.Status.APPROVED).order_by("-version").first()


# --- Who may be awarded ------------------------------------------------------------------------------


def submitted_by_candidate(rfp: Rfp) -> dict[int, list[str]]:
    """Per candidate, what it submitted: a sealed upload, a read questionnaire, a recorded proposal.
    Three grouped queries, whatever the number of vendors."""
    found: dict[int, list[str]] = {}
    for candidate_id, parts in (
        SealedUpload.objects.filter(rfp=rfp)
        .values_list("candidate_id")
        .annotate(n=Count("pk"))
        .values_list("candidate_id", "n")
    ):
        found.setdefault(candidate_id, []).append(f"{parts} sealed file(s)")
    for candidate_id in QuestionnaireResponse.objects.filter(rfp=rfp).values_list("candidate_id", flat=True).distinct():
        found.setdefault(candidate_id, []).append("questionnaire")
    for candidate_id in Proposal.objects.filter(rfp=rfp).values_list("candidate_id", flat=True):
        found.setdefault(candidate_id, []).append("recorded proposal")
    return found


def rfp_candidates(rfp: Rfp):
    """The vendors of the RFP: those the approved shortlist's signed snapshot chose."""
    return (
        Candidate.objects.filter(
            evaluation_id=rfp.shortlist.evaluation_id,
            pk__in=shortlists.chosen_candidate_ids(rfp.shortlist.snapshot),
        )
        .select_related("vendor")
        .order_by("vendor__name", "pk")
    )


def eligible(rfp: Rfp) -> list[dict]:
    """Each vendor of the RFP with what it submitted and whether it may be awarded (and why not)."""
    submitted = submitted_by_candidate(rfp)
    return [
        {
            "candidate": candidate,
            "submitted": submitted.get(candidate.pk, []),
            "eligible": bool(submitted.get(candidate.pk)),
        }
        for candidate in rfp_candidates(rfp)
    ]


def must_open_first(rfp: Rfp) -> bool:
    """Proposals that came through the portal are judged only once both openers have opened them;
    an RFP run by mail alone (no invitations, no sealed files) has nothing to open."""
    uses_portal = rfp.invitations.exists() or rfp.sealed_uploads.exists()
    return uses_portal and not bidding.is_opened(rfp)


def _check_rfp_open_for_award(rfp: Rfp) -> None:
    if rfp.closed_at:
        _refuse(f"{rfp.reference} is closed: its award is approved.", status=409)
    if rfp.shortlist.status != Shortlist.Status.APPROVED or not shortlists.snapshot_intact(rfp.shortlist):
        _refuse("The RFP's shortlist is not approved (or its snapshot no longer verifies); no award on it.", status=409)
    if must_open_first(rfp):
        _refuse(
            "The proposals are still sealed: the lead and the second opener must open them before an award.",
            status=409,
        )


def _cleaned_lines(rfp: Rfp, awarded) -> list[dict]:
    """[{candidate, step, scope}] checked: on the approved shortlist, submitted something, known step."""
    if not isinstance(awarded, list | tuple) or not awarded:
        _refuse("Choose at least one vendor to award.", "awarded")
    chosen = {c.pk: c for c in rfp_candidates(rfp)}
    submitted = submitted_by_candidate(rfp)
    steps = {s.pk: s for s in ProgramStep.objects.filter(evaluation_id=rfp.shortlist.evaluation_id)}
    lines, seen = [], set()
    for item in awarded:
        if not isinstance(item, dict):
            _refuse("Each awarded vendor is given as {candidate, scope, step}.", "awarded")
        try:
            candidate_id = int(item.get("candidate"))  # type: ignore[arg-type]  # refused below when not a number
        except (TypeError, ValueError):
            _refuse("Vendors are given by their candidate ids.", "awarded")
        if candidate_id in seen:
            _refuse("A vendor is awarded once; put its whole scope in one line.", "awarded")
        seen.add(candidate_id)
        candidate = chosen.get(candidate_id)
        if candidate is None:
            _refuse(
                f"Candidate {candidate_id} is not on the RFP's approved shortlist; only its vendors can be awarded.",
                "awarded",
            )
        if not submitted.get(candidate_id):
            _refuse(
                f"{candidate.vendor.name} submitted nothing (no proposal, no questionnaire); it cannot be awarded.",
                "awarded",
            )
        step_id = item.get("step") or None
        if step_id is not None:
            try:
                step_id = int(step_id)
            except (TypeError, ValueError):
                _refuse("The program step is given by its id.", "awarded")
            if step_id not in steps:
                _refuse(f"Step {step_id} is not a program step of this evaluation.", "awarded")
        scope = str(item.get("scope") or "").strip()
        if len(scope) > 300:
            _refuse("Describe the scope in at most 300 characters.", "awarded")
        lines.append({"candidate": candidate, "step": steps.get(step_id) if step_id else None, "scope": scope})
    return lines


def _policy(evaluation: Evaluation) -> int:
    return max(evaluation.required_approvals, settings.SHORTLIST_REQUIRED_APPROVALS)


def award_propose(*, rfp: Rfp, user, awarded, rationale: str, required_approvals: int | None = None) -> Award:
    """Create the draft award (a new version after a decision) or change the open draft.

    `awarded`: [{"candidate": id, "scope": "...", "step": id or None}]. Refused, with nothing saved, for
    a vendor not on the approved shortlist or who submitted nothing, before the opening, without a
    rationale, while a version awaits approval or once one is approved.
    """
    _require_lead(user, rfp)
    rfp = Rfp.objects.select_related("shortlist__evaluation").get(pk=rfp.pk)
    _check_rfp_open_for_award(rfp)
    lines = _cleaned_lines(rfp, awarded)
    rationale = (rationale or "").strip()
    if not rationale:
        _refuse("Give the rationale: why these vendors, on which figures.", "rationale")
    evaluation = rfp.shortlist.evaluation
    policy = _policy(evaluation)
    if required_approvals in (None, ""):
        required = policy
    else:
        try:
            required = int(required_approvals)
        except (TypeError, ValueError):
            _refuse("Give the number of approvals as a whole number.", "required_approvals")
        if required < policy:
            _refuse(f"The evaluation's policy requires at least {policy} signed approval(s).", "required_approvals")
        if required > 10:
            _refuse("At most 10 signed approvals can be required.", "required_approvals")
    with transaction.atomic():
        Rfp.objects.select_for_update().get(pk=rfp.pk)  # one proposer at a time
        award = current(rfp)
        if award and award.status == Award.Status.SUBMITTED:
            _refuse(f"Award version {award.version} awaits approval; it cannot change now.", status=409)
        if award and award.status == Award.Status.APPROVED:
            _refuse(f"Award version {award.version} is approved; the award is final.", status=409)
        if award is None or award.status != Award.Status.DRAFT:
            version = (rfp.awards.aggregate(v=Max("version"))["v"] or 0) + 1
            award = Award.objects.create(
                rfp=rfp, version=version, proposed_by=user, rationale=rationale, required_approvals=required
            )
        award.rationale, award.required_approvals, award.proposed_by = rationale, required, user
        award.save()
        award.lines.all().delete()  # a draft's choice; every change is in the trail
        AwardLine.objects.bulk_create(
            [AwardLine(award=award, candidate=x["candidate"], step=x["step"], scope=x["scope"]) for x in lines]
        )
    return award


# --- The snapshot ------------------------------------------------------------------------------------


def _money(value) -> str | None:
    return None if value is None else str(Decimal(value).quantize(Decimal("0.01")))


def program_cost_rows(rfp: Rfp, candidate_ids: list[int]) -> tuple[str, dict[int, dict]]:
    """Per candidate, its total program cost as the comparison shows it (rfp.costs): the total over the
    program horizon in the base currency with the -50 % / +50 % volume range, or, when a figure is
    missing, no total (never zero) with what is missing and the sum of what could be counted."""
    found = costs.program_costs(rfp)
    rows: dict[int, dict] = {}
    for pk in candidate_ids:
        cost = found.get(pk)
        if cost is None:
            rows[pk] = {"total": None, "currency": None, "status": "missing", "missing": ["no proposal"]}
            continue
        rows[pk] = {
            "total": _money(cost.total),
            "low": _money(cost.low),
            "high": _money(cost.high),
            "subtotal": _money(cost.subtotal),
            "currency": cost.currency,
            "status": cost.status,
            "pricing_model": cost.pricing_model,
            "source": cost.source,
            "missing": [str(m) for m in cost.missing[:20]],
            "errors": [str(e) for e in cost.errors[:20]],
        }
    return "program", rows


def compliance_summary(rfp: Rfp, candidate_ids: list[int]) -> dict[int, dict]:
    """Per candidate, the compliance answers of its latest questionnaire: counts of yes, partly, no,
    na (not applicable) and blank."""
    latest = {
        row["candidate_id"]: row["v"]
        for row in QuestionnaireResponse.objects.filter(rfp=rfp, candidate_id__in=candidate_ids)
        .values("candidate_id")
        .annotate(v=Max("version"))
    }
    counts: dict[int, dict] = {pk: {} for pk in candidate_ids}
    if latest:
        match = Q()
        for candidate_id, version in latest.items():
            match |= Q(response__candidate_id=candidate_id, response__version=version)
        rows = (
            QuestionnaireAnswer.objects.filter(match, response__rfp=rfp)
            .values("response__candidate_id", "compliance")
            .annotate(n=Count("pk"))
        )
        for row in rows:
            counts[row["response__candidate_id"]][row["compliance"] or "blank"] = row["n"]
    return {
        pk: {
            "questionnaire": pk in latest,
            **{key.replace("/", ""): counts[pk].get(key, 0) for key in ("yes", "partly", "no", "n/a", "blank")},
        }
        for pk in candidate_ids
    }


def vendor_figures(rfp: Rfp, viewer) -> tuple[str, list[dict]]:
    """Per vendor of the RFP: weighted score and rank (the evaluation's ranking), total program cost,
    questionnaire compliance and what it submitted. The award page's table and the snapshot's rows."""
    evaluation = rfp.shortlist.evaluation
    candidates = list(rfp_candidates(rfp))
    ids = [c.pk for c in candidates]
    ranked = {row.candidate.pk: row for row in scoring_selectors.ranking(evaluation, viewer).rows}
    cost_basis, costs = program_cost_rows(rfp, ids)
    compliance = compliance_summary(rfp, ids)
    submitted = submitted_by_candidate(rfp)

    def total(pk: int) -> float | None:
        value = ranked[pk].total if pk in ranked else None
        return None if value is None or value != value else round(float(value), 4)  # NaN: not ranked

    return cost_basis, [
        {
            "candidate": c.pk,
            "vendor": {"id": c.vendor_id, "name": c.vendor.name},
            "rank": ranked[c.pk].rank if c.pk in ranked else None,
            "total": total(c.pk),
            "program_cost": costs[c.pk],
            "compliance": compliance[c.pk],
            "submitted": submitted.get(c.pk, []),
        }
        for c in candidates
    ]


def build_snapshot(award: Award, submitted_at) -> dict:
    """Everything the approvers judge, as plain JSON."""
    rfp = award.rfp
    evaluation = rfp.shortlist.evaluation
    cost_basis, figures = vendor_figures(rfp, award.proposed_by)
    lines = {line.candidate_id: line for line in award.lines.select_related("step")}
    return {
        "rfp": {"id": rfp.pk, "reference": rfp.reference, "title": rfp.title},
        "evaluation": {"id": evaluation.pk, "name": evaluation.name},
        "award": {"id": award.pk, "version": award.version},
        "proposed_by": {"id": award.proposed_by_id, "name": award.proposed_by.printed_name},
        "submitted_at": submitted_at.isoformat(),
        "rationale": award.rationale,
        "required_approvals": award.required_approvals,
        "qa_approval_required": evaluation.qa_approval_required,
        "cost_basis": cost_basis,
        "vendors": [
            {
                **row,
                "awarded": row["candidate"] in lines,
                "scope": lines[row["candidate"]].scope if row["candidate"] in lines else "",
                "step": (
                    {"id": lines[row["candidate"]].step_id, "label": str(lines[row["candidate"]].step)}
                    if row["candidate"] in lines and lines[row["candidate"]].step_id
                    else None
                ),
            }
            for row in figures
        ],
    }


def awarded_ids(snapshot: dict | None) -> list[int]:
    return [v["candidate"] for v in (snapshot or {}).get("vendors", []) if v.get("awarded")]


def snapshot_intact(award: Award) -> bool:
    return award.snapshot is not None and shortlists.snapshot_hash(award.snapshot) == award.snapshot_hash


def lines_match_snapshot(award: Award) -> bool:
    return {line.candidate_id for line in award.lines.all()} == set(awarded_ids(award.snapshot))


def award_submit(*, award: Award, user) -> Award:
    """Freeze the snapshot, hash it, and ask the managers (and QA when the policy says so) to sign."""
    rfp = award.rfp
    _require_lead(user, rfp)
    with transaction.atomic():
        award = (
            Award.objects.select_for_update()
            .select_related("rfp__shortlist__evaluation", "proposed_by")
            .get(pk=award.pk)
        )
        if award.status != Award.Status.DRAFT:
            _refuse(f"Award version {award.version} is {award.get_status_display().lower()}, not a draft.", status=409)
        _check_rfp_open_for_award(award.rfp)
        if not award.lines.exists():
            _refuse("Choose at least one vendor to award.", "awarded")
        if not award.rationale.strip():
            _refuse("Give the rationale: why these vendors, on which figures.", "rationale")
        policy = _policy(award.rfp.shortlist.evaluation)
        if award.required_approvals < policy:
            _refuse(f"The evaluation's policy now requires {policy} signed approvals.", "required_approvals")
        now = timezone.now()
        snapshot = build_snapshot(award, now)
        award.snapshot, award.snapshot_hash, award.submitted_at = snapshot, shortlists.snapshot_hash(snapshot), now
        award.submit()
        award.save()
        evaluation = award.rfp.shortlist.evaluation
        deciders = [MANAGER, QA] if evaluation.qa_approval_required else [MANAGER]
        approvers = get_user_model().objects.filter(groups__name__in=deciders).exclude(pk=user.pk).distinct()
        awarded = [v["vendor"]["name"] for v in snapshot["vendors"] if v["awarded"]]
        notifications.notify(
            approvers,
            Notification.Kind.APPROVAL_REQUESTED,
            f"Award awaits your approval: {award.rfp.reference} {award.rfp.title} (v{award.version})",
            f"{user.printed_name} proposes to award {', '.join(awarded)}.",
            award.get_absolute_url(),
        )
    return award


# --- The decision ------------------------------------------------------------------------------------


# An award is decided as a shortlist is: the same meanings, the same approval policy.
meaning_of = shortlists.meaning_of
approval_complete = shortlists.approval_complete


def can_decide(user, award: Award) -> bool:
    return (
        award.status == Award.Status.SUBMITTED
        and user.has_perm(DECIDE_PERMISSION)
        and award.proposed_by_id != user.pk
        and not award.decisions.filter(decided_by=user).exists()
    )


def _check_decision(award: Award, user, decision: str, seen_hash: str, comment: str) -> None:
    if decision not in AwardDecision.Decision.values:
        _refuse(f"Decide one of: {', '.join(AwardDecision.Decision.values)}.", "decision")
    if award.proposed_by_id == user.pk:
        _refuse("You proposed this award; another manager must decide it (separation of duties).", status=403)
    if not user.has_perm(DECIDE_PERMISSION):
        _refuse("Only managers and quality assurance approve, reject or return awards.", status=403)
    if award.status != Award.Status.SUBMITTED:
        _refuse(
            f"Award version {award.version} is {award.get_status_display().lower()}; it is not awaiting a decision.",
            status=409,
        )
    if seen_hash != award.snapshot_hash:
        _refuse("What you reviewed is not the current snapshot of this award; reload it and review again.", status=409)
    if not snapshot_intact(award) or not lines_match_snapshot(award):
        _refuse("The stored snapshot no longer matches its hash; it cannot be signed.", status=409)
    if award.decisions.filter(decided_by=user).exists():
        _refuse("You have already signed a decision on this award version.", status=409)
    if decision != AwardDecision.Decision.APPROVE and not comment.strip():
        _refuse("Say why: a rejection or a return needs a comment.", "comment")


def award_decide(
    *, request, award: Award, user, decision: str, password: str, seen_hash: str, comment: str = ""
) -> Award:
    """A manager's (or QA's) signed decision. Every refusal is recorded, and nothing else changes."""
    try:
        return _decide(request, award, user, decision or "", password or "", seen_hash or "", comment or "")
    except ServiceError as error:  # the service's refusals and a wrong password alike
        signatures.record_refusal(user=user, record=award, action=f"award {decision}", reason=error.message)
        raise


def _decide(request, award: Award, user, decision: str, password: str, seen_hash: str, comment: str) -> Award:
    _check_decision(award, user, decision, seen_hash, comment)
    # Outside the transaction: a failed attempt must survive for the lockout count.
    signatures.reauthenticate(request=request, user=user, password=password, record=award)
    meaning = Signature.Meaning(meaning_of(user, decision))
    why = f"{meaning.label}: {comment.strip()}" if comment.strip() else meaning.label
    trail.reason(why)
    with transaction.atomic():
        award = Award.objects.select_for_update().select_related("rfp__shortlist__evaluation").get(pk=award.pk)
        _check_decision(award, user, decision, seen_hash, comment)  # again, under the lock
        signature = signatures.create(
            user=user,
            record=award,
            snapshot=shortlists.signed_content(award.snapshot, decision, comment.strip()),
            meaning=meaning,
        )
        try:
            with transaction.atomic():
                AwardDecision.objects.create(
                    award=award, signature=signature, decided_by=user, decision=decision, comment=comment.strip()
                )
        except IntegrityError:
            _refuse("You have already signed a decision on this award version.", status=409)
        if decision == AwardDecision.Decision.REJECT:
            award.reject()
        elif decision == AwardDecision.Decision.RETURN:
            award.return_for_changes()
        elif approval_complete(award):
            award.approve()
            trail.reason(f"{why}. Award version {award.version} approved: notices go out, the RFP closes.")
            _on_approval(award, user)
        if award.status != Award.Status.SUBMITTED:
            award.decided_at = timezone.now()
            notifications.notify(
                [award.proposed_by],
                Notification.Kind.SHORTLIST_DECIDED,
                f"Your award was {award.get_status_display().lower()}: {award.rfp.reference} (v{award.version})",
                f"{user.printed_name}: {comment.strip()}" if comment.strip() else f"Decided by {user.printed_name}.",
                award.get_absolute_url(),
            )
        award.save()
    return award


def _on_approval(award: Award, user) -> None:
    """In the decision's transaction: notices queued, the RFP and the evaluation closed, sites selected."""
    rfp = award.rfp
    winners = {line.candidate_id: line for line in award.lines.select_related("step")}
    notices = AwardNotice.objects.bulk_create(
        [
            AwardNotice(
                award=award,
                candidate=candidate,
                kind=AwardNotice.Kind.AWARD if candidate.pk in winners else AwardNotice.Kind.REGRET,
            )
            for candidate in rfp_candidates(rfp)
        ]
    )
    for notice in notices:
        outbox.enqueue_job(NOTICES, notice.pk, key=f"award-notice:{notice.pk}")
    now = timezone.now()
    Rfp.objects.filter(pk=rfp.pk, closed_at=None).update(closed_at=now, closed_by=user)
    rfp.closed_at, rfp.closed_by = now, user
    scoring_services.evaluation_close(evaluation_id=rfp.shortlist.evaluation_id, what=f"The award of {rfp.reference}")
    today = timezone.localdate()
    for candidate_id, line in winners.items():
        sites = ProposedSite.objects.filter(candidate_id=candidate_id)
        if line.step_id:
            sites = sites.filter(step_id=line.step_id)
        site_ids = set(sites.values_list("site_id", flat=True))
        if not site_ids:  # no proposed sites (an evaluation without steps): the vendor's sites
            site_ids = set(Site.objects.filter(vendor__candidacies__pk=candidate_id).values_list("pk", flat=True))
        what = f"{rfp.reference} {rfp.title}" + (f": {line.scope}" if line.scope else "")
        Site.objects.filter(pk__in=site_ids).update(selected_on=today, selected_for=what[:300])


# --- Signatures, pending work ------------------------------------------------------------------------


def manifest(award: Award) -> list[dict]:
    """Every signature on this award: printed name, UTC time, meaning, comment, and whether it verifies."""
    return shortlists.signature_manifest(award, lambda: snapshot_intact(award) and lines_match_snapshot(award))


def pending_for(user):
    if not user.has_perm(DECIDE_PERMISSION):
        return Award.objects.none()
    return (
        Award.objects.filter(status=Award.Status.SUBMITTED)
        .exclude(proposed_by=user)
        .exclude(decisions__decided_by=user)
        .select_related("rfp", "proposed_by")
        .order_by("submitted_at")
    )


# --- Notices: rendering and delivery (in the worker) ---------------------------------------------------


def notice_fail(notice_id: int, reason: str) -> None:
    AwardNotice.objects.filter(pk=notice_id).exclude(status=AwardNotice.Status.DONE).update(
        status=AwardNotice.Status.FAILED, error=reason[:2000], finished_at=timezone.now()
    )


NOTICES = outbox.register(
    outbox.JobSource(
        name="rfp.award_notice",
        model=AwardNotice,
        task=NOTICE_TASK,
        queued=AwardNotice.Status.QUEUED,
        running=AwardNotice.Status.RENDERING,
        fail=notice_fail,
        requeue_fields={"error": ""},
    )
)


def notice_context(notice: AwardNotice) -> dict:
    """What one vendor's letter says. A regret names neither the winners nor any price; an award names
    the vendor's own scope only (not who else won what) and the next steps."""
    award, rfp = notice.award, notice.award.rfp
    line = award.lines.filter(candidate_id=notice.candidate_id).select_related("step").first()
    return {
        "notice": notice,
        "rfp": rfp,
        "vendor": notice.candidate.vendor.name,
        "award_notice": notice.kind == AwardNotice.Kind.AWARD,
        "scope": (line.scope or (str(line.step) if line.step_id else "")) if line else "",
        "step": str(line.step) if line and line.step_id else "",
        "decided_at": award.decided_at or timezone.now(),
        "reference": f"{rfp.reference}-N{notice.pk:04d}",
    }


def notice_render(notice_id: int, claim: str) -> AwardNotice | None:
    """Render the PDF, store it, mark the notice generated, then e-mail it (once)."""
    if not outbox.claim(NOTICES, notice_id, claim):
        return None
    notice = AwardNotice.objects.select_related("award__rfp", "candidate__vendor").get(pk=notice_id)
    html = render_to_string("rfp/notice_pdf.html", notice_context(notice))
    pdf, pages, _refused = core.pdf.render_pdf(html)
    name = f"{notice.award.rfp.reference}-{notice.kind}-notice-{notice.candidate_id}.pdf"
    try:
        notice.pdf.save(name, ContentFile(pdf), save=False)
        AwardNotice.objects.filter(pk=notice.pk, status=AwardNotice.Status.RENDERING).update(
            status=AwardNotice.Status.DONE,
            pdf=notice.pdf.name,
            pdf_pages=pages,
            sha256=hashlib.sha256(pdf).hexdigest(),
            error="",
            finished_at=timezone.now(),
        )
    except Exception:
        if notice.pdf.name:
            with contextlib.suppress(OSError):
                notice.pdf.storage.delete(notice.pdf.name)
        raise
    notice_email(notice.pk, pdf)
    return notice


def recipients(notice: AwardNotice) -> list[str]:
    """The vendor's people who signed in to the portal for this RFP (their invitation still standing)."""
    return sorted(
        set(
            Invitation.objects.filter(
                rfp_id=notice.award.rfp_id,
                candidate_id=notice.candidate_id,
                revoked_at=None,
                first_signed_in_at__isnull=False,
            ).values_list("email", flat=True)
        )
    )


def notice_email(notice_id: int, pdf: bytes) -> int:
    """E-mail the generated notice to the vendor's signed-in contacts, once (emailed_at marks it)."""
    notice = AwardNotice.objects.select_related("award__rfp", "candidate__vendor").get(pk=notice_id)
    to = recipients(notice)
    if notice.emailed_at or not to:
        return 0
    rfp = notice.award.rfp
    outcome = "the award" if notice.kind == AwardNotice.Kind.AWARD else "the outcome"
    body = (
        f"Dear {notice.candidate.vendor.name} team,\n\n"
        f"{rfp.sponsor} has decided on its request for proposals {rfp.reference} “{rfp.title}”. "
        f"The attached letter tells you {outcome}; it is also in the supplier portal:\n"
        f"{settings.SITE_URL}{reverse('portal:home')}\n\n"
        f"Contact: {rfp.contact_name} <{rfp.contact_email}>"
    )
    message = EmailMessage(f"{rfp.reference}: {notice.get_kind_display()}", body, None, to)
    message.attach(f"{rfp.reference}-{notice.kind}-notice.pdf", pdf, "application/pdf")
    try:
        message.send()
    except Exception:  # the SMTP server is down: the notice stays in the portal; the lead can resend
        logger.exception("Could not e-mail the award notice %s", notice.pk)
        return 0
    AwardNotice.objects.filter(pk=notice.pk, emailed_at=None).update(
        emailed_at=timezone.now(), emailed_to=", ".join(to)
    )
    return len(to)


def notices_progress(award: Award) -> dict:
    notices = list(award.notices.select_related("candidate__vendor").order_by("candidate__vendor__name"))
    done = sum(n.status == AwardNotice.Status.DONE for n in notices)
    return {
        "notices": notices,
        "total": len(notices),
        "done": done,
        "failed": sum(n.status == AwardNotice.Status.FAILED for n in notices),
        "emailed": sum(n.emailed_at is not None for n in notices),
        "percent": round(100 * done / len(notices)) if notices else 0,
        "running": any(n.status in (AwardNotice.Status.QUEUED, AwardNotice.Status.RENDERING) for n in notices),
    }


def notice_retry(*, notice: AwardNotice, user) -> AwardNotice:
    _require_lead(user, notice.award.rfp)
    if notice.status != AwardNotice.Status.FAILED and not outbox.is_stuck(NOTICES, notice):
        _refuse("Only a failed or stuck notice is generated again.", status=409)
    with transaction.atomic():
        outbox.requeue(NOTICES, notice.pk)
    notice.refresh_from_db()
    return notice


# --- The vendor's side (portal) --------------------------------------------------------------------------


def vendor_notice(invitation: Invitation) -> AwardNotice | None:
    """The generated notice addressed to the invitation's vendor, if the RFP's award is approved."""
    return (
        AwardNotice.objects.filter(
            award__rfp_id=invitation.rfp_id,
            award__status=Award.Status.APPROVED,
            candidate_id=invitation.candidate_id,
            status=AwardNotice.Status.DONE,
        )
        .order_by("-pk")
        .first()
    )


def vendor_notice_download(*, invitation: Invitation, notice_id) -> AwardNotice:
    notice = vendor_notice(invitation)
    if notice is None or str(notice.pk) != str(notice_id):
        _refuse("No such notice.", status=404)
    return notice
