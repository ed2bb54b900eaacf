"""The permission matrix: every route x every role x own / other team's objects -> the expected status.

One world is built per chunk of routes; each role's request on each route runs in a savepoint that
is rolled back, so a permitted write does not change what the next request sees. Writes send an empty body: a permitted
user gets a validation answer (400 in the API; on pages the form again with its errors, 200, or a
message and a redirect, 302), a refused one 403/404/405, and nothing is written either way.
The last test fails when a route exists that this matrix does not cover.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone
from rest_framework.test import APIClient

from accounts import notifications
from accounts.models import Notification
from accounts.roles import AUDITOR, EVALUATOR, PROCUREMENT_LEAD
from audits import services as audit_services
from audits.models import AuditReport
from rfp import services as rfp_services
from rfp.models import (
    Award,
    AwardLine,
    AwardNotice,
    ExchangeRate,
    Invitation,
    Packet,
    ProgramHorizon,
    RfpTemplate,
    SealedUpload,
)
from scoring import shortlists
from scoring.models import ProgramStep, Shortlist, ShortlistEntry
from tests.factories import (
    GmpCertificateFactory,
    ImportAlertFactory,
    InspectionFactory,
    SiteFactory,
    SiteQualificationFactory,
    UserFactory,
    VendorFactory,
    WarningLetterFactory,
)
from tests.rfp.conftest import rfp_values
from vendors.models import ImportJob

pytestmark = pytest.mark.django_db

ROLES = ["anon", "procurement", "evaluator", "auditor", "manager", "admin", "qa"]


@pytest.fixture
def world(users, reviewed):
    """E1: procurement's evaluation (in review, shortlist submitted), evaluator on its team.
    E2: another lead's team. A1: the auditor's audit of an E1 candidate; A2: another auditor's
    audit of a vendor outside E1."""
    evaluation, candidates = reviewed
    lead2 = UserFactory(username="lead2", roles=[PROCUREMENT_LEAD])
    evaluator2 = UserFactory(username="evaluator3", roles=[EVALUATOR])
    auditor2 = UserFactory(username="auditor2", roles=[AUDITOR])
    from scoring import services as scoring_services

    other = scoring_services.evaluation_create(lead=lead2, name="Other team", evaluators=[evaluator2])
    shortlist = shortlists.shortlist_propose(
        evaluation=evaluation, user=users["procurement"], candidate_ids=[candidates[3].pk]
    )
    shortlist = shortlists.shortlist_submit(shortlist=shortlist, user=users["procurement"])
    site = candidates[3].vendor.sites.first()
    today = date.today()

    def audit(lead, on_site):
        a = audit_services.audit_create(
            user=lead,
            site=on_site,
            type="qualification",
            planned_start=today - timedelta(days=10),
            planned_end=today - timedelta(days=8),
        )
        a = audit_services.audit_transition(audit=a, user=lead, action="start")
        return a

    a1 = audit(users["auditor"], site)
    finding = audit_services.finding_add(
        audit=a1,
        user=users["auditor"],
        severity="major",
        area="documentation",
        description="Logbook gaps",
        capa_due_date=today + timedelta(days=30),
    )
    attachment = audit_services.attachment_add(
        finding=finding, user=users["auditor"], upload=SimpleUploadedFile("photo.pdf", b"%PDF-1.4\n%%EOF\n")
    )
    report = AuditReport.objects.create(audit=a1, status="done", requested_by=users["auditor"], pages=1)
    report.file.save("report.pdf", ContentFile(b"%PDF-1.4\n%%EOF\n"))
    outsider = SiteFactory(vendor=VendorFactory(name="Outside Pharma"))
    a2 = audit(auditor2, outsider)
    inspection = InspectionFactory(site=site)
    contact = candidates[3].vendor.contacts.create(name="Ann Lee")
    job = ImportJob.objects.create(
        target="vendors",
        original_name="v.csv",
        created_by=users["procurement"],
        status="ready",
        report={"counts": {"create": 1, "update": 0, "unchanged": 0}, "errors": []},
    )
    [note] = notifications.notify([users["procurement"]], Notification.Kind.INVITED, "Hello")
    # An approved shortlist of E1 with an RFP, a generated packet and a proposal document.
    approved = Shortlist.objects.create(
        evaluation=evaluation,
        version=9,
        proposed_by=users["procurement"],
        snapshot=shortlist.snapshot,
        snapshot_hash=shortlist.snapshot_hash,
    )
    ShortlistEntry.objects.create(shortlist=approved, candidate=candidates[3])
    Shortlist.objects.filter(pk=approved.pk).update(status=Shortlist.Status.APPROVED)  # entries are fixed from here on
    approved = Shortlist.objects.get(pk=approved.pk)
    rfp = rfp_services.rfp_create(shortlist=approved, user=users["procurement"], **rfp_values())
    packet = Packet.objects.create(
        rfp=rfp,
        candidate=candidates[3],
        version=1,
        template=RfpTemplate.objects.filter(kind="CDMO").first(),
        inputs_hash="0" * 64,
        status=Packet.Status.DONE,
    )
    for field in ("pdf", "questionnaire", "bundle"):
        getattr(packet, field).save(f"p.{field}", ContentFile(b"%PDF-1.4\n%%EOF\n"), save=False)
    packet.save()
    proposal = rfp_services.proposal_record(
        rfp=rfp, user=users["procurement"], candidate_id=candidates[3].pk, received_on=today
    )
    document = rfp_services.proposal_document_add(
        proposal=proposal, user=users["procurement"], upload=SimpleUploadedFile("offer.pdf", b"%PDF-1.4\n%%EOF\n")
    )
    question = rfp_services.question_record(
        rfp=rfp, user=users["procurement"], candidate_id=candidates[3].pk, question="CDA?", asked_on=today
    )
    # A vendor contact invited to the RFP through the portal, with a sealed upload.
    invitation = Invitation.objects.create(
        rfp=rfp,
        candidate=candidates[3],
        name="Bid manager",
        email="bids@vendor.example",
        token_hash="1" * 64,
        expires_at=timezone.now() + timedelta(days=60),
        created_by=users["procurement"],
    )
    sealed = SealedUpload(
        rfp=rfp,
        candidate=candidates[3],
        uploaded_by=invitation,
        part="proposal",
        original_name="offer.pdf",
        content_type="application/pdf",
        size=15,
        sha256="0" * 64,
    )
    sealed.file.save("sealed", ContentFile(b"%PDF-1.4\n%%EOF\n"), save=False)
    sealed.save()
    # A draft award of the RFP with a generated notice (the proposals are sealed: proposing is refused).
    award = Award.objects.create(rfp=rfp, version=1, proposed_by=users["procurement"], rationale="Best value.")
    AwardLine.objects.create(award=award, candidate=candidates[3])
    notice = AwardNotice(award=award, candidate=candidates[3], kind="award", status=AwardNotice.Status.DONE)
    notice.pdf.save("notice.pdf", ContentFile(b"%PDF-1.4\n%%EOF\n"), save=False)
    notice.save()
    # The lead's program horizon and an exchange rate (rfp.comparison).
    ProgramHorizon.objects.create(rfp=rfp, years=5, base_currency="EUR", updated_by=users["procurement"])
    rate = ExchangeRate.objects.create(
        rfp=rfp, currency="USD", rate="0.9", as_of=today, recorded_by=users["procurement"]
    )
    # A program step of E1 (steps are fixed once scoring started: the lead's changes are refused).
    step = ProgramStep.objects.create(
        evaluation=evaluation, position=0, step=ProgramStep.Step.DRUG_PRODUCT, quality_regime="cGMP"
    )
    # The site's regulatory records and its approved-supplier-list row.
    letter = WarningLetterFactory(site=site)
    alert = ImportAlertFactory(site=site)
    certificate = GmpCertificateFactory(site=site)
    qualification = SiteQualificationFactory(site=site)
    # A drafted quality agreement of the selected site, and a risk assessment of it (oversight).
    from oversight import requalification
    from oversight.models_qa import QualityAgreement, RiskAssessment
    from vendors.models import Service

    type(site).objects.filter(pk=site.pk).update(selected_on=today, qualification="approved")
    agreement = QualityAgreement.objects.create(
        site=site,
        activity=Service.objects.get(code="fill-finish"),
        version=1,
        partner_kind="CDMO",
        review_due=today + timedelta(days=700),
        created_by=users["qa"],
    )
    agreement.lines.create(section="audits", text="Notify inspections", owner="vendor")
    assessment = RiskAssessment.objects.create(
        site=site,
        score=45,
        band="Medium risk",
        interval_months=24,
        basis_date=today,
        due=today + timedelta(days=730),
        trigger="Matrix test",
        matrix=requalification.current_matrix(),
    )
    # A quarter of supplier performance of the site, with its scorecard (oversight).
    from oversight import performance as oversight_performance

    perf = oversight_performance.performance_save(
        user=users["qa"],
        site=site,
        start=date(2026, 1, 1),
        end=date(2026, 3, 31),
        batches_started=10,
        batches_released=10,
        batches_right_first_time=8,
    )
    return {
        "perf1": perf.pk,
        "sc1": perf.scorecard.pk,
        "qa1": agreement.pk,
        "risk1": assessment.pk,
        "sa": approved.pk,
        "prop1": proposal.pk,
        "q1": question.pk,
        "step1": step.pk,
        "wl1": letter.pk,
        "ia1": alert.pk,
        "gmp1": certificate.pk,
        "sq1": qualification.pk,
        "rfp1": rfp.pk,
        "aw1": award.pk,
        "an1": notice.pk,
        "rate1": rate.pk,
        "inv1": invitation.pk,
        "up1": sealed.pk,
        "pk1": packet.pk,
        "doc1": document.pk,
        "tpl1": RfpTemplate.objects.first().pk,
        "e1": evaluation.pk,
        "e2": other.pk,
        "s1": shortlist.pk,
        "cand1": candidates[3].pk,
        "crit1": evaluation.criteria.first().pk,
        "v1": candidates[3].vendor_id,
        "site1": site.pk,
        "insp1": inspection.pk,
        "contact1": contact.pk,
        "job1": job.pk,
        "a1": a1.pk,
        "a2": a2.pk,
        "capa1": finding.capa.pk,
        "att1": attachment.pk,
        "rep1": report.pk,
        "note1": note.pk,
    }


def _expect(spec: str) -> dict[str, int]:
    """'302 200 200 404 200 404 200' in ROLES order."""
    codes = [int(c) for c in spec.split()]
    assert len(codes) == len(ROLES)
    return dict(zip(ROLES, codes, strict=True))


# (route name, method, path, expected per role: anon procurement evaluator auditor manager admin qa)
PAGES = [
    ("home", "get", "/", "302 200 200 200 200 200 200"),
    ("api-token", "get", "/account/api-token/", "302 200 200 200 200 200 200"),
    ("inbox", "get", "/inbox/", "302 200 200 200 200 200 200"),
    ("inbox-open", "post", "/inbox/{note1}/open/", "302 302 404 404 404 404 404"),
    ("inbox-read-all", "post", "/inbox/read-all/", "302 302 302 302 302 302 302"),
    ("vendors:list", "get", "/vendors/", "302 200 200 200 200 200 200"),
    ("vendors:create", "get", "/vendors/new/", "302 200 403 403 403 403 403"),
    ("vendors:detail", "get", "/vendors/{v1}/", "302 200 200 200 200 200 200"),
    ("vendors:edit", "get", "/vendors/{v1}/edit/", "302 200 403 403 403 403 403"),
    ("vendors:site-create", "get", "/vendors/{v1}/sites/new/", "302 200 403 200 403 403 403"),
    ("vendors:site", "get", "/vendors/sites/{site1}/", "302 200 200 200 200 200 200"),
    ("vendors:site-edit", "get", "/vendors/sites/{site1}/edit/", "302 200 403 200 403 403 403"),
    # The site page's forms: regulatory records are kept by auditors, the approved-supplier list by QA.
    ("vendors:site-record-add", "post", "/vendors/sites/{site1}/records/warningletter/", "302 403 403 200 403 403 403"),
    (
        "vendors:site-record-add/unknown",
        "post",
        "/vendors/sites/{site1}/records/nothing/",
        "302 404 404 404 404 404 404",
    ),
    # Auditors and managers may record an approved-supplier entry by hand (e.g. an ASL kept elsewhere);
    # a signed audit's outcome reaches the list only through QA's signature.
    ("vendors:site-qualification", "post", "/vendors/sites/{site1}/qualifications/", "302 403 403 200 200 403 200"),
    ("vendors:inspection-create", "get", "/vendors/sites/{site1}/inspections/new/", "302 403 403 200 403 403 403"),
    ("vendors:inspections", "get", "/vendors/inspections/", "302 200 200 200 200 200 200"),
    ("vendors:inspection-edit", "get", "/vendors/inspections/{insp1}/edit/", "302 403 403 200 403 403 403"),
    ("vendors:imports", "get", "/vendors/imports/", "302 200 403 200 403 403 403"),
    ("vendors:import", "get", "/vendors/imports/{job1}/", "302 200 403 404 403 403 403"),
    ("vendors:import-confirm", "post", "/vendors/imports/{job1}/confirm/", "302 302 403 404 403 403 403"),
    ("scoring:list", "get", "/evaluations/", "302 200 200 200 200 200 200"),
    ("scoring:create", "get", "/evaluations/new/", "302 200 403 403 403 403 403"),
    ("scoring:evaluation", "get", "/evaluations/{e1}/", "302 200 200 404 200 404 200"),
    ("scoring:evaluation/other", "get", "/evaluations/{e2}/", "302 404 404 404 200 404 200"),
    ("scoring:vendor-search", "get", "/evaluations/{e1}/vendor-search/?q=ve", "302 200 403 404 403 404 403"),
    # The evaluation page's operations (POST, one URL each): the lead's; an empty form is refused with a
    # message on the page (302 back to it), the weights come back in place with their errors (200).
    ("audits:report-update", "post", "/audits/{a1}/report-details/", "302 403 403 302 403 404 403"),
    ("audits:report-update/get", "get", "/audits/{a1}/report-details/", "302 405 405 405 405 405 405"),
    ("audit-report", "post", "/api/v1/audits/{a1}/report/", "401 403 403 400 403 404 403"),
    ("audit-report/get", "get", "/api/v1/audits/{a1}/report/", "401 405 405 405 405 405 405"),
    ("scoring:review-confirm", "get", "/evaluations/{e1}/review/", "302 200 403 404 403 404 403"),
    ("scoring:transition", "post", "/evaluations/{e1}/transition/close/", "302 302 403 404 403 404 403"),
    ("scoring:transition/other", "post", "/evaluations/{e2}/transition/close/", "302 404 404 404 403 404 403"),
    ("scoring:candidate-add", "post", "/evaluations/{e1}/candidates/", "302 302 403 404 403 404 403"),
    ("scoring:knockouts", "post", "/evaluations/{e1}/knockouts/", "302 302 403 404 403 404 403"),
    ("scoring:knockout-override", "post", "/evaluations/{e1}/knockouts/override/", "302 302 403 404 403 404 403"),
    ("scoring:step-add", "post", "/evaluations/{e1}/steps/", "302 302 403 404 403 404 403"),
    ("scoring:step-remove", "post", "/evaluations/{e1}/steps/{step1}/remove/", "302 302 403 404 403 404 403"),
    ("scoring:candidate-sites", "post", "/evaluations/{e1}/candidates/{cand1}/sites/", "302 302 403 404 403 404 403"),
    ("scoring:criterion-add", "post", "/evaluations/{e1}/criteria/", "302 302 403 404 403 404 403"),
    ("scoring:criterion-update", "post", "/evaluations/{e1}/criteria/{crit1}/", "302 302 403 404 403 404 403"),
    ("scoring:criterion-remove", "post", "/evaluations/{e1}/criteria/{crit1}/remove/", "302 302 403 404 403 404 403"),
    ("scoring:weights-direct", "post", "/evaluations/{e1}/weights/direct/", "302 200 403 404 403 404 403"),
    ("scoring:weights-ahp", "post", "/evaluations/{e1}/weights/ahp/", "302 200 403 404 403 404 403"),
    ("scoring:derived-override", "post", "/evaluations/{e1}/overrides/", "302 302 302 404 403 404 403"),
    ("scoring:ranking", "get", "/evaluations/{e1}/ranking/", "302 200 200 404 200 404 200"),
    ("scoring:sensitivity", "get", "/evaluations/{e1}/sensitivity/", "302 200 200 404 200 404 200"),
    ("scoring:compare", "get", "/evaluations/{e1}/compare/", "302 200 200 404 200 404 200"),
    ("scoring:grid", "get", "/evaluations/{e1}/score/", "302 403 200 404 403 404 403"),
    ("scoring:cell", "post", "/evaluations/{e1}/score/cell/", "302 403 400 404 403 404 403"),
    ("scoring:submit", "post", "/evaluations/{e1}/score/submit/", "302 403 302 404 403 404 403"),
    ("scoring:shortlists", "get", "/evaluations/{e1}/shortlist/", "302 200 200 404 200 404 200"),
    ("scoring:shortlists/post", "post", "/evaluations/{e1}/shortlist/", "302 302 403 404 403 404 403"),
    ("scoring:shortlist", "get", "/evaluations/{e1}/shortlist/{s1}/", "302 200 200 404 200 404 200"),
    ("scoring:shortlist/decide", "post", "/evaluations/{e1}/shortlist/{s1}/", "302 302 302 404 302 404 302"),
    ("audits:list", "get", "/audits/", "302 200 200 200 200 200 200"),
    ("audits:create", "get", "/audits/new/", "302 403 403 200 403 403 403"),
    ("audits:calendar", "get", "/audits/calendar/", "302 200 200 200 200 200 200"),
    ("audits:calendar-ics", "get", "/audits/calendar.ics", "302 200 200 200 200 200 200"),
    ("audits:detail", "get", "/audits/{a1}/", "302 200 200 200 200 404 200"),
    ("audits:detail/other", "get", "/audits/{a2}/", "302 200 404 200 200 404 200"),
    # The audit page's operations (POST, one URL each); a refused form shows the page again (200).
    ("audits:detail/post", "post", "/audits/{a1}/", "302 405 405 405 405 405 405"),
    ("audits:finding-add", "post", "/audits/{a1}/findings/", "302 403 403 200 403 404 403"),
    ("audits:finding-add/get", "get", "/audits/{a1}/findings/", "302 405 405 405 405 405 405"),
    ("audits:transition", "post", "/audits/{a1}/transition/close/", "302 403 403 302 403 404 403"),
    ("audits:transition/other", "post", "/audits/{a2}/transition/close/", "302 403 404 403 403 404 403"),
    ("audits:attachment-add", "post", "/audits/{a1}/attachments/", "302 403 403 200 403 404 403"),
    ("audits:sign", "post", "/audits/{a1}/sign/", "302 403 403 200 403 404 403"),
    ("audits:amendment-add", "post", "/audits/{a1}/amendments/", "302 403 403 200 403 404 403"),
    ("audits:report-request", "post", "/audits/{a1}/report/", "302 403 403 302 403 404 403"),
    # The qualification outcome of a signed report: QA's, independent of the audit team.
    ("audits:outcome", "post", "/audits/{a1}/outcome/", "302 403 403 403 403 404 200"),
    ("audits:outcome/other", "post", "/audits/{a2}/outcome/", "302 403 404 403 403 404 200"),
    ("audits:capas", "get", "/audits/capas/", "302 200 200 200 200 200 200"),
    ("audits:attachment", "get", "/audits/attachments/{att1}/", "302 200 200 200 200 404 200"),
    ("audits:report", "get", "/audits/reports/{rep1}/", "302 200 200 200 200 404 200"),
    ("trail", "get", "/trail/", "302 403 403 403 200 403 200"),
    ("history", "get", "/history/scoring.Evaluation/{e1}/", "302 200 200 404 200 404 200"),
    ("history/other", "get", "/history/scoring.Evaluation/{e2}/", "302 404 404 404 200 404 200"),
    ("history/audit", "get", "/history/audits.Audit/{a2}/", "302 200 404 200 200 404 200"),
    ("history/vendor", "get", "/history/vendors.Vendor/{v1}/", "302 200 200 200 200 200 200"),
    ("history/rfp", "get", "/history/rfp.Rfp/{rfp1}/", "302 200 200 404 200 404 200"),
    ("history/award", "get", "/history/rfp.Award/{aw1}/", "302 200 200 404 200 404 200"),
    ("history/agreement", "get", "/history/oversight.QualityAgreement/{qa1}/", "302 200 404 200 200 404 200"),
    ("rfp:list", "get", "/rfps/", "302 200 200 403 200 403 200"),
    ("rfp:templates", "get", "/rfps/templates/", "302 200 403 403 200 403 200"),
    ("rfp:create", "get", "/rfps/new/{sa}/", "302 200 403 404 403 404 403"),
    ("rfp:detail", "get", "/rfps/{rfp1}/", "302 200 200 404 200 404 200"),
    ("rfp:detail/post", "post", "/rfps/{rfp1}/", "302 405 405 405 405 405 405"),
    ("rfp:edit", "get", "/rfps/{rfp1}/edit/", "302 200 403 404 403 404 403"),
    ("rfp:progress", "get", "/rfps/{rfp1}/progress/", "302 200 200 404 200 404 200"),
    ("rfp:download-all", "get", "/rfps/{rfp1}/download-all/", "302 200 200 404 200 404 200"),
    # The RFP page's operations (POST, one URL each).
    ("rfp:generate", "post", "/rfps/{rfp1}/generate/", "302 302 403 404 403 404 403"),
    ("rfp:attachments", "post", "/rfps/{rfp1}/attachments/", "302 302 403 404 403 404 403"),
    ("rfp:packet-retry", "post", "/rfps/{rfp1}/packets/{pk1}/retry/", "302 302 403 404 403 404 403"),
    ("rfp:proposals", "post", "/rfps/{rfp1}/proposals/", "302 200 403 404 403 404 403"),
    ("rfp:proposal-documents", "post", "/rfps/{rfp1}/proposals/{prop1}/documents/", "302 302 403 404 403 404 403"),
    ("rfp:questions", "post", "/rfps/{rfp1}/questions/", "302 200 403 404 403 404 403"),
    ("rfp:question-answer", "post", "/rfps/{rfp1}/questions/{q1}/answer/", "302 302 403 404 403 404 403"),
    # The supplier portal, the sponsor's side: the lead invites and extends; the lead and the named
    # second opener open (no second opener here: the manager may not); sealed files refuse everyone.
    ("rfp:invitations", "post", "/rfps/{rfp1}/invitations/", "302 200 403 404 403 404 403"),
    ("rfp:invitation-resend", "post", "/rfps/{rfp1}/invitations/{inv1}/resend/", "302 302 403 404 403 404 403"),
    ("rfp:invitation-revoke", "post", "/rfps/{rfp1}/invitations/{inv1}/revoke/", "302 302 403 404 403 404 403"),
    ("rfp:extensions", "post", "/rfps/{rfp1}/extensions/", "302 200 403 404 403 404 403"),
    ("rfp:open", "post", "/rfps/{rfp1}/open/", "302 200 403 404 403 404 403"),
    ("rfp:record-pdf", "get", "/rfps/{rfp1}/record.pdf", "302 200 200 404 200 404 200"),
    ("rfp:sealed-file", "get", "/rfps/{rfp1}/sealed/{up1}/", "302 403 403 404 403 404 403"),
    # The comparison (rfp.comparison): seen by the team and managers (sealed here: an empty state, and
    # the exports go back to it); the horizon and the exchange rates are the lead's.
    ("rfp:comparison", "get", "/rfps/{rfp1}/comparison/", "302 200 200 404 200 404 200"),
    ("rfp:comparison-xlsx", "get", "/rfps/{rfp1}/comparison.xlsx", "302 302 302 404 302 404 302"),
    ("rfp:comparison-pdf", "get", "/rfps/{rfp1}/comparison.pdf", "302 302 302 404 302 404 302"),
    ("rfp:horizon", "post", "/rfps/{rfp1}/comparison/horizon/", "302 200 403 404 403 404 403"),
    ("rfp:rates", "post", "/rfps/{rfp1}/comparison/rates/", "302 200 403 404 403 404 403"),
    ("rfp:rate-change", "post", "/rfps/{rfp1}/comparison/rates/{rate1}/", "302 302 403 404 403 404 403"),
    ("rfp:rate-remove", "post", "/rfps/{rfp1}/comparison/rates/{rate1}/remove/", "302 302 403 404 403 404 403"),
    ("rfp:answers", "get", "/rfps/{rfp1}/answers/", "302 200 200 404 200 404 200"),  # sealed: an empty state
    # The supplier portal's pages: a sponsor's login is no portal session (the portal's own
    # sign-in, its refusals and the vendor's side are in tests/portal/).
    ("portal:home", "get", "/portal/", "302 302 302 302 302 302 302"),
    ("portal:link", "get", "/portal/i/no-such-token/", "404 404 404 404 404 404 404"),
    ("portal:sign-in", "get", "/portal/sign-in/", "200 200 200 200 200 200 200"),
    ("portal:sign-out", "post", "/portal/sign-out/", "302 302 302 302 302 302 302"),
    ("portal:intent", "post", "/portal/intent/", "302 302 302 302 302 302 302"),
    ("portal:questions", "post", "/portal/questions/", "302 302 302 302 302 302 302"),
    ("portal:uploads", "post", "/portal/uploads/", "302 302 302 302 302 302 302"),
    ("portal:download", "get", "/portal/packets/{pk1}/pdf/", "302 302 302 302 302 302 302"),
    # The award: the team and managers see it; the lead proposes (refused here: sealed proposals);
    # managers and quality assurance decide (an empty decision is refused with a message).
    ("rfp:awards", "get", "/rfps/{rfp1}/award/", "302 200 200 404 200 404 200"),
    ("rfp:award-propose", "post", "/rfps/{rfp1}/award/propose/", "302 302 403 404 403 404 403"),
    ("rfp:award", "get", "/rfps/{rfp1}/award/{aw1}/", "302 200 200 404 200 404 200"),
    ("rfp:award-submit", "post", "/rfps/{rfp1}/award/{aw1}/submit/", "302 302 403 404 403 404 403"),
    ("rfp:award-decide", "post", "/rfps/{rfp1}/award/{aw1}/decide/", "302 403 403 404 302 404 302"),
    ("rfp:award-notice-retry", "post", "/rfps/{rfp1}/award/{aw1}/notices/{an1}/retry/", "302 302 403 404 403 404 403"),
    ("rfp:award-notice", "get", "/rfps/award-notices/{an1}/", "302 200 200 404 200 404 200"),
    ("portal:notice", "get", "/portal/notices/{an1}/", "302 302 302 302 302 302 302"),
    # Quality agreements and risk-based requalification: QA writes and signs; procurement, auditors and
    # managers read; evaluators and admins are not involved. An empty form is refused in place (400).
    ("oversight:agreements", "get", "/oversight/agreements/", "302 200 403 200 200 403 200"),
    ("oversight:agreement-create", "post", "/oversight/agreements/new/", "302 403 403 403 403 403 400"),
    ("oversight:agreement", "get", "/oversight/agreements/{qa1}/", "302 200 403 200 200 403 200"),
    ("oversight:agreement-lines", "post", "/oversight/agreements/{qa1}/lines/", "302 403 403 403 403 403 400"),
    ("oversight:agreement-sign", "post", "/oversight/agreements/{qa1}/sign/", "302 403 403 403 403 403 400"),
    # A draft has no signed version to start from: refused with a message (302 back).
    (
        "oversight:agreement-new-version",
        "post",
        "/oversight/agreements/{qa1}/new-version/",
        "302 403 403 403 403 403 302",
    ),
    (
        "oversight:agreement-vendor-copy",
        "post",
        "/oversight/agreements/{qa1}/vendor-copy/",
        "302 403 403 403 403 403 400",
    ),
    (
        "oversight:agreement-vendor-document",
        "get",
        "/oversight/agreements/{qa1}/vendor-copy.pdf",
        "302 404 403 404 404 403 404",
    ),
    ("oversight:agreement-pdf", "get", "/oversight/agreements/{qa1}/agreement.pdf", "302 200 403 200 200 403 200"),
    ("oversight:site-risk", "get", "/oversight/sites/{site1}/risk/", "302 200 403 200 200 403 200"),
    ("oversight:risk-matrix", "get", "/oversight/risk-matrix/", "302 200 403 200 200 403 200"),
    ("oversight:risk-matrix/post", "post", "/oversight/risk-matrix/", "302 403 403 403 403 403 400"),
    # Supplier performance: QA and auditors enter; managers and procurement read; QA sets KPIs and standing rules.
    ("oversight:performance-list", "get", "/oversight/performance/", "302 200 403 200 200 403 200"),
    ("oversight:performance-create", "get", "/oversight/performance/new/", "302 403 403 200 403 403 200"),
    ("oversight:performance-create/post", "post", "/oversight/performance/new/", "302 403 403 200 403 403 200"),
    ("oversight:performance-import", "get", "/oversight/performance/import/", "302 403 403 200 403 403 200"),
    ("oversight:performance-import/post", "post", "/oversight/performance/import/", "302 403 403 200 403 403 200"),
    ("oversight:performance-edit", "get", "/oversight/performance/{perf1}/", "302 403 403 200 403 403 200"),
    ("oversight:performance-edit/post", "post", "/oversight/performance/{perf1}/", "302 403 403 200 403 403 200"),
    ("oversight:thresholds", "get", "/oversight/performance/kpis/", "302 200 403 200 200 403 200"),
    ("oversight:thresholds/post", "post", "/oversight/performance/kpis/", "302 403 403 403 403 403 400"),
    ("oversight:standing-rules", "get", "/oversight/performance/standing-rules/", "302 200 403 200 200 403 200"),
    ("oversight:standing-rules/post", "post", "/oversight/performance/standing-rules/", "302 403 403 403 403 403 400"),
    ("oversight:scorecard", "get", "/oversight/sites/{site1}/scorecard/", "302 200 403 200 200 403 200"),
    ("oversight:scorecard-pdf", "get", "/oversight/sites/{site1}/scorecard.pdf", "302 200 403 200 200 403 200"),
    ("portal:agreements", "get", "/portal/agreements/", "302 302 302 302 302 302 302"),
    ("portal:agreement-sign", "post", "/portal/agreements/{qa1}/sign/", "302 302 302 302 302 302 302"),
    ("rfp:packet-download", "get", "/rfps/packets/{pk1}/zip/", "302 200 200 404 200 404 200"),
    ("rfp:proposal-document", "get", "/rfps/proposal-documents/{doc1}/", "302 200 200 404 200 404 200"),
]

API = [
    ("vendor-list", "get", "/api/v1/vendors/", "401 200 200 200 200 200 200"),
    ("vendor-list/post", "post", "/api/v1/vendors/", "401 400 403 403 403 403 403"),
    ("vendor-detail", "get", "/api/v1/vendors/{v1}/", "401 200 200 200 200 200 200"),
    ("vendor-detail/patch", "patch", "/api/v1/vendors/{v1}/", "401 200 403 403 403 403 403"),
    ("vendor-detail/delete", "delete", "/api/v1/vendors/{v1}/", "401 405 405 405 405 405 405"),
    ("site-list", "get", "/api/v1/sites/", "401 200 200 200 200 200 200"),
    ("site-list/post", "post", "/api/v1/sites/", "401 400 403 400 403 403 403"),
    ("site-detail", "get", "/api/v1/sites/{site1}/", "401 200 200 200 200 200 200"),
    ("inspection-list", "get", "/api/v1/inspections/", "401 200 200 200 200 200 200"),
    ("inspection-list/post", "post", "/api/v1/inspections/", "401 403 403 400 403 403 403"),
    ("inspection-detail", "get", "/api/v1/inspections/{insp1}/", "401 200 200 200 200 200 200"),
    # Regulatory records of sites: read by everyone, kept by auditors (as the inspections).
    ("warningletter-list", "get", "/api/v1/warning-letters/", "401 200 200 200 200 200 200"),
    ("warningletter-list/post", "post", "/api/v1/warning-letters/", "401 403 403 400 403 403 403"),
    ("warningletter-detail", "get", "/api/v1/warning-letters/{wl1}/", "401 200 200 200 200 200 200"),
    ("warningletter-detail/patch", "patch", "/api/v1/warning-letters/{wl1}/", "401 403 403 200 403 403 403"),
    ("warningletter-detail/delete", "delete", "/api/v1/warning-letters/{wl1}/", "401 405 405 405 405 405 405"),
    ("importalert-list", "get", "/api/v1/import-alerts/", "401 200 200 200 200 200 200"),
    ("importalert-list/post", "post", "/api/v1/import-alerts/", "401 403 403 400 403 403 403"),
    ("importalert-detail", "get", "/api/v1/import-alerts/{ia1}/", "401 200 200 200 200 200 200"),
    ("importalert-detail/patch", "patch", "/api/v1/import-alerts/{ia1}/", "401 403 403 200 403 403 403"),
    ("gmpcertificate-list", "get", "/api/v1/gmp-certificates/", "401 200 200 200 200 200 200"),
    ("gmpcertificate-list/post", "post", "/api/v1/gmp-certificates/", "401 403 403 400 403 403 403"),
    ("gmpcertificate-detail", "get", "/api/v1/gmp-certificates/{gmp1}/", "401 200 200 200 200 200 200"),
    ("gmpcertificate-detail/patch", "patch", "/api/v1/gmp-certificates/{gmp1}/", "401 403 403 200 403 403 403"),
    # The approved-supplier list: read by everyone, decided by quality assurance; rows are not edited
    # in place (a new decision is a POST).
    ("sitequalification-list", "get", "/api/v1/site-qualifications/", "401 200 200 200 200 200 200"),
    ("sitequalification-list/post", "post", "/api/v1/site-qualifications/", "401 403 403 400 400 403 400"),
    ("sitequalification-detail", "get", "/api/v1/site-qualifications/{sq1}/", "401 200 200 200 200 200 200"),
    ("sitequalification-detail/patch", "patch", "/api/v1/site-qualifications/{sq1}/", "401 405 405 405 405 405 405"),
    ("contact-list", "get", "/api/v1/contacts/", "401 200 200 200 200 200 200"),
    ("contact-detail", "get", "/api/v1/contacts/{contact1}/", "401 200 200 200 200 200 200"),
    ("kind-list", "get", "/api/v1/kinds/", "401 200 200 200 200 200 200"),
    ("kind-detail", "get", "/api/v1/kinds/CRO/", "401 200 200 200 200 200 200"),
    ("service-list", "get", "/api/v1/services/", "401 200 200 200 200 200 200"),
    ("service-detail", "get", "/api/v1/services/api-manufacturing/", "401 200 200 200 200 200 200"),
    ("modality-list", "get", "/api/v1/modalities/", "401 200 200 200 200 200 200"),
    ("modality-detail", "get", "/api/v1/modalities/peptide/", "401 200 200 200 200 200 200"),
    ("dosageform-list", "get", "/api/v1/dosage-forms/", "401 200 200 200 200 200 200"),
    ("dosageform-detail", "get", "/api/v1/dosage-forms/oral-solid/", "401 200 200 200 200 200 200"),
    ("phase-list", "get", "/api/v1/phases/", "401 200 200 200 200 200 200"),
    ("phase-detail", "get", "/api/v1/phases/phase-2/", "401 200 200 200 200 200 200"),
    ("import-list", "get", "/api/v1/imports/", "401 200 403 200 403 403 403"),
    ("import-list/post", "post", "/api/v1/imports/", "401 415 403 415 403 403 403"),
    ("import-detail", "get", "/api/v1/imports/{job1}/", "401 200 403 404 403 403 403"),
    ("import-confirm", "post", "/api/v1/imports/{job1}/confirm/", "401 202 403 404 403 403 403"),
    ("evaluation-list", "get", "/api/v1/evaluations/", "401 200 200 200 200 200 200"),
    ("evaluation-list/post", "post", "/api/v1/evaluations/", "401 400 403 403 403 403 403"),
    ("evaluation-detail", "get", "/api/v1/evaluations/{e1}/", "401 200 200 404 200 404 200"),
    ("evaluation-detail/other", "get", "/api/v1/evaluations/{e2}/", "401 404 404 404 200 404 200"),
    ("evaluation-detail/patch", "patch", "/api/v1/evaluations/{e1}/", "401 200 403 404 403 404 403"),
    ("evaluation-transition", "post", "/api/v1/evaluations/{e1}/transition/", "401 400 403 404 403 404 403"),
    ("evaluation-weights", "get", "/api/v1/evaluations/{e1}/weights/", "401 200 200 404 200 404 200"),
    ("evaluation-weights/post", "post", "/api/v1/evaluations/{e1}/weights/", "401 400 403 404 403 404 403"),
    ("evaluation-candidates", "get", "/api/v1/evaluations/{e1}/candidates/", "401 200 200 404 200 404 200"),
    ("evaluation-candidates/post", "post", "/api/v1/evaluations/{e1}/candidates/", "401 400 403 404 403 404 403"),
    (
        "evaluation-override-knockout",
        "post",
        "/api/v1/evaluations/{e1}/candidates/{cand1}/override/",
        "401 400 403 404 403 404 403",
    ),
    ("evaluation-knockouts", "get", "/api/v1/evaluations/{e1}/knockouts/", "401 200 200 404 200 404 200"),
    ("evaluation-knockouts/post", "post", "/api/v1/evaluations/{e1}/knockouts/", "401 400 403 404 403 404 403"),
    # Program steps are fixed once scoring has started (E1 is in review); only the lead may try.
    ("evaluation-steps", "get", "/api/v1/evaluations/{e1}/steps/", "401 200 200 404 200 404 200"),
    ("evaluation-steps/post", "post", "/api/v1/evaluations/{e1}/steps/", "401 409 403 404 403 404 403"),
    ("evaluation-step-detail", "patch", "/api/v1/evaluations/{e1}/steps/{step1}/", "401 409 403 404 403 404 403"),
    (
        "evaluation-step-detail/delete",
        "delete",
        "/api/v1/evaluations/{e1}/steps/{step1}/",
        "401 409 403 404 403 404 403",
    ),
    (
        "evaluation-step-detail/other",
        "delete",
        "/api/v1/evaluations/{e2}/steps/{step1}/",
        "401 404 404 404 403 404 403",
    ),
    (
        "evaluation-candidate-sites",
        "get",
        "/api/v1/evaluations/{e1}/candidates/{cand1}/sites/",
        "401 200 200 404 200 404 200",
    ),
    (
        "evaluation-candidate-sites/put",
        "put",
        "/api/v1/evaluations/{e1}/candidates/{cand1}/sites/",
        "401 400 403 404 403 404 403",
    ),
    ("evaluation-scores", "get", "/api/v1/evaluations/{e1}/scores/", "401 200 200 404 200 404 200"),
    ("evaluation-scores/post", "post", "/api/v1/evaluations/{e1}/scores/", "401 403 400 404 403 404 403"),
    ("evaluation-submit", "post", "/api/v1/evaluations/{e1}/submit/", "401 403 409 404 403 404 403"),
    (
        "evaluation-derived-override",
        "post",
        "/api/v1/evaluations/{e1}/derived-override/",
        "401 400 400 404 403 404 403",
    ),
    ("evaluation-add-criterion", "post", "/api/v1/evaluations/{e1}/criteria/", "401 409 403 404 403 404 403"),
    (
        "evaluation-change-criterion",
        "patch",
        "/api/v1/evaluations/{e1}/criteria/{crit1}/",
        "401 409 403 404 403 404 403",
    ),
    ("evaluation-ranking", "get", "/api/v1/evaluations/{e1}/ranking/", "401 200 200 404 200 404 200"),
    ("evaluation-sensitivity", "get", "/api/v1/evaluations/{e1}/sensitivity/", "401 200 200 404 200 404 200"),
    ("shortlist-list", "get", "/api/v1/shortlists/", "401 200 200 200 200 200 200"),
    ("shortlist-list/post", "post", "/api/v1/shortlists/", "401 400 400 400 400 400 400"),
    ("shortlist-detail", "get", "/api/v1/shortlists/{s1}/", "401 200 200 404 200 404 200"),
    ("shortlist-submit", "post", "/api/v1/shortlists/{s1}/submit/", "401 409 403 404 403 404 403"),
    ("shortlist-decide", "post", "/api/v1/shortlists/{s1}/decide/", "401 400 400 404 400 404 400"),
    ("audit-list", "get", "/api/v1/audits/", "401 200 200 200 200 200 200"),
    ("audit-list/post", "post", "/api/v1/audits/", "401 403 403 400 403 403 403"),
    ("audit-detail", "get", "/api/v1/audits/{a1}/", "401 200 200 200 200 404 200"),
    ("audit-detail/other", "get", "/api/v1/audits/{a2}/", "401 200 404 200 200 404 200"),
    ("audit-transition", "post", "/api/v1/audits/{a1}/transition/", "401 403 403 400 403 404 403"),
    ("audit-transition/other", "post", "/api/v1/audits/{a2}/transition/", "401 403 404 403 403 404 403"),
    ("audit-findings", "get", "/api/v1/audits/{a1}/findings/", "401 405 405 405 405 405 405"),
    ("audit-findings/post", "post", "/api/v1/audits/{a1}/findings/", "401 403 403 400 403 404 403"),
    ("audit-outcome", "post", "/api/v1/audits/{a1}/outcome/", "401 403 403 403 403 404 400"),
    ("audit-sign", "post", "/api/v1/audits/{a1}/sign/", "401 403 403 409 403 404 403"),
    ("audit-amendments", "get", "/api/v1/audits/{a1}/amendments/", "401 405 405 405 405 405 405"),
    ("audit-amendments/post", "post", "/api/v1/audits/{a1}/amendments/", "401 403 403 409 403 404 403"),
    ("capa-list", "get", "/api/v1/capas/", "401 200 200 200 200 200 200"),
    ("capa-detail", "get", "/api/v1/capas/{capa1}/", "401 200 200 200 200 404 200"),
    ("capa-detail/patch", "patch", "/api/v1/capas/{capa1}/", "401 403 403 200 403 404 403"),
    ("notification-list", "get", "/api/v1/notifications/", "401 200 200 200 200 200 200"),
    ("notification-detail", "get", "/api/v1/notifications/{note1}/", "401 200 404 404 404 404 404"),
    ("notification-read", "post", "/api/v1/notifications/{note1}/read/", "401 200 404 404 404 404 404"),
    ("notification-read-all", "post", "/api/v1/notifications/read-all/", "401 200 200 200 200 200 200"),
    ("rfp-list", "get", "/api/v1/rfps/", "401 200 200 200 200 200 200"),
    ("rfp-list/post", "post", "/api/v1/rfps/", "401 400 403 403 403 403 403"),
    ("rfp-detail", "get", "/api/v1/rfps/{rfp1}/", "401 200 200 404 200 404 200"),
    ("rfp-detail/patch", "patch", "/api/v1/rfps/{rfp1}/", "401 200 403 404 403 404 403"),
    ("rfp-generate", "post", "/api/v1/rfps/{rfp1}/generate/", "401 202 403 404 403 404 403"),
    ("rfp-packets", "get", "/api/v1/rfps/{rfp1}/packets/", "401 200 200 404 200 404 200"),
    ("rfp-retry", "post", "/api/v1/rfps/{rfp1}/packets/{pk1}/retry/", "401 409 403 404 403 404 403"),
    ("rfp-attachments", "post", "/api/v1/rfps/{rfp1}/attachments/", "401 415 403 404 403 404 403"),
    ("rfp-deliveries", "post", "/api/v1/rfps/{rfp1}/deliveries/", "401 400 403 404 403 404 403"),
    ("rfp-proposals", "get", "/api/v1/rfps/{rfp1}/proposals/", "401 200 200 404 200 404 200"),
    (
        "rfp-proposal-questionnaire",
        "post",
        "/api/v1/rfps/{rfp1}/proposals/{prop1}/questionnaire/",
        "401 415 403 404 403 404 403",
    ),
    ("rfp-proposals/post", "post", "/api/v1/rfps/{rfp1}/proposals/", "401 400 403 404 403 404 403"),
    ("rfp-questions", "get", "/api/v1/rfps/{rfp1}/questions/", "401 200 200 404 200 404 200"),
    ("rfp-questions/post", "post", "/api/v1/rfps/{rfp1}/questions/", "401 400 403 404 403 404 403"),
    ("rfp-answer", "post", "/api/v1/rfps/{rfp1}/questions/{q1}/answer/", "401 400 403 404 403 404 403"),
    ("rfp-vendors", "get", "/api/v1/rfps/{rfp1}/vendors/", "401 200 200 404 200 404 200"),
    ("rfp-invitations", "get", "/api/v1/rfps/{rfp1}/invitations/", "401 200 200 404 200 404 200"),
    ("rfp-invitations/post", "post", "/api/v1/rfps/{rfp1}/invitations/", "401 400 403 404 403 404 403"),
    ("rfp-resend", "post", "/api/v1/rfps/{rfp1}/invitations/{inv1}/resend/", "401 200 403 404 403 404 403"),
    ("rfp-revoke", "post", "/api/v1/rfps/{rfp1}/invitations/{inv1}/revoke/", "401 200 403 404 403 404 403"),
    ("rfp-extensions", "post", "/api/v1/rfps/{rfp1}/extensions/", "401 400 403 404 403 404 403"),
    ("rfp-submissions", "get", "/api/v1/rfps/{rfp1}/submissions/", "401 200 200 404 200 404 200"),
    ("rfp-submission-file", "get", "/api/v1/rfps/{rfp1}/submissions/files/{up1}/", "401 403 403 404 403 404 403"),
    ("rfp-openings", "get", "/api/v1/rfps/{rfp1}/openings/", "401 200 200 404 200 404 200"),
    ("rfp-horizon", "get", "/api/v1/rfps/{rfp1}/horizon/", "401 200 200 404 200 404 200"),
    ("rfp-horizon/post", "post", "/api/v1/rfps/{rfp1}/horizon/", "401 400 403 404 403 404 403"),
    ("rfp-exchange-rates", "get", "/api/v1/rfps/{rfp1}/exchange-rates/", "401 200 200 404 200 404 200"),
    ("rfp-exchange-rates/post", "post", "/api/v1/rfps/{rfp1}/exchange-rates/", "401 400 403 404 403 404 403"),
    ("rfp-exchange-rate", "patch", "/api/v1/rfps/{rfp1}/exchange-rates/{rate1}/", "401 200 403 404 403 404 403"),
    (
        "rfp-exchange-rate/delete",
        "delete",
        "/api/v1/rfps/{rfp1}/exchange-rates/{rate1}/",
        "401 204 403 404 403 404 403",
    ),
    ("rfp-costs-comparison", "get", "/api/v1/rfps/{rfp1}/comparison/", "401 409 409 404 409 404 409"),  # sealed
    ("rfp-answers", "get", "/api/v1/rfps/{rfp1}/answers/", "401 200 200 404 200 404 200"),
    ("rfp-openings/post", "post", "/api/v1/rfps/{rfp1}/openings/", "401 400 403 404 403 404 403"),
    ("award-list", "get", "/api/v1/awards/", "401 200 200 200 200 200 200"),
    ("award-list/post", "post", "/api/v1/awards/", "401 400 403 403 403 403 403"),
    ("award-detail", "get", "/api/v1/awards/{aw1}/", "401 200 200 404 200 404 200"),
    ("award-submit", "post", "/api/v1/awards/{aw1}/submit/", "401 409 403 404 403 404 403"),
    ("award-decide", "post", "/api/v1/awards/{aw1}/decide/", "401 403 403 404 400 404 400"),
    ("award-notices", "get", "/api/v1/awards/{aw1}/notices/", "401 200 200 404 200 404 200"),
    ("award-notice-pdf", "get", "/api/v1/awards/{aw1}/notices/{an1}/pdf/", "401 200 200 404 200 404 200"),
    ("qualityagreement-list", "get", "/api/v1/quality-agreements/", "401 200 403 200 200 403 200"),
    ("qualityagreement-list/post", "post", "/api/v1/quality-agreements/", "401 403 403 403 403 403 400"),
    ("qualityagreement-detail", "get", "/api/v1/quality-agreements/{qa1}/", "401 200 403 200 200 403 200"),
    ("qualityagreement-lines", "put", "/api/v1/quality-agreements/{qa1}/lines/", "401 403 403 403 403 403 400"),
    ("qualityagreement-sign", "post", "/api/v1/quality-agreements/{qa1}/sign/", "401 403 403 403 403 403 400"),
    (
        "qualityagreement-new-version",
        "post",
        "/api/v1/quality-agreements/{qa1}/new-version/",
        "401 403 403 403 403 403 409",
    ),
    (
        "qualityagreement-vendor-copy",
        "post",
        "/api/v1/quality-agreements/{qa1}/vendor-copy/",
        "401 403 403 403 403 403 400",
    ),
    ("riskassessment-list", "get", "/api/v1/risk-assessments/", "401 200 403 200 200 403 200"),
    ("riskassessment-detail", "get", "/api/v1/risk-assessments/{risk1}/", "401 200 403 200 200 403 200"),
    ("riskmatrix-list", "get", "/api/v1/risk-matrices/", "401 200 403 200 200 403 200"),
    ("riskmatrix-list/post", "post", "/api/v1/risk-matrices/", "401 403 403 403 403 403 400"),
    ("riskmatrix-detail", "get", "/api/v1/risk-matrices/1/", "401 200 403 200 200 403 200"),
    # The portal's API: its session only; a sponsor (here forced in as DRF's force_authenticate does,
    # past every authentication class) is refused (tests/portal: real tokens and sessions get 401).
    ("portal:api-overview", "get", "/portal/api/overview/", "401 403 403 403 403 403 403"),
    ("portal:api-intent", "post", "/portal/api/intent/", "401 403 403 403 403 403 403"),
    ("portal:api-questions", "get", "/portal/api/questions/", "401 403 403 403 403 403 403"),
    ("portal:api-questions/post", "post", "/portal/api/questions/", "401 403 403 403 403 403 403"),
    ("portal:api-uploads", "get", "/portal/api/uploads/", "401 403 403 403 403 403 403"),
    ("portal:api-uploads/post", "post", "/portal/api/uploads/", "401 403 403 403 403 403 403"),
    ("portal:api-download", "get", "/portal/api/packets/{pk1}/pdf/", "401 403 403 403 403 403 403"),
    ("metrics", "get", "/metrics", "401 401 401 401 401 401 401"),  # its bearer token only, never a login
    ("performance-record-list", "get", "/api/v1/performance-records/", "401 200 403 200 200 403 200"),
    ("performance-record-list/post", "post", "/api/v1/performance-records/", "401 403 403 400 403 403 400"),
    ("performance-record-detail", "get", "/api/v1/performance-records/{perf1}/", "401 200 403 200 200 403 200"),
    ("performance-record-detail/patch", "patch", "/api/v1/performance-records/{perf1}/", "401 403 403 200 403 403 200"),
    # multipart only: a JSON body from a permitted user is refused as such (415)
    ("performance-record-import-file", "post", "/api/v1/performance-records/import/", "401 403 403 415 403 403 415"),
    ("scorecard-list", "get", "/api/v1/scorecards/", "401 200 403 200 200 403 200"),
    ("scorecard-detail", "get", "/api/v1/scorecards/{sc1}/", "401 200 403 200 200 403 200"),
    ("kpi-setting-list", "get", "/api/v1/kpi-settings/", "401 200 403 200 200 403 200"),
    ("kpi-setting-detail", "get", "/api/v1/kpi-settings/complaints/", "401 200 403 200 200 403 200"),
    ("kpi-setting-detail/patch", "patch", "/api/v1/kpi-settings/complaints/", "401 403 403 403 403 403 200"),
    ("standing-rules-list", "get", "/api/v1/standing-rules/", "401 200 403 200 200 403 200"),
    ("standing-rules-list/post", "post", "/api/v1/standing-rules/", "401 403 403 403 403 403 400"),
    ("standing-rules-detail", "get", "/api/v1/standing-rules/1/", "401 200 403 200 200 403 200"),
    ("rfptemplate-list", "get", "/api/v1/rfp-templates/", "401 200 403 403 200 403 200"),
    ("rfptemplate-list/post", "post", "/api/v1/rfp-templates/", "401 400 403 403 403 403 403"),
    ("rfptemplate-detail", "get", "/api/v1/rfp-templates/{tpl1}/", "401 200 403 403 200 403 200"),
    ("api-token-obtain", "post", "/api/v1/auth/token/", "400 400 400 400 400 400 400"),
    ("api-root", "get", "/api/v1/", "401 200 200 200 200 200 200"),
    ("schema", "get", "/api/schema/", "401 200 200 200 200 200 200"),
    ("api-docs", "get", "/api/docs/", "401 200 200 200 200 200 200"),
]

PUBLIC = {"login", "logout", "healthz", "healthz-live", "healthz-ready"}  # reachable without an account by design


def _request(client, method: str, path: str, api: bool):
    call = getattr(client, method)
    if api:
        return call(path, {}, format="json") if method != "get" else call(path)
    return call(path) if method == "get" else call(path, {})


def _run(world, users, path: str, method: str, expected: str, api: bool):
    path = path.format(**world)
    got = {}
    for role in ROLES:
        # A server error is an answer like any other here (500), not an exception in the test.
        client = APIClient(raise_request_exception=False) if api else Client(raise_request_exception=False)
        if role != "anon":
            if api:
                client.force_authenticate(users[role])
            else:
                client.force_login(users[role])
        with transaction.atomic():
            got[role] = _request(client, method, path, api).status_code
            transaction.set_rollback(True)
    want = _expect(expected)
    wrong = {role: f"got {got[role]}, expected {want[role]}" for role in ROLES if got[role] != want[role]}
    assert not wrong, f"{method.upper()} {path}: {wrong}"


CHUNK = 40  # routes per test: one world per chunk (building it is most of the cost), chunks in parallel


def _chunks(rows):
    return [rows[i : i + CHUNK] for i in range(0, len(rows), CHUNK)]


def _check_all(world, users, rows, api: bool) -> None:
    """Every route of `rows` against the same world: each request is rolled back, so none changes
    what the next sees. All mismatches are reported together, by route."""
    wrong = []
    for name, method, path, expected in rows:
        try:
            _run(world, users, path, method, expected, api=api)
        except AssertionError as error:
            wrong.append(f"{name}: {error}")
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize("rows", _chunks(PAGES), ids=lambda rows: f"{rows[0][0]}..{rows[-1][0]}")
def test_page_matrix(world, users, rows):
    _check_all(world, users, rows, api=False)


@pytest.mark.parametrize("rows", _chunks(API), ids=lambda rows: f"{rows[0][0]}..{rows[-1][0]}")
def test_api_matrix(world, users, rows):
    _check_all(world, users, rows, api=True)


def _route_names(patterns, namespace=""):
    for p in patterns:
        if isinstance(p, URLResolver):
            if p.namespace == "admin":
                continue
            ns = f"{namespace}{p.namespace}:" if p.namespace else namespace
            yield from _route_names(p.url_patterns, ns)
        elif isinstance(p, URLPattern) and p.name:
            yield f"{namespace}{p.name}"


def test_the_matrix_covers_every_route():
    covered = {row[0].split("/")[0] for row in PAGES + API}
    missing = set(_route_names(get_resolver().url_patterns)) - covered - PUBLIC
    assert not missing, f"routes without a row in the permission matrix: {sorted(missing)}"


def test_a_portal_session_reaches_nothing_of_the_sponsor(world):
    """A vendor signed in to the supplier portal is, everywhere on the sponsor's side (pages and
    API), exactly as far as someone with no account: the portal session is not a login."""
    Invitation.objects.filter(pk=world["inv1"]).update(link_used_at=timezone.now())
    wrong = {}
    for rows, api in ((PAGES, False), (API, True)):
        for name, method, path, expected in rows:
            if name.startswith("portal:"):
                continue  # the portal's own routes: tests/portal/
            client = APIClient(raise_request_exception=False) if api else Client(raise_request_exception=False)
            session = client.session
            session["portal_invitation"] = world["inv1"]
            session.save()
            with transaction.atomic():
                got = _request(client, method, path.format(**world), api).status_code
                transaction.set_rollback(True)
            if got != _expect(expected)["anon"]:
                wrong[name] = f"{method.upper()} {path}: got {got}, like anonymous {_expect(expected)['anon']}"
    assert not wrong, wrong
