"""QA signs the qualification outcome after the report is signed; the audit page's operations each have
their own URL; the audit vocabulary of sterile products (areas, severities as EU GMP / PIC/S define them)."""

import re
from datetime import date, timedelta

import pytest
from django.test import Client
from rest_framework.test import APIClient

from accounts import roles
from accounts.models import RefusedAttempt, Signature
from audits import services
from audits.forms import FindingForm
from audits.models import Audit, AuditAmendment, QualificationOutcome, RecordLocked
from tests.factories import PASSWORD, SiteFactory, UserFactory
from vendors.models import Service, SiteQualification
from vendorselect import builders

pytestmark = pytest.mark.django_db
TODAY = date.today()
FINDING = {
    "severity": "major",
    "area": "sterility_assurance",
    "description": "Smoke studies of the filling line do not cover interventions.",
    "regulation_reference": "EU GMP Annex 1, 9.41",
    "capa_due_date": TODAY + timedelta(days=30),
}


@pytest.fixture
def qa(db):
    return UserFactory(username="quinn", first_name="Quinn", last_name="Assurance", roles=[roles.QA])


@pytest.fixture
def drafted(users):
    return builders.audit_with_findings(site=SiteFactory(), auditor=users["auditor"], findings=[FINDING])


@pytest.fixture
def signed(users):
    return builders.signed_audit(site=SiteFactory(), auditor=users["auditor"], password=PASSWORD, findings=[FINDING])


def _api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _activities(count: int) -> list[Service]:
    return list(Service.objects.order_by("group", "position", "name")[:count])


def test_qa_signs_the_outcome_on_the_page_after_the_report(client_as, signed, qa, users):
    site, vendor_status = signed.site, signed.site.vendor.status
    client = _client(qa)
    page = client.get(signed.get_absolute_url()).content.decode()
    assert "awaits quality assurance" in page and "Sign the outcome" in page
    assert "Re-enter your password to sign the outcome as Quinn Assurance" in page
    assert '<option value="" selected>Choose the outcome…</option>' in page  # no outcome preselected
    filling, inspection = _activities(2)
    response = client.post(
        f"/audits/{signed.pk}/outcome/",
        {
            "outcome": "approved_with_conditions",
            "activities": [filling.pk, inspection.pk],
            "note": "Requalify the aseptic process simulation within 6 months.",
            "password": PASSWORD,
        },
        follow=True,
    )
    html = response.content.decode()
    assert response.redirect_chain == [(signed.get_absolute_url(), 302)]
    assert "Outcome signed (Approved for quality): Approved with conditions." in html
    decision = QualificationOutcome.objects.get()
    assert decision.decided_by == qa and decision.supersedes is None
    assert {s.pk for s in decision.activities.all()} == {filling.pk, inspection.pk}
    signature = Signature.objects.get(object_id=decision.pk, content_type__model="qualificationoutcome")
    assert signature.signer == qa and signature.meaning == "approved_quality"
    assert signature.snapshot["meaning"] == "Approved for quality" and signature.snapshot["outcome"] == decision.outcome
    # The history: outcome, activities, signer, meaning, time, and the signature verifies.
    history = re.sub(r"\s+", " ", html.split('<h2 class="h6">Qualification outcome</h2>')[1])
    assert "Approved with conditions" in history and f"{filling.name}, {inspection.name}" in history
    assert "Quinn Assurance (quinn)" in history and "Approved for quality" in history
    assert f"{signature.signed_at:%Y-%m-%d %H:%M:%S} UTC" in history and "valid" in history
    # The approved-supplier list: one row per activity; the site follows; the vendor's status does not.
    rows = SiteQualification.objects.filter(site=site).order_by("activity__name")
    assert {(r.activity_id, r.status) for r in rows} == {
        (filling.pk, "approved_with_conditions"),
        (inspection.pk, "approved_with_conditions"),
    }
    assert all(r.decided_by == qa and f"Audit #{signed.pk}" in r.source for r in rows)
    site.refresh_from_db()
    site.vendor.refresh_from_db()
    assert site.qualification == "approved_with_conditions" and site.requalification_due is not None
    assert site.vendor.status == vendor_status
    assert Audit.objects.get(pk=signed.pk).current_outcome == "approved_with_conditions"


def test_no_outcome_before_the_report_is_signed(drafted, qa, users):
    body = {"outcome": "approved", "password": PASSWORD}
    response = _api(qa).post(f"/api/v1/audits/{drafted.pk}/outcome/", body, format="json")
    assert response.status_code == 409
    assert "after the lead auditor has signed the report" in response.json()["detail"]
    page = _client(qa).post(f"/audits/{drafted.pk}/outcome/", body, follow=True).content.decode()
    assert "after the lead auditor has signed the report" in page
    assert "Sign the outcome" not in page  # not offered either
    lead_page = _client(users["auditor"]).get(drafted.get_absolute_url()).content.decode()
    assert "Record outcome" not in lead_page and "Quality assurance signs the qualification outcome once" in lead_page
    assert not QualificationOutcome.objects.exists() and not SiteQualification.objects.exists()
    assert RefusedAttempt.objects.filter(action="sign qualification outcome").count() == 2


def test_only_qa_outside_the_audit_team_signs(signed, users):
    from django.contrib.auth.models import Group

    body = {"outcome": "approved", "password": PASSWORD}
    other_auditor = UserFactory(username="auditor2", roles=[roles.AUDITOR])
    for user in (users["manager"], users["procurement"], other_auditor):
        assert _api(user).post(f"/api/v1/audits/{signed.pk}/outcome/", body, format="json").status_code == 403
        assert _client(user).post(f"/audits/{signed.pk}/outcome/", body).status_code == 403
    assert _client(users["evaluator"]).post(f"/audits/{signed.pk}/outcome/", body).status_code == 404  # not shared
    # The lead auditor who also holds the QA role is still not independent of the audit.
    users["auditor"].groups.add(Group.objects.get(name=roles.QA))
    lead = type(users["auditor"]).objects.get(pk=users["auditor"].pk)  # without cached permissions
    assert _api(lead).post(f"/api/v1/audits/{signed.pk}/outcome/", body, format="json").status_code == 403
    assert _client(lead).post(f"/audits/{signed.pk}/outcome/", body).status_code == 403
    assert "Sign the outcome" not in _client(lead).get(signed.get_absolute_url()).content.decode()
    with pytest.raises(services.AuditError, match="independently"):
        services.outcome_sign(
            request=builders.signing_request(), audit=signed, user=lead, outcome="approved", password=PASSWORD
        )
    assert not QualificationOutcome.objects.exists() and not SiteQualification.objects.exists()


def test_a_co_auditor_with_the_qa_role_is_not_independent(users, qa):
    audit = builders.signed_audit(
        site=SiteFactory(), auditor=users["auditor"], password=PASSWORD, findings=[FINDING], co_auditors=[qa]
    )
    response = _api(qa).post(
        f"/api/v1/audits/{audit.pk}/outcome/", {"outcome": "approved", "password": PASSWORD}, format="json"
    )
    assert response.status_code == 403 and not QualificationOutcome.objects.exists()


def test_outcome_input_errors_name_the_field_and_change_nothing(signed, qa):
    client = _api(qa)
    url = f"/api/v1/audits/{signed.pk}/outcome/"
    cases = [
        ({"outcome": "great", "password": PASSWORD}, "outcome"),
        ({"password": PASSWORD}, "outcome"),
        ({"outcome": "approved", "activities": ["no-such-service"], "password": PASSWORD}, "activities"),
        ({"outcome": "approved", "activities": "filling", "password": PASSWORD}, "activities"),
        ({"outcome": "approved"}, "password"),
        ({"outcome": "approved", "password": "not-the-password"}, "password"),
    ]
    for body, field in cases:
        response = client.post(url, body, format="json")
        assert response.status_code == 400 and field in response.json(), (body, response.content)
    assert not QualificationOutcome.objects.exists() and not Signature.objects.filter(signer=qa).exists()
    # The page: the form shows the error under its field (the page again, not a redirect), nothing is written.
    page = _client(qa).post(f"/audits/{signed.pk}/outcome/", {"outcome": "approved", "password": "wrong-xx"})
    assert page.status_code == 200 and "The password is not correct; nothing was signed." in page.content.decode()
    empty = _client(qa).post(f"/audits/{signed.pk}/outcome/", {})
    assert empty.status_code == 200 and "Choose the qualification outcome." in empty.content.decode()
    assert not QualificationOutcome.objects.exists()


def test_a_later_outcome_supersedes_with_its_reason_and_the_first_stays(signed, qa, client_as):
    client = _api(qa)
    url = f"/api/v1/audits/{signed.pk}/outcome/"
    first = client.post(url, {"outcome": "approved", "password": PASSWORD}, format="json")
    assert first.status_code == 200, first.content
    site_wide = SiteQualification.objects.get(site=signed.site, activity=None)
    assert site_wide.status == "approved"
    no_reason = client.post(url, {"outcome": "not_approved", "password": PASSWORD}, format="json")
    assert no_reason.status_code == 400 and "reason" in no_reason.json()
    [activity] = _activities(1)
    second = client.post(
        url,
        {
            "outcome": "not_approved",
            "activities": [activity.code],
            "reason": "Media fill failed after the audit.",
            "password": PASSWORD,
        },
        format="json",
    )
    assert second.status_code == 200, second.content
    outcomes = second.json()["outcomes"]
    assert [o["outcome"] for o in outcomes] == ["approved", "not_approved"]
    assert [o["current"] for o in outcomes] == [False, True]
    assert outcomes[1]["meaning"] == "Rejected" and outcomes[0]["meaning"] == "Approved for quality"
    assert (
        outcomes[1]["supersedes"] == outcomes[0]["id"] and outcomes[1]["reason"] == "Media fill failed after the audit."
    )
    assert outcomes[1]["activities"] == [activity.code] and all(o["valid"] for o in outcomes)
    assert outcomes[1]["username"] == "quinn" and second.json()["outcome"] == "not_approved"
    assert Signature.objects.filter(signer=qa).values_list("meaning", flat=True).order_by("pk")[1] == "rejected"
    assert SiteQualification.objects.get(site=signed.site, activity=activity).status == "disqualified"
    site = signed.site
    site.refresh_from_db()
    assert site.qualification == "not_approved" and site.requalification_due is None
    # Append-only: the first outcome is a record, in the model and in the database.
    original = QualificationOutcome.objects.order_by("pk").first()
    original.outcome = "not_approved"
    with pytest.raises(RecordLocked):
        original.save()
    with pytest.raises(RecordLocked):
        original.delete()
    from django.db import DatabaseError, transaction

    with pytest.raises(DatabaseError, match="Cannot update or delete"), transaction.atomic():
        QualificationOutcome.objects.filter(pk=original.pk).update(outcome="not_approved")
    page = client_as("manager").get(signed.get_absolute_url()).content.decode()
    assert "superseded" in page and "Media fill failed after the audit." in page and "Rejected" in page


def test_the_outcome_is_not_amended(signed, users):
    client = _api(users["auditor"])
    response = client.post(
        f"/api/v1/audits/{signed.pk}/amendments/",
        {"reason": "Decision", "text": "Approved.", "outcome": "approved"},
        format="json",
    )
    assert response.status_code == 400 and "outcome" in response.json()
    assert not AuditAmendment.objects.exists()
    page = _client(users["auditor"]).get(signed.get_absolute_url()).content.decode()
    assert 'name="outcome"' not in page  # no outcome in the amendment form
    added = _client(users["auditor"]).post(f"/audits/{signed.pk}/amendments/", {"reason": "Typo", "text": "Annex 1."})
    assert added.status_code == 302 and AuditAmendment.objects.get().outcome == ""
    missing = _client(users["auditor"]).post(f"/audits/{signed.pk}/amendments/", {"reason": "", "text": "x"})
    assert missing.status_code == 200 and "Give the reason for the amendment." in missing.content.decode()


def test_sterile_vocabulary_and_severity_definitions(api_as, users, client_as):
    audit = builders.audit_with_findings(site=SiteFactory(), auditor=users["auditor"], drafted=False)
    form = FindingForm()
    assert form.fields["severity"].choices[0] == ("", "Choose the severity…") and form.fields["severity"].required
    areas = dict(form.fields["area"].choices)
    for code in (
        "sterility_assurance",
        "validation",
        "outsourced_activities",
        "complaints_recalls",
        "data_integrity",
        "quality_management",  # the existing codes stay
    ):
        assert code in areas
    assert (
        "Annex 1" in areas["sterility_assurance"] and "contamination control strategy" in areas["sterility_assurance"]
    )
    client = client_as("auditor")
    page = client.get(audit.get_absolute_url()).content.decode()
    assert '<option value="" selected>Choose the severity…</option>' in page
    assert "may result in a significant risk of producing, a product that is harmful to the patient" in page
    assert "does not comply with its marketing authorisation" in page and "a departure from good manufacturing" in page
    # No severity chosen: refused under the field, nothing recorded.
    body = {"area": "sterility_assurance", "description": "Gloves not sanitised", "capa_required": ""}
    refused = client.post(f"/audits/{audit.pk}/findings/", body, HTTP_HX_REQUEST="true")
    assert refused.status_code == 200 and "Choose the severity of the finding." in refused.content.decode()
    assert not audit.findings.exists()
    ok = client.post(f"/audits/{audit.pk}/findings/", {**body, "severity": "critical"})
    assert ok.status_code == 302 and audit.findings.get().area == "sterility_assurance"
    api = api_as("auditor")
    assert api.post(
        f"/api/v1/audits/{audit.pk}/findings/", {**body, "capa_required": False}, format="json"
    ).json().keys() == {"severity"}
    schema = api.get("/api/schema/", HTTP_ACCEPT="application/json").json()["components"]["schemas"]
    severity = schema["FindingInputRequest"]["properties"]["severity"]
    assert "harmful to the patient" in severity["description"]
    assert "Approved for quality" in schema["OutcomeInputRequest"]["properties"]["outcome"]["description"]
    assert {"outcome", "password"} <= set(schema["OutcomeInputRequest"]["required"])


def test_each_page_operation_has_its_url(signed, drafted, users, qa):
    lead = users["auditor"]
    enforcing = Client(enforce_csrf_checks=True)
    enforcing.force_login(lead)
    assert enforcing.post(f"/audits/{drafted.pk}/transition/reopen/").status_code == 403  # CSRF stays on
    assert Audit.objects.get(pk=drafted.pk).status == "report_drafted"
    client = _client(lead)
    for path in (
        "findings",
        "transition/reopen",
        "attachments",
        "report-details",
        "sign",
        "amendments",
        "report",
        "outcome",
    ):
        assert client.get(f"/audits/{drafted.pk}/{path}/").status_code == 405
    assert client.post(f"/audits/{drafted.pk}/transition/explode/").status_code == 404
    assert client.post(f"/audits/{drafted.pk}/", {"action": "reopen"}).status_code == 405  # the old switch is gone
    stranger = _client(users["manager"])
    assert stranger.post(f"/audits/{drafted.pk}/transition/reopen/").status_code == 403
    assert stranger.post(f"/audits/{drafted.pk}/sign/", {"password": PASSWORD}).status_code == 403
    assert stranger.post(f"/audits/{drafted.pk}/findings/", {}).status_code == 403
    assert Audit.objects.get(pk=drafted.pk).status == "report_drafted"
    reopened = client.post(f"/audits/{drafted.pk}/transition/reopen/", follow=True)
    assert reopened.redirect_chain == [(drafted.get_absolute_url(), 302)]
    assert "Done: reopen the audit." in reopened.content.decode()
    client.post(f"/audits/{drafted.pk}/transition/draft_report/")
    unrecommended = client.post(f"/audits/{drafted.pk}/sign/", {"password": PASSWORD}, follow=True)
    assert "Record the recommended outcome in the report before signing it" in unrecommended.content.decode()
    recommended = client.post(
        f"/audits/{drafted.pk}/report-details/",
        {"recommended_outcome": "approved_with_conditions", "recommendation_conditions": "Close CAPA 1 first."},
        follow=True,
    )
    assert "Report saved." in recommended.content.decode()
    wrong = client.post(f"/audits/{drafted.pk}/sign/", {"password": "not-it"})
    assert wrong.status_code == 200 and "The password is not correct; nothing was signed." in wrong.content.decode()
    late = client.post(f"/audits/{signed.pk}/sign/", {"password": PASSWORD}, follow=True)
    assert "Only a drafted report can be signed" in late.content.decode()
    signed_now = client.post(f"/audits/{drafted.pk}/sign/", {"password": PASSWORD}, follow=True)
    assert "Report signed. It is now a record" in signed_now.content.decode()
    assert Audit.objects.get(pk=drafted.pk).status == "signed"


def test_audit_page_and_api_stay_within_their_queries(signed, qa, client_as, django_assert_max_num_queries):
    for number, outcome in enumerate(["approved", "approved_with_conditions", "not_approved", "approved"]):
        services.outcome_sign(
            request=builders.signing_request(),
            audit=signed,
            user=qa,
            outcome=outcome,
            password=PASSWORD,
            activities=_activities(number),
            reason=f"Reason {number}" if number else "",
        )
    client = client_as("manager")
    with django_assert_max_num_queries(25):
        page = client.get(signed.get_absolute_url()).content.decode()
    assert page.count("superseded") == 3 and page.count("Reason ") == 3
    api = APIClient()
    api.force_authenticate(qa)
    with django_assert_max_num_queries(25):
        outcomes = api.get(f"/api/v1/audits/{signed.pk}/").json()["outcomes"]
    assert [o["outcome"] for o in outcomes] == ["approved", "approved_with_conditions", "not_approved", "approved"]
    assert all(o["valid"] for o in outcomes)
