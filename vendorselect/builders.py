"""World builders: evaluations with candidates and scores, shortlists, audits with findings, RFPs.

Shared by the tests, the benchmarks and `seed_demo`. Every step goes through the services, with
their permission, state and signature rules (a signature re-authenticates with the signer's
password through `signing_request`), so that what a builder makes is what a user could have made.
The only writes past the services are the dates an audit was carried out, which the services stamp
with today and a builder may move into the past (`started_on`, `ended_on`).

In the project package (the top layer) because it spans every app.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Iterable, Sequence
from datetime import date, timedelta
from typing import Any

from django.http import HttpRequest
from django.test import RequestFactory

from audits import services as audit_services
from audits.models import Audit
from rfp import bidding
from rfp import services as rfp_services
from rfp.models import Invitation, Rfp
from scoring import services as scoring_services
from scoring import shortlists
from scoring.models import Candidate, Criterion, Evaluation, Shortlist
from vendors.models import Vendor

# value(evaluator index, candidate index, criterion) -> score 1-5
ScoreFunction = Callable[[int, int, Criterion], int]
# a password, or the password of a given user
Password = str | Callable[[Any], str]


# How evaluators differ in the demo: a lenient one, a harsh one, one in between (points on the 1-5 scale).
EVALUATOR_BIAS = (0.3, -0.4, 0.0)


def realistic_scores(
    quality: Sequence[float], *, seed: str = "demo", spread: float = 0.7, noise: float = 0.7
) -> ScoreFunction:
    """Scores as a real panel gives them, for `reviewed_evaluation` and the demo data.

    Candidate i has an overall level `quality[i]` (1-5) and, per criterion, a strength or weakness of
    its own (normal, sd `spread`), the same for every evaluator; each evaluator adds a leniency
    (EVALUATOR_BIAS) and a judgment of their own (normal, sd `noise`); rounded and kept on the 1-5
    scale. So one evaluator's scores differ from criterion to criterion, evaluators agree broadly but
    not exactly (Kendall's W well below 1 but positive), and the candidates' order follows `quality`.
    Deterministic: the same arguments give the same scores (seeded by string, whatever the process).
    """

    def value(evaluator_index: int, candidate_index: int, criterion: Criterion) -> int:
        level = quality[candidate_index] if candidate_index < len(quality) else 3.0
        profile = random.Random(f"{seed}:profile:{candidate_index}:{criterion.key}").gauss(0, spread)
        judgment = random.Random(f"{seed}:judgment:{evaluator_index}:{candidate_index}:{criterion.key}").gauss(0, noise)
        bias = EVALUATOR_BIAS[evaluator_index % len(EVALUATOR_BIAS)]
        return max(1, min(5, round(level + profile + bias + judgment)))

    return value


def signing_request(path: str = "/") -> HttpRequest:
    """A request for the services that re-authenticate a signer (the lockout reads it, no session needed)."""
    request = RequestFactory().post(path)
    request.session = {}  # type: ignore[assignment]
    return request


def _password(password: Password, user) -> str:
    return password(user) if callable(password) else password


def reviewed_evaluation(
    *,
    lead,
    evaluators: Sequence,
    vendors: Iterable[Vendor],
    name: str,
    scores: ScoreFunction | None = None,
    **fields,
) -> tuple[Evaluation, list[Candidate]]:
    """An evaluation in review: `vendors` as candidates (in that order), every scored criterion scored by
    every evaluator, who then submit. `scores` gives each value; by default candidate i scores i + 1
    (so the last vendor ranks first). `fields` go to `evaluation_create` (description, phase, ...)."""

    def by_position(evaluator_index: int, candidate_index: int, criterion: Criterion) -> int:
        return candidate_index + 1

    value = scores or by_position
    evaluation = scoring_services.evaluation_create(lead=lead, name=name, evaluators=list(evaluators), **fields)
    candidates = [scoring_services.candidate_add(evaluation=evaluation, user=lead, vendor=vendor) for vendor in vendors]
    evaluation = scoring_services.evaluation_transition(evaluation=evaluation, user=lead, action="start_scoring")
    criteria = list(evaluation.scored_criteria())
    for number, evaluator in enumerate(evaluators):
        for index, candidate in enumerate(candidates):
            for criterion in criteria:
                scoring_services.score_save(
                    evaluation=evaluation,
                    user=evaluator,
                    candidate_id=candidate.pk,
                    criterion_id=criterion.pk,
                    value=value(number, index, criterion),
                )
        scoring_services.evaluator_submit(evaluation=evaluation, user=evaluator)
    evaluation = scoring_services.evaluation_transition(evaluation=evaluation, user=lead, action="start_review")
    return evaluation, candidates


def submitted_shortlist(
    *,
    evaluation: Evaluation,
    proposer,
    candidates: Iterable[Candidate],
    rationale: str = "",
    required_approvals: int | None = None,
) -> Shortlist:
    """The lead proposes `candidates` and submits: the snapshot is frozen and the managers are asked."""
    shortlist = shortlists.shortlist_propose(
        evaluation=evaluation,
        user=proposer,
        candidate_ids=[candidate.pk for candidate in candidates],
        rationale=rationale,
        required_approvals=required_approvals,
    )
    return shortlists.shortlist_submit(shortlist=shortlist, user=proposer)


def approve(*, shortlist: Shortlist, approvers: Iterable, password: Password, comment: str = "") -> Shortlist:
    """Each approver signs an approval of the submitted `shortlist` (re-entering `password`)."""
    for approver in approvers:
        shortlist = shortlists.shortlist_decide(
            request=signing_request(),
            shortlist=shortlist,
            user=approver,
            decision="approve",
            password=_password(password, approver),
            seen_hash=shortlist.snapshot_hash,
            comment=comment,
        )
    return Shortlist.objects.get(pk=shortlist.pk)


def approved_shortlist(
    *,
    evaluation: Evaluation,
    proposer,
    approvers: Sequence,
    candidates: Iterable[Candidate],
    password: Password,
    rationale: str = "",
    required_approvals: int | None = None,
) -> Shortlist:
    """Propose, submit, and every approver signs an approval: the shortlist is approved once enough signed."""
    shortlist = submitted_shortlist(
        evaluation=evaluation,
        proposer=proposer,
        candidates=candidates,
        rationale=rationale,
        required_approvals=required_approvals,
    )
    return approve(shortlist=shortlist, approvers=approvers, password=password)


def audit_with_findings(
    *,
    site,
    auditor,
    findings: Iterable[dict] = (),
    type: str = "qualification",
    planned_start: date | None = None,
    planned_end: date | None = None,
    started_on: date | None = None,
    ended_on: date | None = None,
    drafted: bool = True,
    **fields,
) -> Audit:
    """An audit started by its lead `auditor`, with `findings` (each the keyword arguments of
    `finding_add` but audit and user) and, when `drafted`, its report drafted. `started_on` and
    `ended_on` move the dates the services stamp (today) into the past. `fields` go to `audit_create`
    (co_auditors, scope, agenda)."""
    today = date.today()
    planned_start = planned_start or today - timedelta(days=10)
    audit = audit_services.audit_create(
        user=auditor,
        site=site,
        type=type,
        planned_start=planned_start,
        planned_end=planned_end or planned_start + timedelta(days=2),
        **fields,
    )
    audit = audit_services.audit_transition(audit=audit, user=auditor, action="start")
    if started_on:
        Audit.objects.filter(pk=audit.pk).update(actual_start=started_on)
        audit = Audit.objects.get(pk=audit.pk)
    for finding in findings:
        audit_services.finding_add(audit=audit, user=auditor, **finding)
    if drafted:
        audit = audit_services.audit_transition(audit=audit, user=auditor, action="draft_report")
        if ended_on:
            Audit.objects.filter(pk=audit.pk).update(actual_end=ended_on)
            audit = Audit.objects.get(pk=audit.pk)
    return audit


def signed_audit(
    *,
    site,
    auditor,
    password: Password,
    findings: Iterable[dict] = (),
    recommendation: str = "approved",
    conditions: str = "",
    **options,
) -> Audit:
    """An audit whose drafted report, with the lead auditor's `recommendation` (and `conditions` when
    conditional), the lead auditor has signed (re-entering `password`): a record. Open major CAPAs are
    confirmed, as the auditor would. `options` as for `audit_with_findings`."""
    audit = audit_with_findings(site=site, auditor=auditor, findings=findings, **options)
    audit_services.report_update(
        audit=audit,
        user=auditor,
        recommended_outcome=recommendation,
        recommendation_conditions=conditions,
        confirm_open_capas=True,
    )
    audit_services.audit_sign(
        request=signing_request(),
        audit=audit,
        user=auditor,
        password=_password(password, auditor),
        confirm_open_capas=True,
    )
    return Audit.objects.get(pk=audit.pk)


def rfp_values(**overrides) -> dict:
    """The fields of an RFP issued today: questions in 10 days, proposals in 30."""
    today = date.today()
    return {
        "title": "Sterile fill RFP",
        "sponsor": "Helix Therapeutics",
        "program_background": "A lyophilised peptide for **Phase I**.",
        "scope_notes": "",
        "confidentiality": "",
        "issue_date": today,
        "questions_due": today + timedelta(days=10),
        "proposal_due": today + timedelta(days=30),
        "presentations": None,
        "award_decision": None,
        "contact_name": "Priya Raman",
        "contact_email": "priya@example.com",
        "disclose_weights": True,
        **overrides,
    }


def rfp_for(shortlist: Shortlist, lead, **values) -> Rfp:
    """An RFP to the approved `shortlist`, by its evaluation's lead: `rfp_values(**values)`."""
    return rfp_services.rfp_create(shortlist=shortlist, user=lead, **rfp_values(**values))


def invited(rfp: Rfp, lead, candidate: Candidate, *, name: str = "Bid Manager", email: str = "") -> Invitation:
    """An invitation of one person of `candidate` (its link token on `.token`, never stored)."""
    email = email or f"bids@{candidate.vendor.name.lower().replace(' ', '-')}.example"
    return bidding.invite(rfp=rfp, user=lead, candidate_id=candidate.pk, name=name, email=email)


def signed_in(invitation: Invitation) -> Invitation:
    """The invitation after its person signed in with the link and the one-time code, which is read
    from the e-mail the service sent (tests: the locmem backend)."""
    from django.core import mail

    before = len(getattr(mail, "outbox", []))
    bidding.code_send(token=invitation.token)  # type: ignore[attr-defined]
    sent = getattr(mail, "outbox", [])[before:]
    if not sent:
        raise RuntimeError("signed_in needs the locmem e-mail backend (tests) to read the code")
    code = re.search(r"\b(\d{6})\b", sent[-1].body).group(1)  # type: ignore[union-attr]
    return bidding.code_verify(token=invitation.token, code=code)  # type: ignore[attr-defined]


def minimal_pdf(text: str = "Proposal") -> bytes:
    """A small, valid one-page PDF (for uploads in tests and the demo)."""
    import core.pdf

    pdf, _pages, _refused = core.pdf.render_pdf(f"<html><body><p>{text}</p></body></html>")
    return pdf


def sealed_proposal(invitation: Invitation, *, name: str = "proposal.pdf", content: bytes | None = None):
    """A proposal PDF uploaded through the portal's service, sealed."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    upload = SimpleUploadedFile(name, content or minimal_pdf(), content_type="application/pdf")
    return bidding.upload_add(invitation=invitation, part="proposal", upload=upload)


def filled_questionnaire(
    rfp: Rfp,
    candidate: Candidate,
    *,
    price: float = 125000,
    compliance: Sequence[str] = (),
    pricing: dict[str, list[list]] | None = None,
    model: str = "",
    currency: str = "EUR",
) -> bytes:
    """The candidate's packet questionnaire (rendering.questionnaire) filled in as a vendor would with
    openpyxl: every question "Yes" (or `compliance[i]` for question i + 1: "Yes", "Partly", "No", "Not
    applicable", "" for none) with an answer, one priced line of the cost breakdown, the currency.
    `pricing`: rows of the pricing sections by section key (rendering._SECTIONS: the cells in the
    section's column order, e.g. {"per_batch": [["Drug substance", 480000, 3, 5]]}), `model` the pricing
    model chosen, `currency` that of every amount."""
    import io

    from openpyxl import load_workbook

    from rfp import rendering

    template = rfp_services.program_template(rfp)
    data = rendering.inputs(rfp, candidate, template, shortlists.manifest(rfp.shortlist), [])
    book = load_workbook(io.BytesIO(rendering.questionnaire(data)))
    sheet = book[rendering.QUESTIONNAIRE_SHEET]
    for row in range(5, sheet.max_row + 1):
        answer = compliance[row - 5] if row - 5 < len(compliance) else "Yes"
        sheet[f"D{row}"], sheet[f"E{row}"] = answer or None, f"Our answer to question {sheet[f'A{row}'].value}."
    cost = book[rendering.COST_SHEET]
    cost[f"B{rendering.CURRENCY_ROW}"] = currency
    cost["C5"], cost["D5"], cost["E5"], cost["F5"] = 1, "project", price, currency
    layout = rendering.pricing_layout(data["template"]["kind"])
    if model:
        cost[f"B{layout['model_row']}"] = model
    sections = {section["key"]: section for section in layout["sections"]}
    for key, rows in (pricing or {}).items():
        for offset, cells in enumerate(rows):
            for column, value in enumerate(cells, start=1):
                cost.cell(row=sections[key]["first"] + offset, column=column, value=value)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def sealed_questionnaire(invitation: Invitation, *, price: float = 125000, compliance: Sequence[str] = (), **filled):
    """The filled questionnaire uploaded through the portal's service: sealed, read and stored
    (`filled`: filled_questionnaire's pricing, model, currency)."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    content = filled_questionnaire(invitation.rfp, invitation.candidate, price=price, compliance=compliance, **filled)
    upload = SimpleUploadedFile("questionnaire.xlsx", content, content_type="application/octet-stream")
    return bidding.upload_add(invitation=invitation, part="questionnaire", upload=upload)


def deadlines_passed(rfp: Rfp) -> Rfp:
    """The RFP as if time had moved on: issued 40 days ago, questions closed, proposals due yesterday
    (written past the services, which refuse dates in that order only for new input)."""
    today = date.today()
    Rfp.objects.filter(pk=rfp.pk).update(
        issue_date=today - timedelta(days=40),
        questions_due=today - timedelta(days=20),
        proposal_due=today - timedelta(days=1),
    )
    rfp.refresh_from_db()
    return rfp


def opened(rfp: Rfp, *, password: Password) -> Rfp:
    """The RFP after its deadline, its sealed proposals opened by the lead and the second opener
    (named on the RFP), each signing with their password."""
    rfp = deadlines_passed(rfp)
    for user in (rfp.shortlist.evaluation.lead, rfp.co_opener):
        bidding.open_proposals(rfp=rfp, user=user, password=_password(password, user), request=signing_request())
    return rfp


def submitted_award(*, rfp: Rfp, proposer, awarded: Sequence[tuple[Candidate, str]], rationale: str):
    """The lead proposes the award of `awarded` ((candidate, scope) pairs) and submits it for signatures."""
    from rfp import awards

    award = awards.award_propose(
        rfp=rfp,
        user=proposer,
        awarded=[{"candidate": candidate.pk, "scope": scope} for candidate, scope in awarded],
        rationale=rationale,
    )
    return awards.award_submit(award=award, user=proposer)


def approved_award(
    *,
    rfp: Rfp,
    proposer,
    approvers: Sequence,
    awarded: Sequence[tuple[Candidate, str]],
    rationale: str,
    password: Password,
    comment: str = "",
):
    """Propose, submit, and every approver signs an approval: the notices are queued (rendered once the
    transaction commits), the RFP closes and the winners' sites are selected."""
    from rfp import awards

    award = submitted_award(rfp=rfp, proposer=proposer, awarded=awarded, rationale=rationale)
    for approver in approvers:
        award = awards.award_decide(
            request=signing_request(),
            award=award,
            user=approver,
            decision="approve",
            password=_password(password, approver),
            seen_hash=award.snapshot_hash,
            comment=comment,
        )
    return award


# --- Oversight after the award: quality agreements, performance quarters, risk-based requalification ---

# Four quarters of a site in decline (oversight.kpis with the default settings and rules): preferred (4.93),
# approved (4.03), approved (3.67), then on watch (2.09: right first time 80 % breaches its 90 % threshold).
DECLINING_QUARTERS: list[dict[str, Any]] = [
    dict(zip(["batches_started", "batches_released", "batches_right_first_time", "deviations_minor",
              "deviations_major", "deviations_critical", "oos_results", "deliveries_due", "deliveries_on_time",
              "capas_due", "capas_closed_on_time", "change_notifications_due", "change_notifications_on_time",
              "complaints"], values, strict=True))
    for values in (
        (12, 12, 12, 2, 0, 0, 0, 12, 12, 3, 3, 2, 2, 0),
        (12, 12, 11, 4, 1, 0, 0, 12, 11, 4, 4, 2, 2, 1),
        (12, 12, 11, 5, 1, 0, 0, 12, 11, 4, 3, 2, 2, 1),
        (11, 10, 8, 5, 1, 0, 1, 11, 9, 4, 3, 2, 1, 1),
    )
]  # fmt: skip


def qualified_site(*, site, auditor, qa, password: Password, ended_days_ago: int = 200):
    """The site after a clean qualification audit that ended `ended_days_ago` and QA's approving outcome:
    approved, with a risk-based requalification date (oversight's receiver of audits.signals.site_qualified)."""
    today = date.today()
    audit = signed_audit(
        site=site,
        auditor=auditor,
        password=password,
        type="qualification",
        planned_start=today - timedelta(days=ended_days_ago + 2),
        planned_end=today - timedelta(days=ended_days_ago),
        started_on=today - timedelta(days=ended_days_ago + 2),
        ended_on=today - timedelta(days=ended_days_ago),
    )
    audit_services.outcome_sign(
        request=signing_request(), audit=audit, user=qa, outcome="approved", password=_password(password, qa)
    )
    site.refresh_from_db()
    return site


def agreement_ready(*, site, activity, qa):
    """A draft quality agreement from the template with every line given an owner ("both" where the template
    leaves it to agree): ready for QA's signature."""
    from oversight import agreements

    agreement = agreements.agreement_create(user=qa, site=site, activity=activity)
    lines = [
        {"section": line.section, "text": line.text, "owner": line.owner or "both"}
        for line in agreement.lines.order_by("position", "pk")
    ]
    return agreements.agreement_update(
        user=qa,
        agreement=agreement,
        lines=lines,
        review_due=agreement.review_due,
        change_notice_days=agreement.change_notice_days,
        reason="Owners agreed with the vendor",
    )


def signed_agreement(
    *, site, activity, qa, password: Password, signer: tuple[str, str] = ("Eva Brandt", "Head of Quality")
):
    """A quality agreement signed by QA and countersigned by the vendor (its signed copy uploaded): in force."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    from oversight import agreements

    agreement = agreement_ready(site=site, activity=activity, qa=qa)
    agreement = agreements.agreement_sign(
        request=signing_request(), user=qa, agreement=agreement, password=_password(password, qa)
    )
    name, title = signer
    copy = SimpleUploadedFile(
        "quality-agreement-signed.pdf",
        minimal_pdf(f"Quality agreement {agreement.reference} signed for {site.vendor.name} by {name}, {title}"),
        content_type="application/pdf",
    )
    agreements.vendor_copy_record(
        user=qa, agreement=agreement, upload=copy, signer_name=name, signer_title=title, signed_on=date.today()
    )
    agreement.refresh_from_db()
    return agreement


def performance_quarters(*, site, user, quarters: Sequence[dict[str, Any]], last_end: date | None = None) -> list:
    """Consecutive calendar quarters of performance (oversight.performance.performance_save), the last one
    ending `last_end` (default: the last full quarter before today); each computes its scorecard."""
    from oversight import kpis, performance

    start, _end = kpis.quarter_of(last_end or kpis.quarter_of(date.today())[0] - timedelta(days=1))
    for _ in range(len(quarters) - 1):
        start = kpis.quarter_of(start - timedelta(days=1))[0]
    records = []
    for counts in quarters:
        start, end = kpis.quarter_of(start)
        records.append(performance.performance_save(user=user, site=site, start=start, end=end, **counts))
        start = end + timedelta(days=1)
    return records
