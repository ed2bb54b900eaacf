"""The report the lead auditor signs and the follow-up that protects the sponsor: no preselected severity,
area or outcome; a recommended outcome before signing (confirmed when it ignores an open critical or major
CAPA); scope, summary, attendees and distribution locked once signed; past CAPA due dates confirmed;
"verified effective" only with evidence. Through the pages and the API."""

import re
from datetime import date, timedelta

import pgtrigger
import pytest
from django.apps import apps
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from audits import services
from audits.models import Audit, Capa, FindingAttachment, RecordLocked
from audits.selectors import audit_snapshot
from tests.factories import PASSWORD, SiteFactory
from vendorselect import builders

pytestmark = pytest.mark.django_db
TODAY = date.today()
NOTE = "Reviewed the retraining records of all 14 operators and observed two line clearances: both complete."


def _finding(severity="major", due=30, **extra):
    return {
        "severity": severity,
        "area": "production",
        "description": f"A {severity} finding on line clearance.",
        "capa_due_date": TODAY + timedelta(days=due),
        **extra,
    }


@pytest.fixture
def drafted(users):
    """A drafted report with an open major finding (CAPA due in 30 days) and no recommendation yet."""
    return builders.audit_with_findings(
        site=SiteFactory(), auditor=users["auditor"], findings=[_finding()], scope=["production"]
    )


def _api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_forms_start_with_no_severity_area_or_outcome_selected(client_as, users):
    audit = builders.audit_with_findings(site=SiteFactory(), auditor=users["auditor"], drafted=False)
    page = client_as("auditor").get(audit.get_absolute_url()).content.decode()
    for name in ("severity", "area", "recommended_outcome"):
        select = re.search(rf'<select name="{name}".*?</select>', page, re.S).group(0)
        assert re.findall(r"<option[^>]*selected", select) == [re.search(r'<option value=""[^>]*', select).group(0)]
    new = client_as("auditor").get("/audits/new/").content.decode()
    assert '<option value="" selected>Choose the type…</option>' in new


def test_signing_needs_the_recommended_outcome(client_as, drafted, users):
    lead = _api(users["auditor"])
    refused = lead.post(f"/api/v1/audits/{drafted.pk}/sign/", {"password": PASSWORD}, format="json")
    assert refused.status_code == 409 and "Record the recommended outcome" in refused.json()["detail"]
    page = client_as("auditor").get(drafted.get_absolute_url()).content.decode()
    assert "Record your recommended outcome in the" in page and "Sign the report (meaning" not in page
    # Conditional approval needs its conditions; conditions need a conditional approval.
    bare = lead.post(
        f"/api/v1/audits/{drafted.pk}/report/", {"recommended_outcome": "approved_with_conditions"}, format="json"
    )
    assert bare.status_code == 400 and "recommendation_conditions" in bare.json()
    stray = lead.post(
        f"/api/v1/audits/{drafted.pk}/report/",
        {"recommended_outcome": "not_approved", "recommendation_conditions": "Fix it"},
        format="json",
    )
    assert stray.status_code == 400 and "recommendation_conditions" in stray.json()
    assert _api(users["manager"]).post(
        f"/api/v1/audits/{drafted.pk}/report/", {"summary": "x"}, format="json"
    ).status_code in (403, 404)
    ok = lead.post(
        f"/api/v1/audits/{drafted.pk}/report/",
        {"recommended_outcome": "approved_with_conditions", "recommendation_conditions": "Close CAPA 1 first."},
        format="json",
    )
    assert ok.status_code == 200 and ok.json()["recommended_outcome"] == "approved_with_conditions"
    page = client_as("auditor").get(drafted.get_absolute_url()).content.decode()
    assert "You sign the report with the recommendation <strong>Approved with conditions</strong>" in page
    signed = lead.post(f"/api/v1/audits/{drafted.pk}/sign/", {"password": PASSWORD}, format="json")
    assert signed.status_code == 200, signed.content
    assert signed.json()["signatures"][0]["valid"] is True
    # The recommendation is part of what was signed; QA's decision is still to come, and the page shows both.
    assert audit_snapshot(Audit.objects.get(pk=drafted.pk))["recommended_outcome"] == "approved_with_conditions"
    page = client_as("manager").get(drafted.get_absolute_url()).content.decode()
    assert "Recommended by the lead auditor" in page and "Approved with conditions" in page
    assert "the qualification outcome awaits quality assurance" in page


def test_recommending_approval_with_an_open_major_capa_needs_confirmation(client_as, users):
    audit = builders.audit_with_findings(
        site=SiteFactory(),
        auditor=users["auditor"],
        started_on=TODAY - timedelta(days=40),
        findings=[_finding("major", due=-5, confirm_past_due_date=True), _finding("minor")],
    )
    lead = _api(users["auditor"])
    refused = lead.post(f"/api/v1/audits/{audit.pk}/report/", {"recommended_outcome": "approved"}, format="json")
    assert refused.status_code == 400
    message = refused.json()["confirm_open_capas"][0]
    assert "finding #1 (major) is overdue since" in message and "#2" not in message  # minor findings do not count
    # The page warns before anyone chooses, and the confirmation box is there.
    client = client_as("auditor")
    page = client.get(audit.get_absolute_url()).content.decode()
    assert "Open critical or major CAPAs:" in page and 'name="confirm_open_capas"' in page
    answer = client.post(f"/audits/{audit.pk}/report-details/", {"recommended_outcome": "approved"})
    assert answer.status_code == 200 and "You recommend “Approved” although" in answer.content.decode()
    assert Audit.objects.get(pk=audit.pk).recommended_outcome == ""
    saved = client.post(
        f"/audits/{audit.pk}/report-details/", {"recommended_outcome": "approved", "confirm_open_capas": "on"}
    )
    assert saved.status_code == 302 and Audit.objects.get(pk=audit.pk).recommended_outcome == "approved"
    # Confirmed once: editing the rest of the report does not ask again.
    edited = client.post(
        f"/audits/{audit.pk}/report-details/", {"recommended_outcome": "approved", "summary": "Sound overall."}
    )
    assert edited.status_code == 302 and Audit.objects.get(pk=audit.pk).summary == "Sound overall."
    # Signing asks again: the signature is the commitment.
    unconfirmed = lead.post(f"/api/v1/audits/{audit.pk}/sign/", {"password": PASSWORD}, format="json")
    assert unconfirmed.status_code == 400 and "confirm_open_capas" in unconfirmed.json()
    page = client.get(audit.get_absolute_url()).content.decode()
    assert "I recommend approval although these critical or major CAPAs are open" in page
    signed = client.post(f"/audits/{audit.pk}/sign/", {"password": PASSWORD, "confirm_open_capas": "on"})
    assert signed.status_code == 302 and Audit.objects.get(pk=audit.pk).status == "signed"


def test_the_report_is_locked_once_signed_and_tampering_breaks_the_seal(client_as, drafted, users):
    services.report_update(
        audit=drafted,
        user=users["auditor"],
        recommended_outcome="not_approved",
        summary="Critical gaps in line clearance.",
        attendees_vendor="Dana Holt, Head of QA",
    )
    lead = _api(users["auditor"])
    assert lead.post(f"/api/v1/audits/{drafted.pk}/sign/", {"password": PASSWORD}, format="json").status_code == 200
    locked = lead.post(f"/api/v1/audits/{drafted.pk}/report/", {"summary": "Softer words."}, format="json")
    assert locked.status_code == 409 and "amendment" in locked.json()["detail"]
    page = client_as("auditor").get(drafted.get_absolute_url()).content.decode()
    assert "Critical gaps in line clearance." in page and 'name="summary"' not in page
    audit = Audit.objects.get(pk=drafted.pk)
    audit.distribution = "Someone else"
    with pytest.raises(RecordLocked):
        audit.save()
    with pgtrigger.ignore("audits.Audit:audit_signed_frozen"):
        Audit.objects.filter(pk=drafted.pk).update(recommended_outcome="approved")
    assert lead.get(f"/api/v1/audits/{drafted.pk}/").json()["signatures"][0]["valid"] is False


def test_reports_signed_before_the_written_parts_existed_still_verify(drafted):
    """A snapshot names a written part only when it is filled in: an older signature's snapshot has none."""
    snapshot = audit_snapshot(drafted)
    assert not {"summary", "recommended_outcome", "distribution"} & set(snapshot)
    Audit.objects.filter(pk=drafted.pk).update(summary="Added")
    assert audit_snapshot(Audit.objects.get(pk=drafted.pk))["summary"] == "Added"


def test_a_past_capa_due_date_needs_confirmation(client_as, users):
    audit = builders.audit_with_findings(
        site=SiteFactory(), auditor=users["auditor"], started_on=TODAY - timedelta(days=20), drafted=False
    )
    lead = _api(users["auditor"])
    body = {
        "severity": "major",
        "area": "documentation",
        "description": "Logbooks not reviewed.",
        "capa_due_date": str(TODAY - timedelta(days=3)),
    }
    refused = lead.post(f"/api/v1/audits/{audit.pk}/findings/", body, format="json")
    assert refused.status_code == 400 and "3 days in the past" in refused.json()["confirm_past_due_date"][0]
    assert not audit.findings.exists()
    created = lead.post(f"/api/v1/audits/{audit.pk}/findings/", {**body, "confirm_past_due_date": True}, format="json")
    assert created.status_code == 201 and created.json()["capa"]["overdue"] is True
    # The page: the box appears only after the refusal, with the reason, and the typed finding stays.
    client = client_as("auditor")
    form = {**body, "capa_required": "on", "description": "Balance calibration overdue."}
    assert 'name="confirm_past_due_date"' not in client.get(audit.get_absolute_url()).content.decode()
    answer = client.post(f"/audits/{audit.pk}/findings/", form, headers={"HX-Request": "true"})
    html = answer.content.decode()
    assert 'name="confirm_past_due_date"' in html and "the CAPA will be overdue as soon as it is saved" in html
    assert "Balance calibration overdue." in html and audit.findings.count() == 1
    client.post(
        f"/audits/{audit.pk}/findings/", {**form, "confirm_past_due_date": "on"}, headers={"HX-Request": "true"}
    )
    assert audit.findings.count() == 2
    # Moving a CAPA's due date into the past needs the same confirmation; an overdue CAPA's other changes do not.
    capa = Capa.objects.get(finding__audit=audit, finding__number=1)
    moved = lead.patch(f"/api/v1/capas/{capa.pk}/", {"due_date": str(TODAY - timedelta(days=1))}, format="json")
    assert moved.status_code == 400 and "confirm_past_due_date" in moved.json()
    moved = lead.patch(
        f"/api/v1/capas/{capa.pk}/",
        {"due_date": str(TODAY - timedelta(days=1)), "confirm_past_due_date": True},
        format="json",
    )
    assert moved.status_code == 200 and moved.json()["due_date"] == str(TODAY - timedelta(days=1))
    assert lead.patch(f"/api/v1/capas/{capa.pk}/", {"status": "in_progress"}, format="json").status_code == 200


def test_verified_effective_asks_for_evidence(client_as, users, django_assert_max_num_queries):
    audit = builders.signed_audit(
        site=SiteFactory(),
        auditor=users["auditor"],
        password=PASSWORD,
        findings=[_finding("major"), _finding("minor")],
        recommendation="approved_with_conditions",
        conditions="Close both CAPAs.",
    )
    first, second = Capa.objects.filter(finding__audit=audit).order_by("finding__number")
    client = client_as("auditor")
    # "Verified effective" is not a one-click status on the tracker any more: it has its own form.
    with django_assert_max_num_queries(14):
        page = client.get("/audits/capas/").content.decode()
    row_select = re.search(rf'aria-label="New status of CAPA {first.pk}">.*?</select>', page, re.S).group(0)
    assert "verified" not in row_select and "How was effectiveness verified?" in page
    bare = client.post("/audits/capas/", {"capa": first.pk, "status": "verified", "verification_note": "ok, done"})
    assert bare.status_code == 200 and "Describe how effectiveness was verified" in bare.content.decode()
    assert "ok, done" in bare.content.decode()  # what was typed stays
    assert Capa.objects.get(pk=first.pk).status == "open"
    fake = SimpleUploadedFile("evidence.pdf", b"MZ not a pdf", content_type="application/pdf")
    refused = client.post(
        "/audits/capas/",
        {"capa": first.pk, "status": "verified", "verification_note": NOTE, "verification_evidence": fake},
    )
    assert refused.status_code == 200 and "not a .pdf file" in refused.content.decode()
    assert not FindingAttachment.objects.exists()
    pdf = SimpleUploadedFile("retraining-records.pdf", b"%PDF-1.4 records", content_type="application/pdf")
    done = client.post(
        "/audits/capas/",
        {"capa": first.pk, "status": "verified", "verification_note": NOTE, "verification_evidence": pdf},
        follow=True,
    )
    assert "CAPA verified effective." in done.content.decode()
    capa = Capa.objects.select_related("verification_evidence").get(pk=first.pk)
    assert capa.status == "verified" and capa.verified_by == users["auditor"] and capa.verification_note == NOTE
    assert capa.verification_evidence.original_name == "retraining-records.pdf"
    assert capa.verification_evidence.finding_id == capa.finding_id
    assert NOTE in done.content.decode() and "retraining-records.pdf" in done.content.decode()
    # The trail records the verification and its note.
    events = apps.get_model("audits", "CapaEvent").objects.filter(pgh_obj_id=capa.pk).order_by("pgh_id")
    assert events.last().verification_note == NOTE and events.last().status == "verified"
    # The API: a note is required (400 naming it), a file may come with it (multipart).
    api = _api(users["auditor"])
    assert "verification_note" in api.patch(f"/api/v1/capas/{second.pk}/", {"status": "verified"}, format="json").json()
    answer = api.patch(
        f"/api/v1/capas/{second.pk}/",
        {
            "status": "verified",
            "verification_note": "Re-audit of the warehouse: all 20 sampled labels correct.",
            "verification_evidence_file": SimpleUploadedFile("labels.txt", b"20 of 20 correct"),
        },
        format="multipart",
    )
    assert answer.status_code == 200, answer.content
    assert answer.json()["verification_evidence"]["name"] == "labels.txt"
    # Found ineffective after all: back to work, the verification cleared (the trail keeps it).
    reopened = api.patch(f"/api/v1/capas/{second.pk}/", {"status": "in_progress"}, format="json").json()
    assert reopened["verified_by"] is None and reopened["verification_note"] == ""
