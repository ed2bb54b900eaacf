"""Closing an audit: signed -> closed once CAPA follow-up is complete; a closed audit is a record."""

from datetime import date, timedelta

import pgtrigger
import pytest

from audits import selectors, services
from audits.models import Audit, Capa, Finding, RecordLocked
from tests.factories import SiteFactory, UserFactory
from vendorselect import builders

pytestmark = pytest.mark.django_db
TODAY = date.today()
PASSWORD = "Correct-Horse-Battery-9"
VERIFIED = "Batch records of the three batches since the CAPA show the revised check performed."


@pytest.fixture
def signed(users):
    """A signed audit with three findings: two CAPAs open, one without a CAPA; a co-auditor."""
    from accounts import roles

    co_auditor = UserFactory(username="co-auditor", roles=[roles.AUDITOR])
    return builders.signed_audit(
        site=SiteFactory(),
        auditor=users["auditor"],
        password=PASSWORD,
        type="routine",
        planned_start=TODAY - timedelta(days=20),
        planned_end=TODAY - timedelta(days=18),
        started_on=TODAY - timedelta(days=20),
        co_auditors=[co_auditor],
        findings=[
            {
                "severity": severity,
                "area": "documentation",
                "description": f"{severity} finding",
                "capa_required": capa,
                "capa_due_date": TODAY + timedelta(days=30) if capa else None,
            }
            for severity, capa in [("major", True), ("minor", False), ("critical", True)]
        ],
    )


def _capa(audit, number):
    return Capa.objects.get(finding__audit=audit, finding__number=number)


def test_capa_follow_up_goes_on_after_signing(api_as, signed):
    """The report is signed before CAPAs are done: their updates must still go through."""
    client = api_as("auditor")
    capa = _capa(signed, 1)
    response = client.patch(
        f"/api/v1/capas/{capa.pk}/", {"status": "implemented", "vendor_response": "SOP revised"}, format="json"
    )
    assert response.status_code == 200, response.content
    capa.refresh_from_db()
    assert capa.status == "implemented" and capa.vendor_response == "SOP revised" and capa.completed_on == TODAY
    assert Audit.objects.get(pk=signed.pk).status == "signed"


def test_only_the_lead_auditor_closes(api_as, client_as, signed):
    Capa.objects.filter(finding__audit=signed).update(status="verified")
    url = f"/api/v1/audits/{signed.pk}/transition/"
    for role in ("procurement", "manager"):
        response = api_as(role).post(url, {"action": "close"}, format="json")
        assert response.status_code == 403 and "Only the lead auditor" in response.json()["detail"]
    co_auditor = Audit.objects.get(pk=signed.pk).co_auditors.get()
    with pytest.raises(services.AuditError) as refused:
        services.audit_transition(audit=signed, user=co_auditor, action="close")
    assert refused.value.status == 403
    assert Audit.objects.get(pk=signed.pk).status == "signed"
    # Not offered to anyone but the lead auditor.
    assert 'value="close"' not in client_as("procurement").get(f"/audits/{signed.pk}/").content.decode()


def test_closing_is_refused_while_capas_are_open(api_as, client_as, signed):
    client = api_as("auditor")
    url = f"/api/v1/audits/{signed.pk}/transition/"
    response = client.post(url, {"action": "close"}, format="json")
    assert response.status_code == 409
    detail = response.json()["detail"]
    assert "CAPA #1 (open)" in detail and "CAPA #3 (open)" in detail and "#2" not in detail, detail
    assert "verified effective or closed" in detail
    # The audit page says what is missing instead of offering the button.
    page = client_as("auditor").get(f"/audits/{signed.pk}/").content.decode()
    assert 'value="close"' not in page and "still open: CAPA #1 (open), CAPA #3 (open)" in page
    # Implemented is not enough: the CAPA must be verified effective (or closed).
    services.capa_update(capa=_capa(signed, 1), user=signed.lead_auditor, status="implemented")
    services.capa_update(capa=_capa(signed, 3), user=signed.lead_auditor, status="closed")
    response = client.post(url, {"action": "close"}, format="json")
    assert response.status_code == 409 and "still open: CAPA #1 (implemented)." in response.json()["detail"]
    assert Audit.objects.get(pk=signed.pk).status == "signed"


def test_closing_is_refused_before_the_audit_ended(signed, users):
    for number in (1, 3):
        services.capa_update(
            capa=_capa(signed, number), user=users["auditor"], status="verified", verification_note=VERIFIED
        )
    # Only the schema owner switching the database's guard off can put a signed audit's end date in
    # the future (the model and the database refuse edits).
    frozen = "audits.Audit:audit_signed_frozen"
    with pgtrigger.ignore(frozen):
        Audit.objects.filter(pk=signed.pk).update(actual_end=TODAY + timedelta(days=3))
    with pytest.raises(services.AuditError) as refused:
        services.audit_transition(audit=signed, user=users["auditor"], action="close")
    assert refused.value.status == 409
    assert f"ends on {TODAY + timedelta(days=3):%Y-%m-%d}" in refused.value.message
    assert Audit.objects.get(pk=signed.pk).status == "signed"
    with pgtrigger.ignore(frozen):
        Audit.objects.filter(pk=signed.pk).update(actual_end=None)
    with pytest.raises(services.AuditError, match="no actual end date"):
        services.audit_transition(audit=signed, user=users["auditor"], action="close")


def test_only_a_signed_audit_closes(api_as, users):
    audit = services.audit_create(
        user=users["auditor"], site=SiteFactory(), type="routine", planned_start=TODAY, planned_end=TODAY
    )
    response = api_as("auditor").post(f"/api/v1/audits/{audit.pk}/transition/", {"action": "close"}, format="json")
    assert response.status_code == 409 and "while it is planned" in response.json()["detail"]
    audit = services.audit_transition(audit=audit, user=users["auditor"], action="start")
    audit = services.audit_transition(audit=audit, user=users["auditor"], action="draft_report")
    with pytest.raises(services.AuditError, match="while it is report drafted"):
        services.audit_transition(audit=audit, user=users["auditor"], action="close")


def test_lead_closes_from_the_page_and_the_audit_stays_a_record(api_as, client_as, signed, users):
    for number in (1, 3):
        services.capa_update(
            capa=_capa(signed, number), user=users["auditor"], status="verified", verification_note=VERIFIED
        )
    client = client_as("auditor")
    page = client.get(f"/audits/{signed.pk}/").content.decode()
    assert f'action="/audits/{signed.pk}/transition/close/"' in page and "Close the audit" in page
    response = client.post(f"/audits/{signed.pk}/transition/close/", follow=True)
    assert "Done: close the audit." in response.content.decode()
    audit = Audit.objects.get(pk=signed.pk)
    assert audit.status == "closed" and audit.is_locked
    page = client.get(f"/audits/{signed.pk}/").content.decode()
    assert "/transition/close/" not in page and "The audit is closed" in page
    assert f"/audits/{signed.pk}/sign/" not in page and "Record a finding" not in page
    # The signature still matches the record: closing changes no signed content.
    assert selectors.signature_manifest(audit)[0]["valid"] is True

    # Locked through every path: model, service, API.
    audit.agenda = "rewritten"
    with pytest.raises(RecordLocked):
        audit.save()
    finding = Finding.objects.get(audit=audit, number=1)
    finding.description = "softened"
    with pytest.raises(RecordLocked):
        finding.save()
    with pytest.raises(services.AuditError, match="amendment"):
        services.finding_add(
            audit=audit, user=users["auditor"], severity="minor", area="training", description="x", capa_required=False
        )
    capa = _capa(audit, 1)
    api = api_as("auditor")
    response = api.patch(f"/api/v1/capas/{capa.pk}/", {"status": "open"}, format="json")
    assert response.status_code == 409 and "closed" in response.json()["detail"]
    capa.status = "open"
    with pytest.raises(RecordLocked):
        capa.save()
    assert _capa(audit, 1).status == "verified"
    again = api.post(f"/api/v1/audits/{audit.pk}/transition/", {"action": "close"}, format="json")
    assert again.status_code == 409
    # The CAPA tracker no longer offers updates for it, and a forged update is refused.
    tracker = client_as("auditor").get("/audits/capas/").content.decode()
    assert "Audit closed" in tracker
    client_as("auditor").post("/audits/capas/", {"capa": capa.pk, "status": "open"})
    assert _capa(audit, 1).status == "verified"
    # Amendments stay possible, as for a signed report.
    amended = api.post(
        f"/api/v1/audits/{audit.pk}/amendments/", {"reason": "Typo", "text": "Finding 2 is minor."}, format="json"
    )
    assert amended.status_code == 201


def test_close_through_the_api_with_no_capas(api_as, users, rf):
    audit = services.audit_create(
        user=users["auditor"],
        site=SiteFactory(),
        type="qualification",
        planned_start=TODAY - timedelta(days=3),
        planned_end=TODAY - timedelta(days=2),
    )
    audit = services.audit_transition(audit=audit, user=users["auditor"], action="start")
    audit = services.audit_transition(audit=audit, user=users["auditor"], action="draft_report")
    request = rf.post("/")
    request.session = {}
    services.report_update(audit=audit, user=users["auditor"], recommended_outcome="approved")
    services.audit_sign(request=request, audit=audit, user=users["auditor"], password=PASSWORD)
    response = api_as("auditor").post(f"/api/v1/audits/{audit.pk}/transition/", {"action": "close"}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "closed"
