"""Audits, findings and CAPA through the API and pages; the quality evidence they feed."""

from datetime import date, timedelta

import pytest
from rest_framework.test import APIClient

from accounts import roles
from audits import services
from audits.models import Audit, Capa
from scoring import evidence
from tests.factories import SiteFactory

pytestmark = pytest.mark.django_db
TODAY = date.today()


@pytest.fixture
def audit(users):
    site = SiteFactory()
    audit = services.audit_create(
        user=users["auditor"],
        site=site,
        type="qualification",
        planned_start=TODAY - timedelta(days=10),
        planned_end=TODAY - timedelta(days=8),
        scope=["data_integrity", "production"],
    )
    audit = services.audit_transition(audit=audit, user=users["auditor"], action="start")
    Audit.objects.filter(pk=audit.pk).update(actual_start=TODAY - timedelta(days=10))
    return Audit.objects.get(pk=audit.pk)  # a protected FSM field cannot be refreshed in place


def test_plan_start_and_record_findings_through_the_api(api_as, users):
    site = SiteFactory()
    client = api_as("auditor")
    response = client.post(
        "/api/v1/audits/",
        {
            "site": site.pk,
            "type": "routine",
            "planned_start": str(TODAY),
            "planned_end": str(TODAY + timedelta(days=2)),
            "scope": ["training"],
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    audit_id = response.json()["id"]
    early = client.post(
        f"/api/v1/audits/{audit_id}/findings/",
        {"severity": "major", "area": "training", "description": "x", "capa_due_date": str(TODAY)},
        format="json",
    )
    assert early.status_code == 409
    assert client.post(f"/api/v1/audits/{audit_id}/transition/", {"action": "start"}, format="json").status_code == 200
    bad_due = client.post(
        f"/api/v1/audits/{audit_id}/findings/",
        {
            "severity": "major",
            "area": "training",
            "description": "Training records incomplete",
            "capa_due_date": str(TODAY - timedelta(days=30)),
        },
        format="json",
    )
    assert bad_due.status_code == 400 and "before the audit" in str(bad_due.json())
    ok = client.post(
        f"/api/v1/audits/{audit_id}/findings/",
        {
            "severity": "major",
            "area": "training",
            "description": "Training records incomplete",
            "regulation_reference": "21 CFR 211.25",
            "capa_due_date": str(TODAY + timedelta(days=30)),
        },
        format="json",
    )
    assert ok.status_code == 201 and ok.json()["number"] == 1 and ok.json()["capa"]["status"] == "open"
    assert (
        client.post(
            f"/api/v1/audits/{audit_id}/findings/", {"severity": "fatal", "area": "x", "description": ""}, format="json"
        ).status_code
        == 400
    )
    assert (
        api_as("procurement")
        .post(
            f"/api/v1/audits/{audit_id}/findings/",
            {"severity": "minor", "area": "training", "description": "y", "capa_required": False},
            format="json",
        )
        .status_code
        == 403
    )
    assert (
        api_as("procurement")
        .post(
            "/api/v1/audits/",
            {"site": site.pk, "type": "routine", "planned_start": str(TODAY), "planned_end": str(TODAY)},
            format="json",
        )
        .status_code
        == 403
    )
    assert api_as("manager").get(f"/api/v1/audits/{audit_id}/").status_code == 200


def test_capa_lifecycle_and_overdue(api_as, audit, users):
    finding = services.finding_add(
        audit=audit,
        user=users["auditor"],
        severity="critical",
        area="data_integrity",
        description="Audit trail disabled on HPLC",
        capa_due_date=TODAY - timedelta(days=1),
        confirm_past_due_date=True,  # the vendor's committed date has passed already
    )
    capa = finding.capa
    assert capa.is_overdue
    client = api_as("auditor")
    listed = client.get("/api/v1/capas/?overdue=true").json()["results"]
    assert [c["id"] for c in listed] == [capa.pk] and listed[0]["overdue"]
    assert (
        client.patch(
            f"/api/v1/capas/{capa.pk}/", {"completed_on": str(TODAY + timedelta(days=5))}, format="json"
        ).status_code
        == 400
    )
    unproven = client.patch(
        f"/api/v1/capas/{capa.pk}/", {"status": "verified", "vendor_response": "Enabled"}, format="json"
    )
    assert unproven.status_code == 400 and "verification_note" in unproven.json()
    response = client.patch(
        f"/api/v1/capas/{capa.pk}/",
        {
            "status": "verified",
            "vendor_response": "Enabled",
            "verification_note": "Audit trail on; reviewed 3 weeks of HPLC audit-trail reports with no gaps.",
        },
        format="json",
    )
    assert response.status_code == 200, response.content
    assert response.json()["verification_note"].startswith("Audit trail on")
    capa.refresh_from_db()
    assert capa.verified_by == users["auditor"] and capa.completed_on == TODAY and not capa.is_overdue
    assert client.get("/api/v1/capas/?overdue=true").json()["results"] == []
    assert api_as("manager").patch(f"/api/v1/capas/{capa.pk}/", {"status": "open"}, format="json").status_code == 403


def test_pages_and_permissions(client_as, audit, users, django_assert_max_num_queries):
    services.finding_add(
        audit=audit,
        user=users["auditor"],
        severity="minor",
        area="production",
        description="Line clearance <script>x</script>",
        capa_due_date=TODAY + timedelta(days=9),
    )
    auditor = client_as("auditor")
    with django_assert_max_num_queries(12):
        assert auditor.get("/audits/").status_code == 200
    with django_assert_max_num_queries(12):
        page = auditor.get("/audits/capas/").content.decode()
    assert "&lt;script&gt;" in page
    response = auditor.post(
        f"/audits/{audit.pk}/findings/",
        {
            "severity": "major",
            "area": "documentation",
            "description": "Batch record gaps",
            "capa_required": "on",
            "capa_due_date": str(TODAY + timedelta(days=20)),
        },
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200 and "Batch record gaps" in response.content.decode()
    assert audit.findings.count() == 2
    missing_due = auditor.post(
        f"/audits/{audit.pk}/findings/",
        {
            "severity": "major",
            "area": "documentation",
            "description": "No due",
            "capa_required": "on",
        },
        HTTP_HX_REQUEST="true",
    )
    assert "needs a due date" in missing_due.content.decode() and audit.findings.count() == 2
    assert client_as("procurement").get(f"/audits/{audit.pk}/").status_code == 200
    assert client_as("procurement").get("/audits/new/").status_code == 403
    assert client_as("evaluator").get(f"/audits/{audit.pk}/").status_code == 404
    auditor = client_as("auditor")  # the client fixture is shared: log the auditor back in
    assert auditor.get("/audits/new/").status_code == 200
    # A performance flag's link presets the site and the type; anything else in the query is ignored.
    preset = auditor.get(f"/audits/new/?site={audit.site_id}&type=for_cause&lead_auditor=1").content.decode()
    assert f'<option value="{audit.site_id}" selected>' in preset and '<option value="for_cause" selected>' in preset
    auditor.post("/audits/capas/", {"capa": Capa.objects.first().pk, "status": "in_progress"})
    assert Capa.objects.filter(status="in_progress").count() == 1


def test_quality_evidence_from_findings():
    today = TODAY
    clean = {"site": "A", "end_date": today - timedelta(days=30), "findings": []}
    assert evidence.quality_systems([], today).value is None
    assert evidence.quality_systems([clean], today).value == 5.0
    critical_open = {
        "site": "A",
        "end_date": today - timedelta(days=10),
        "findings": [
            {
                "severity": "critical",
                "capa_status": "open",
                "capa_due": today - timedelta(days=1),
                "capa_completed": None,
            },
            {
                "severity": "minor",
                "capa_status": "closed",
                "capa_due": today,
                "capa_completed": today - timedelta(days=2),
            },
        ],
    }
    # Only the latest audit of a site counts: 5 - (2 + 0.5 overdue) - 0.25 / 2.
    assert evidence.quality_systems([clean, critical_open], today).value == pytest.approx(5 - 2.5 - 0.125, abs=0.01)
    reasons = evidence.knockouts(
        [{"rule": "no_open_critical", "years": 5}], {}, {"audits": [critical_open]}, [], [], today
    )
    assert reasons == ["1 open critical audit finding(s) at A"]  # names the site (scoring/evidence.py)


def test_quality_criterion_can_be_derived_from_audits(api_as, users, audit):
    from scoring import services as scoring_services

    services.finding_add(
        audit=audit,
        user=users["auditor"],
        severity="major",
        area="production",
        description="Cleaning validation gaps",
        capa_due_date=TODAY + timedelta(days=5),
    )
    services.audit_transition(audit=audit, user=users["auditor"], action="draft_report")
    evaluation = scoring_services.evaluation_create(
        lead=users["procurement"], name="Q", evaluators=[users["evaluator"]]
    )
    scoring_services.candidate_add(evaluation=evaluation, user=users["procurement"], vendor=audit.site.vendor)
    quality = evaluation.criteria.get(key="quality_systems")
    lead = api_as("procurement")
    response = lead.patch(
        f"/api/v1/evaluations/{evaluation.pk}/criteria/{quality.pk}/", {"evidence": "quality"}, format="json"
    )
    assert response.status_code == 200, response.content
    cell = next(
        c
        for c in lead.get(f"/api/v1/evaluations/{evaluation.pk}/ranking/").json()["rows"][0]["cells"]
        if c["criterion"] == "quality_systems"
    )
    assert cell["derived"] and cell["value"] == 4.0 and "1 major" in cell["evidence"][0]
    assert Audit.objects.get().status == "report_drafted"


def test_outcome_waits_for_the_signed_report_and_updates_the_site(api_as, client_as, audit, users):
    """The former order (outcome while the report is drafted) is refused: QA signs it after the report
    (tests/audits/test_outcome.py has the whole rule)."""
    from tests.factories import PASSWORD, UserFactory

    qa = UserFactory(username="qa", roles=[roles.QA])
    client = APIClient()
    client.force_authenticate(qa)
    body = {"outcome": "approved_with_conditions", "password": PASSWORD}
    assert client.post(f"/api/v1/audits/{audit.pk}/outcome/", body, format="json").status_code == 409
    services.audit_transition(audit=audit, user=users["auditor"], action="draft_report")
    drafted = client.post(f"/api/v1/audits/{audit.pk}/outcome/", body, format="json")
    assert drafted.status_code == 409 and "after the lead auditor has signed the report" in drafted.json()["detail"]
    assert (
        api_as("auditor").post(f"/api/v1/audits/{audit.pk}/outcome/", body, format="json").status_code == 403
    )  # not QA
    api_as("auditor").post(f"/api/v1/audits/{audit.pk}/report/", {"recommended_outcome": "approved"}, format="json")
    api_as("auditor").post(f"/api/v1/audits/{audit.pk}/sign/", {"password": PASSWORD}, format="json")
    bad = client.post(f"/api/v1/audits/{audit.pk}/outcome/", {**body, "outcome": "great"}, format="json")
    assert bad.status_code == 400 and "outcome" in bad.json()
    response = client.post(f"/api/v1/audits/{audit.pk}/outcome/", body, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["outcome"] == "approved_with_conditions"
    site = audit.site
    site.refresh_from_db()
    site.vendor.refresh_from_db()
    assert site.qualification == "approved_with_conditions" and site.vendor.status == "prospect"  # a person's call
    assert site.requalification_due is not None and (site.requalification_due - TODAY).days < 400
    assert f"{site.vendor.name} — {site.name}" not in client_as("manager").get("/").content.decode()  # a year away
    site.requalification_due = TODAY + timedelta(days=30)
    site.save()
    home = client_as("manager").get("/").content.decode()
    assert "Requalification due within 90 days" in home and f"{site.vendor.name} — {site.name}" in home


def test_evidence_attachments_are_validated_and_only_downloaded(client_as, audit, users):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from audits.models import FindingAttachment

    finding = services.finding_add(
        audit=audit,
        user=users["auditor"],
        severity="minor",
        area="documentation",
        description="Logbook gaps",
        capa_required=False,
    )
    client = client_as("auditor")
    url = f"/audits/{audit.pk}/attachments/"
    for name, content, message in [
        ("malware.exe", b"MZ\x90\x00", "files only"),
        ("fake.pdf", b"<html><script>alert(1)</script>", "not a .pdf file"),
        ("empty.pdf", b"", "between 1 byte and 20 MB"),
        ("binary.txt", b"abc\x00def", "binary data"),
    ]:
        response = client.post(url, {"finding": finding.pk, "upload": SimpleUploadedFile(name, content)})
        assert response.status_code == 200 and message in response.content.decode(), name
    assert not FindingAttachment.objects.exists()
    pdf = b"%PDF-1.7\n<html><script>alert(1)</script>"
    attached = client.post(url, {"finding": finding.pk, "upload": SimpleUploadedFile("photo of log.pdf", pdf)})
    assert attached.status_code == 302 and attached["Location"] == audit.get_absolute_url()
    attachment = FindingAttachment.objects.get()
    response = client.get(attachment.get_absolute_url())
    assert (
        response["Content-Disposition"].startswith("attachment;")
        and "photo of log.pdf" in response["Content-Disposition"]
    )
    assert response["Content-Type"] == "application/octet-stream"
    assert b"".join(response.streaming_content) == pdf
    assert client_as("evaluator").get(attachment.get_absolute_url()).status_code == 404
    assert (
        client_as("procurement")
        .post(url, {"finding": finding.pk, "upload": SimpleUploadedFile("x.pdf", pdf)})
        .status_code
        == 403
    )


@pytest.fixture
def drafted(audit, users):
    services.finding_add(
        audit=audit,
        user=users["auditor"],
        severity="major",
        area="production",
        description="Cleaning validation incomplete",
        capa_due_date=TODAY + timedelta(days=10),
    )
    services.report_update(
        audit=audit,
        user=users["auditor"],
        recommended_outcome="approved_with_conditions",
        recommendation_conditions="Cleaning validation of line 2 completed before the first GMP batch.",
        scope_description="Drug product manufacturing on line 2; QC laboratory.",
        summary="The quality system is adequate; cleaning validation needs completing.",
        attendees_sponsor="Marcus Feld, lead auditor",
        attendees_vendor="Dana Holt, Head of QA\nRaj Patel, Site director",
        distribution="Head of External Quality, sponsor\nDana Holt, vendor",
    )
    return services.audit_transition(audit=audit, user=users["auditor"], action="draft_report")


def test_signing_makes_the_report_a_record(api_as, client_as, drafted, users):
    from accounts.models import Signature
    from audits.models import Finding, RecordLocked

    client = api_as("auditor")
    url = f"/api/v1/audits/{drafted.pk}"
    wrong = client.post(f"{url}/sign/", {"password": "not-my-password"}, format="json")
    assert wrong.status_code == 400 and "password" in wrong.json()
    assert not Signature.objects.exists()
    from accounts.models import RefusedAttempt

    assert RefusedAttempt.objects.get().action == "sign audit report"
    assert api_as("procurement").post(f"{url}/sign/", {"password": "x"}, format="json").status_code == 403
    signed = client.post(f"{url}/sign/", {"password": "Correct-Horse-Battery-9"}, format="json")
    assert signed.status_code == 200, signed.content
    manifest = signed.json()["signatures"]
    assert manifest[0]["printed_name"] == users["auditor"].printed_name and manifest[0]["valid"] is True
    assert manifest[0]["meaning"].startswith("Authored")
    assert client.post(f"{url}/sign/", {"password": "Correct-Horse-Battery-9"}, format="json").status_code == 409
    # No path edits it any more: service, model, API.
    late = client.post(
        f"{url}/findings/",
        {"severity": "minor", "area": "training", "description": "late", "capa_required": False},
        format="json",
    )
    assert late.status_code == 409 and "amendment" in late.json()["detail"]
    finding = Finding.objects.get()
    finding.description = "softened"
    with pytest.raises(RecordLocked):
        finding.save()
    with pytest.raises(RecordLocked):
        finding.delete()
    audit = Audit.objects.get(pk=drafted.pk)
    audit.agenda = "rewritten"
    with pytest.raises(RecordLocked):
        audit.save()
    signature = Signature.objects.get()
    with pytest.raises(PermissionError):
        signature.save()
    with pytest.raises(PermissionError):
        signature.delete()
    # Amendments keep the original visible.
    amended = client.post(
        f"{url}/amendments/", {"reason": "Typo in area", "text": "Finding 1 concerns Production."}, format="json"
    )
    assert amended.status_code == 201
    page = client_as("procurement").get(f"/audits/{drafted.pk}/").content.decode()
    assert "Signature manifest" in page and "valid" in page and "Finding 1 concerns Production." in page
    assert "Cleaning validation incomplete" in page


def test_tampering_with_a_signed_report_is_detected(api_as, drafted, users):
    from audits.models import Finding

    client = api_as("auditor")
    client.post(f"/api/v1/audits/{drafted.pk}/sign/", {"password": "Correct-Horse-Battery-9"}, format="json")
    # The database refuses a change that bypasses the application (QuerySet.update, raw SQL) ...
    import pgtrigger
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        Finding.objects.filter(audit=drafted).update(description="Nothing to see")
    # ... and one made by the schema owner switching the guard off (or a restored backup) breaks the signature.
    with pgtrigger.ignore("audits.Finding:finding_signed"):
        Finding.objects.filter(audit=drafted).update(description="Nothing to see")
    manifest = client.get(f"/api/v1/audits/{drafted.pk}/").json()["signatures"]
    assert manifest[0]["valid"] is False


def test_failed_signature_counts_toward_lockout(client, drafted, users):
    from django.conf import settings

    client.force_login(users["auditor"])
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post(f"/audits/{drafted.pk}/sign/", {"password": "wrong-password-xx"})
    client.logout()
    response = client.post("/login/", {"username": "auditor", "password": "Correct-Horse-Battery-9"})
    assert response.status_code == 429


def test_report_pdf_has_findings_and_signature_manifest(
    api_as, client_as, drafted, users, django_capture_on_commit_callbacks
):
    import io

    from pypdf import PdfReader

    from audits.models import AuditReport

    api_as("auditor").post(f"/api/v1/audits/{drafted.pk}/sign/", {"password": "Correct-Horse-Battery-9"}, format="json")
    client = client_as("auditor")
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/audits/{drafted.pk}/report/")
    report = AuditReport.objects.get()
    assert report.status == "done" and report.pages >= 1 and len(report.sha256) == 64
    response = client_as("procurement").get(report.get_absolute_url())
    assert response["Content-Type"] == "application/pdf"
    reader = PdfReader(io.BytesIO(b"".join(response.streaming_content)))
    text = "\n".join(page.extract_text() for page in reader.pages)
    assert len(reader.pages) == report.pages
    text = " ".join(text.split())
    for expected in [
        f"Audit report {drafted.reference}",
        drafted.site.vendor.name,
        "Recommended outcome (audit team) Approved with conditions",
        "Cleaning validation of line 2 completed before the first GMP batch.",
        "Qualification outcome (quality assurance) Awaiting quality assurance's signature",
        "Scope Quality-system areas: Data integrity; Production.",
        "Drug product manufacturing on line 2; QC laboratory.",
        "Executive summary The quality system is adequate",
        "Dana Holt, Head of QA",
        "Distribution Head of External Quality, sponsor",
        "Cleaning validation incomplete",
        "Signature manifest",
        users["auditor"].printed_name,
        "valid",
        "Page 1 of",
    ]:
        assert expected in text, expected
    assert client_as("evaluator").get(report.get_absolute_url()).status_code == 404


def test_pdf_renderer_fetches_nothing():
    from core.pdf import render_pdf

    payloads = """<link rel="stylesheet" href="http://127.0.0.1:9/x.css">
    <style>@import url("http://169.254.169.254/latest/meta-data/");</style>
    <img src="file:///etc/passwd"><img src="http://127.0.0.1:9/i.png">
    <svg><image href="file:///etc/hostname" /></svg>
    <a rel="attachment" href="file:///etc/passwd">x</a><p>body text</p>"""
    pdf, pages, refused = render_pdf(f"<html><body>{payloads}</body></html>")
    assert pages == 1 and pdf.startswith(b"%PDF")
    assert any("169.254.169.254" in url for url in refused) and any("/etc/passwd" in url for url in refused)
    assert b"root:" not in pdf


def test_tampered_finding_and_capa_ids_find_nothing(client_as, audit):
    client = client_as("auditor")
    response = client.post(f"/audits/{audit.pk}/attachments/", {"finding": "²"})
    page = response.content.decode()
    assert response.status_code == 200 and "Choose a finding of this audit." in page and "Choose a file." in page
    assert client.post("/audits/capas/", {"capa": "abc", "status": "closed"}).status_code == 404
