"""The permission matrix: every route x every role x own / other team's objects -> the expected status.

One world is built per route; each role's request runs in a savepoint that is rolled back, so a
permitted write does not change what the next role sees. Writes send an empty body: a permitted
user gets a validation answer (400), a refused one 403/404/405, and nothing is written either way.
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
from rest_framework.test import APIClient

from accounts import notifications
from accounts.models import Notification
from accounts.roles import AUDITOR, EVALUATOR, PROCUREMENT_LEAD
from audits import services as audit_services
from audits.models import AuditReport
from rfp import services as rfp_services
from rfp.models import Packet, RfpTemplate
from scoring import shortlists
from scoring.models import Shortlist, ShortlistEntry
from tests.factories import InspectionFactory, SiteFactory, UserFactory, VendorFactory
from tests.rfp.conftest import rfp_values
from vendors.models import ImportJob

pytestmark = pytest.mark.django_db

ROLES = ["anon", "procurement", "evaluator", "auditor", "manager", "admin"]


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
    return {
        "sa": approved.pk,
        "rfp1": rfp.pk,
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
    """'302 200 200 404 200 404' in ROLES order."""
    codes = [int(c) for c in spec.split()]
    assert len(codes) == len(ROLES)
    return dict(zip(ROLES, codes, strict=True))


# (route name, method, path, expected per role: anon procurement evaluator auditor manager admin)
PAGES = [
    ("home", "get", "/", "302 200 200 200 200 200"),
    ("api-token", "get", "/account/api-token/", "302 200 200 200 200 200"),
    ("inbox", "get", "/inbox/", "302 200 200 200 200 200"),
    ("inbox-open", "post", "/inbox/{note1}/open/", "302 302 404 404 404 404"),
    ("inbox-read-all", "post", "/inbox/read-all/", "302 302 302 302 302 302"),
    ("vendors:list", "get", "/vendors/", "302 200 200 200 200 200"),
    ("vendors:create", "get", "/vendors/new/", "302 200 403 403 403 403"),
    ("vendors:detail", "get", "/vendors/{v1}/", "302 200 200 200 200 200"),
    ("vendors:edit", "get", "/vendors/{v1}/edit/", "302 200 403 403 403 403"),
    ("vendors:site-create", "get", "/vendors/{v1}/sites/new/", "302 200 403 200 403 403"),
    ("vendors:site", "get", "/vendors/sites/{site1}/", "302 200 200 200 200 200"),
    ("vendors:site-edit", "get", "/vendors/sites/{site1}/edit/", "302 200 403 200 403 403"),
    ("vendors:inspection-create", "get", "/vendors/sites/{site1}/inspections/new/", "302 403 403 200 403 403"),
    ("vendors:inspections", "get", "/vendors/inspections/", "302 200 200 200 200 200"),
    ("vendors:inspection-edit", "get", "/vendors/inspections/{insp1}/edit/", "302 403 403 200 403 403"),
    ("vendors:imports", "get", "/vendors/imports/", "302 200 403 200 403 403"),
    ("vendors:import", "get", "/vendors/imports/{job1}/", "302 200 403 404 403 403"),
    ("vendors:import-confirm", "post", "/vendors/imports/{job1}/confirm/", "302 302 403 404 403 403"),
    ("scoring:list", "get", "/evaluations/", "302 200 200 200 200 200"),
    ("scoring:create", "get", "/evaluations/new/", "302 200 403 403 403 403"),
    ("scoring:evaluation", "get", "/evaluations/{e1}/", "302 200 200 404 200 404"),
    ("scoring:evaluation/other", "get", "/evaluations/{e2}/", "302 404 404 404 200 404"),
    ("scoring:vendor-search", "get", "/evaluations/{e1}/vendor-search/?q=ve", "302 200 403 404 403 404"),
    ("scoring:ranking", "get", "/evaluations/{e1}/ranking/", "302 200 200 404 200 404"),
    ("scoring:sensitivity", "get", "/evaluations/{e1}/sensitivity/", "302 200 200 404 200 404"),
    ("scoring:compare", "get", "/evaluations/{e1}/compare/", "302 200 200 404 200 404"),
    ("scoring:grid", "get", "/evaluations/{e1}/score/", "302 403 200 404 403 404"),
    ("scoring:cell", "post", "/evaluations/{e1}/score/cell/", "302 403 400 404 403 404"),
    ("scoring:submit", "post", "/evaluations/{e1}/score/submit/", "302 403 302 404 403 404"),
    ("scoring:shortlists", "get", "/evaluations/{e1}/shortlist/", "302 200 200 404 200 404"),
    ("scoring:shortlists/post", "post", "/evaluations/{e1}/shortlist/", "302 302 403 404 403 404"),
    ("scoring:shortlist", "get", "/evaluations/{e1}/shortlist/{s1}/", "302 200 200 404 200 404"),
    ("scoring:shortlist/decide", "post", "/evaluations/{e1}/shortlist/{s1}/", "302 302 302 404 302 404"),
    ("audits:list", "get", "/audits/", "302 200 200 200 200 200"),
    ("audits:create", "get", "/audits/new/", "302 403 403 200 403 403"),
    ("audits:calendar", "get", "/audits/calendar/", "302 200 200 200 200 200"),
    ("audits:calendar-ics", "get", "/audits/calendar.ics", "302 200 200 200 200 200"),
    ("audits:detail", "get", "/audits/{a1}/", "302 200 200 200 200 404"),
    ("audits:detail/other", "get", "/audits/{a2}/", "302 200 404 200 200 404"),
    ("audits:capas", "get", "/audits/capas/", "302 200 200 200 200 200"),
    ("audits:attachment", "get", "/audits/attachments/{att1}/", "302 200 200 200 200 404"),
    ("audits:report", "get", "/audits/reports/{rep1}/", "302 200 200 200 200 404"),
    ("trail", "get", "/trail/", "302 403 403 403 200 403"),
    ("history", "get", "/history/scoring.Evaluation/{e1}/", "302 200 200 404 200 404"),
    ("history/other", "get", "/history/scoring.Evaluation/{e2}/", "302 404 404 404 200 404"),
    ("history/audit", "get", "/history/audits.Audit/{a2}/", "302 200 404 200 200 404"),
    ("history/vendor", "get", "/history/vendors.Vendor/{v1}/", "302 200 200 200 200 200"),
    ("history/rfp", "get", "/history/rfp.Rfp/{rfp1}/", "302 200 200 404 200 404"),
    ("rfp:list", "get", "/rfps/", "302 200 200 403 200 403"),
    ("rfp:templates", "get", "/rfps/templates/", "302 200 403 403 200 403"),
    ("rfp:create", "get", "/rfps/new/{sa}/", "302 200 403 404 403 404"),
    ("rfp:detail", "get", "/rfps/{rfp1}/", "302 200 200 404 200 404"),
    ("rfp:detail/post", "post", "/rfps/{rfp1}/", "302 302 302 404 302 404"),
    ("rfp:edit", "get", "/rfps/{rfp1}/edit/", "302 200 403 404 403 404"),
    ("rfp:progress", "get", "/rfps/{rfp1}/progress/", "302 200 200 404 200 404"),
    ("rfp:download-all", "get", "/rfps/{rfp1}/download-all/", "302 200 200 404 200 404"),
    ("rfp:packet-download", "get", "/rfps/packets/{pk1}/zip/", "302 200 200 404 200 404"),
    ("rfp:proposal-document", "get", "/rfps/proposal-documents/{doc1}/", "302 200 200 404 200 404"),
]

API = [
    ("vendor-list", "get", "/api/v1/vendors/", "401 200 200 200 200 200"),
    ("vendor-list/post", "post", "/api/v1/vendors/", "401 400 403 403 403 403"),
    ("vendor-detail", "get", "/api/v1/vendors/{v1}/", "401 200 200 200 200 200"),
    ("vendor-detail/patch", "patch", "/api/v1/vendors/{v1}/", "401 200 403 403 403 403"),
    ("vendor-detail/delete", "delete", "/api/v1/vendors/{v1}/", "401 405 405 405 405 405"),
    ("site-list", "get", "/api/v1/sites/", "401 200 200 200 200 200"),
    ("site-list/post", "post", "/api/v1/sites/", "401 400 403 400 403 403"),
    ("site-detail", "get", "/api/v1/sites/{site1}/", "401 200 200 200 200 200"),
    ("inspection-list", "get", "/api/v1/inspections/", "401 200 200 200 200 200"),
    ("inspection-list/post", "post", "/api/v1/inspections/", "401 403 403 400 403 403"),
    ("inspection-detail", "get", "/api/v1/inspections/{insp1}/", "401 200 200 200 200 200"),
    ("contact-list", "get", "/api/v1/contacts/", "401 200 200 200 200 200"),
    ("contact-detail", "get", "/api/v1/contacts/{contact1}/", "401 200 200 200 200 200"),
    ("kind-list", "get", "/api/v1/kinds/", "401 200 200 200 200 200"),
    ("kind-detail", "get", "/api/v1/kinds/CRO/", "401 200 200 200 200 200"),
    ("service-list", "get", "/api/v1/services/", "401 200 200 200 200 200"),
    ("service-detail", "get", "/api/v1/services/api-manufacturing/", "401 200 200 200 200 200"),
    ("modality-list", "get", "/api/v1/modalities/", "401 200 200 200 200 200"),
    ("modality-detail", "get", "/api/v1/modalities/peptide/", "401 200 200 200 200 200"),
    ("dosageform-list", "get", "/api/v1/dosage-forms/", "401 200 200 200 200 200"),
    ("dosageform-detail", "get", "/api/v1/dosage-forms/oral-solid/", "401 200 200 200 200 200"),
    ("phase-list", "get", "/api/v1/phases/", "401 200 200 200 200 200"),
    ("phase-detail", "get", "/api/v1/phases/phase-2/", "401 200 200 200 200 200"),
    ("import-list", "get", "/api/v1/imports/", "401 200 403 200 403 403"),
    ("import-list/post", "post", "/api/v1/imports/", "401 415 403 415 403 403"),
    ("import-detail", "get", "/api/v1/imports/{job1}/", "401 200 403 404 403 403"),
    ("import-confirm", "post", "/api/v1/imports/{job1}/confirm/", "401 202 403 404 403 403"),
    ("evaluation-list", "get", "/api/v1/evaluations/", "401 200 200 200 200 200"),
    ("evaluation-list/post", "post", "/api/v1/evaluations/", "401 400 403 403 403 403"),
    ("evaluation-detail", "get", "/api/v1/evaluations/{e1}/", "401 200 200 404 200 404"),
    ("evaluation-detail/other", "get", "/api/v1/evaluations/{e2}/", "401 404 404 404 200 404"),
    ("evaluation-detail/patch", "patch", "/api/v1/evaluations/{e1}/", "401 200 403 404 403 404"),
    ("evaluation-transition", "post", "/api/v1/evaluations/{e1}/transition/", "401 400 403 404 403 404"),
    ("evaluation-weights", "get", "/api/v1/evaluations/{e1}/weights/", "401 200 200 404 200 404"),
    ("evaluation-weights/post", "post", "/api/v1/evaluations/{e1}/weights/", "401 400 403 404 403 404"),
    ("evaluation-candidates", "get", "/api/v1/evaluations/{e1}/candidates/", "401 200 200 404 200 404"),
    ("evaluation-candidates/post", "post", "/api/v1/evaluations/{e1}/candidates/", "401 400 403 404 403 404"),
    (
        "evaluation-override-knockout",
        "post",
        "/api/v1/evaluations/{e1}/candidates/{cand1}/override/",
        "401 400 403 404 403 404",
    ),
    ("evaluation-knockouts", "get", "/api/v1/evaluations/{e1}/knockouts/", "401 200 200 404 200 404"),
    ("evaluation-knockouts/post", "post", "/api/v1/evaluations/{e1}/knockouts/", "401 400 403 404 403 404"),
    ("evaluation-scores", "get", "/api/v1/evaluations/{e1}/scores/", "401 200 200 404 200 404"),
    ("evaluation-scores/post", "post", "/api/v1/evaluations/{e1}/scores/", "401 403 400 404 403 404"),
    ("evaluation-submit", "post", "/api/v1/evaluations/{e1}/submit/", "401 403 409 404 403 404"),
    ("evaluation-derived-override", "post", "/api/v1/evaluations/{e1}/derived-override/", "401 400 400 404 403 404"),
    ("evaluation-add-criterion", "post", "/api/v1/evaluations/{e1}/criteria/", "401 409 403 404 403 404"),
    (
        "evaluation-change-criterion",
        "patch",
        "/api/v1/evaluations/{e1}/criteria/{crit1}/",
        "401 409 403 404 403 404",
    ),
    ("evaluation-ranking", "get", "/api/v1/evaluations/{e1}/ranking/", "401 200 200 404 200 404"),
    ("evaluation-sensitivity", "get", "/api/v1/evaluations/{e1}/sensitivity/", "401 200 200 404 200 404"),
    ("shortlist-list", "get", "/api/v1/shortlists/", "401 200 200 200 200 200"),
    ("shortlist-list/post", "post", "/api/v1/shortlists/", "401 400 400 400 400 400"),
    ("shortlist-detail", "get", "/api/v1/shortlists/{s1}/", "401 200 200 404 200 404"),
    ("shortlist-submit", "post", "/api/v1/shortlists/{s1}/submit/", "401 409 403 404 403 404"),
    ("shortlist-decide", "post", "/api/v1/shortlists/{s1}/decide/", "401 400 400 404 400 404"),
    ("audit-list", "get", "/api/v1/audits/", "401 200 200 200 200 200"),
    ("audit-list/post", "post", "/api/v1/audits/", "401 403 403 400 403 403"),
    ("audit-detail", "get", "/api/v1/audits/{a1}/", "401 200 200 200 200 404"),
    ("audit-detail/other", "get", "/api/v1/audits/{a2}/", "401 200 404 200 200 404"),
    ("audit-transition", "post", "/api/v1/audits/{a1}/transition/", "401 403 403 400 403 404"),
    ("audit-transition/other", "post", "/api/v1/audits/{a2}/transition/", "401 403 404 403 403 404"),
    ("audit-findings", "get", "/api/v1/audits/{a1}/findings/", "401 405 405 405 405 405"),
    ("audit-findings/post", "post", "/api/v1/audits/{a1}/findings/", "401 403 403 400 403 404"),
    ("audit-outcome", "post", "/api/v1/audits/{a1}/outcome/", "401 403 403 400 403 404"),
    ("audit-sign", "post", "/api/v1/audits/{a1}/sign/", "401 403 403 409 403 404"),
    ("audit-amendments", "get", "/api/v1/audits/{a1}/amendments/", "401 405 405 405 405 405"),
    ("audit-amendments/post", "post", "/api/v1/audits/{a1}/amendments/", "401 403 403 409 403 404"),
    ("capa-list", "get", "/api/v1/capas/", "401 200 200 200 200 200"),
    ("capa-detail", "get", "/api/v1/capas/{capa1}/", "401 200 200 200 200 404"),
    ("capa-detail/patch", "patch", "/api/v1/capas/{capa1}/", "401 403 403 200 403 404"),
    ("notification-list", "get", "/api/v1/notifications/", "401 200 200 200 200 200"),
    ("notification-detail", "get", "/api/v1/notifications/{note1}/", "401 200 404 404 404 404"),
    ("notification-read", "post", "/api/v1/notifications/{note1}/read/", "401 200 404 404 404 404"),
    ("notification-read-all", "post", "/api/v1/notifications/read-all/", "401 200 200 200 200 200"),
    ("rfp-list", "get", "/api/v1/rfps/", "401 200 200 200 200 200"),
    ("rfp-list/post", "post", "/api/v1/rfps/", "401 400 403 403 403 403"),
    ("rfp-detail", "get", "/api/v1/rfps/{rfp1}/", "401 200 200 404 200 404"),
    ("rfp-detail/patch", "patch", "/api/v1/rfps/{rfp1}/", "401 200 403 404 403 404"),
    ("rfp-generate", "post", "/api/v1/rfps/{rfp1}/generate/", "401 202 403 404 403 404"),
    ("rfp-packets", "get", "/api/v1/rfps/{rfp1}/packets/", "401 200 200 404 200 404"),
    ("rfp-retry", "post", "/api/v1/rfps/{rfp1}/packets/{pk1}/retry/", "401 409 403 404 403 404"),
    ("rfp-attachments", "post", "/api/v1/rfps/{rfp1}/attachments/", "401 415 403 404 403 404"),
    ("rfp-deliveries", "post", "/api/v1/rfps/{rfp1}/deliveries/", "401 400 403 404 403 404"),
    ("rfp-proposals", "get", "/api/v1/rfps/{rfp1}/proposals/", "401 200 200 404 200 404"),
    ("rfp-proposals/post", "post", "/api/v1/rfps/{rfp1}/proposals/", "401 400 403 404 403 404"),
    ("rfp-questions", "get", "/api/v1/rfps/{rfp1}/questions/", "401 200 200 404 200 404"),
    ("rfp-questions/post", "post", "/api/v1/rfps/{rfp1}/questions/", "401 400 403 404 403 404"),
    ("rfptemplate-list", "get", "/api/v1/rfp-templates/", "401 200 403 403 200 403"),
    ("rfptemplate-list/post", "post", "/api/v1/rfp-templates/", "401 400 403 403 403 403"),
    ("rfptemplate-detail", "get", "/api/v1/rfp-templates/{tpl1}/", "401 200 403 403 200 403"),
    ("api-token-obtain", "post", "/api/v1/auth/token/", "400 400 400 400 400 400"),
    ("api-root", "get", "/api/v1/", "401 200 200 200 200 200"),
    ("schema", "get", "/api/schema/", "401 200 200 200 200 200"),
    ("api-docs", "get", "/api/docs/", "401 200 200 200 200 200"),
]

PUBLIC = {"login", "logout", "healthz"}  # reachable without an account by design


def _request(client, method: str, path: str, api: bool):
    call = getattr(client, method)
    if api:
        return call(path, {}, format="json") if method != "get" else call(path)
    return call(path) if method == "get" else call(path, {})


def _run(world, users, path: str, method: str, expected: str, api: bool):
    path = path.format(**world)
    got = {}
    for role in ROLES:
        client = APIClient() if api else Client()
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


@pytest.mark.parametrize(("name", "method", "path", "expected"), PAGES, ids=[p[0] for p in PAGES])
def test_page_matrix(world, users, name, method, path, expected):
    _run(world, users, path, method, expected, api=False)


@pytest.mark.parametrize(("name", "method", "path", "expected"), API, ids=[a[0] for a in API])
def test_api_matrix(world, users, name, method, path, expected):
    _run(world, users, path, method, expected, api=True)


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
