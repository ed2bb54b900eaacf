"""Shortlists: proposal from the ranking, frozen snapshot, signed decisions, refusals recorded."""

import hashlib
import io
import json

import pgtrigger
import pytest
from axes.models import AccessAttempt
from django.core import mail
from django.db import DatabaseError, connection, transaction
from pypdf import PdfReader

from accounts.models import Notification, RefusedAttempt, Signature
from accounts.roles import MANAGER, PROCUREMENT_LEAD
from scoring import shortlists
from scoring.models import Shortlist
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
PASSWORD = "Correct-Horse-Battery-9"


def propose(api, evaluation, candidates, **extra):
    return api.post(
        "/api/v1/shortlists/",
        {"evaluation": evaluation.pk, "candidates": [c.pk for c in candidates], **extra},
        format="json",
    )


def submitted(api_as, reviewed, **extra):
    evaluation, candidates = reviewed
    lead = api_as("procurement")
    response = propose(lead, evaluation, candidates[2:], **extra)  # the two best
    assert response.status_code == 201, response.content
    response = lead.post(f"/api/v1/shortlists/{response.json()['id']}/submit/")
    assert response.status_code == 200, response.content
    return Shortlist.objects.get(pk=response.json()["id"])


def decide(api, shortlist, decision="approve", password=PASSWORD, seen=None, comment=""):
    return api.post(
        f"/api/v1/shortlists/{shortlist.pk}/decide/",
        {
            "decision": decision,
            "password": password,
            "snapshot_hash": shortlist.snapshot_hash if seen is None else seen,
            "comment": comment,
        },
        format="json",
    )


def test_proposal_needs_the_review_stage(api_as, users):
    from scoring import services

    evaluation = services.evaluation_create(lead=users["procurement"], name="Early")
    response = propose(api_as("procurement"), evaluation, [])
    assert response.status_code == 409
    assert "review" in response.json()["detail"]


def test_submission_freezes_a_hashed_snapshot_and_asks_managers(
    api_as, reviewed, users, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        shortlist = submitted(api_as, reviewed)
    snapshot = shortlist.snapshot
    assert shortlist.status == "submitted"
    assert [r["vendor"]["name"] for r in snapshot["ranking"]][:2] == ["Vendor 3", "Vendor 2"]
    assert [r["chosen"] for r in snapshot["ranking"]] == [True, True, False, False]
    assert snapshot["skipped_higher_ranked"] == []
    assert len(snapshot["criteria"]) == 6 and abs(sum(c["weight"] for c in snapshot["criteria"]) - 1) < 1e-3
    canonical = json.dumps(snapshot, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert shortlist.snapshot_hash == hashlib.sha256(canonical.encode()).hexdigest()
    note = Notification.objects.get(recipient=users["manager"])
    assert note.kind == "approval_requested" and "Sterile fill" in note.subject
    [message] = [m for m in mail.outbox if m.to == ["manager@example.com"]]
    assert "Sterile fill" in message.subject and shortlist.get_absolute_url() in message.body
    assert Notification.objects.get(recipient=users["manager"]).emailed


def test_skipping_a_higher_ranked_vendor_needs_a_rationale(api_as, reviewed):
    evaluation, candidates = reviewed
    lead = api_as("procurement")
    draft = propose(lead, evaluation, [candidates[0]]).json()  # the worst one only
    response = lead.post(f"/api/v1/shortlists/{draft['id']}/submit/")
    assert response.status_code == 400
    assert "Vendor 3" in response.json()["rationale"][0]
    assert Shortlist.objects.get(pk=draft["id"]).status == "draft"
    propose(lead, evaluation, [candidates[0]], rationale="Only one with sterile capacity in the EU.")
    assert lead.post(f"/api/v1/shortlists/{draft['id']}/submit/").status_code == 200
    snapshot = Shortlist.objects.get(pk=draft["id"]).snapshot
    assert snapshot["skipped_higher_ranked"] == ["Vendor 3", "Vendor 2", "Vendor 1"]


def test_a_manager_approves_with_a_signature(api_as, reviewed, users):
    shortlist = submitted(api_as, reviewed)
    mail.outbox.clear()
    response = decide(api_as("manager"), shortlist)
    assert response.status_code == 200, response.content
    data = response.json()
    assert data["status"] == "approved" and data["snapshot_intact"] is True
    [signature] = data["signatures"]
    assert signature["printed_name"] == users["manager"].printed_name
    assert signature["meaning"] == "Approved" and signature["valid"] is True
    assert signature["user_id"] == users["manager"].pk
    note = Notification.objects.get(recipient=users["procurement"], kind="shortlist_decided")
    assert "approved" in note.subject


def test_self_approval_is_refused_and_recorded(api_as, reviewed, users):
    users["procurement"].groups.add(*users["manager"].groups.all())  # the lead is also a manager
    shortlist = submitted(api_as, reviewed)
    response = decide(api_as("procurement"), shortlist)
    assert response.status_code == 403
    assert "separation of duties" in response.json()["detail"]
    shortlist = Shortlist.objects.get(pk=shortlist.pk)
    assert shortlist.status == "submitted" and not Signature.objects.exists()
    attempt = RefusedAttempt.objects.get()
    assert attempt.user == users["procurement"] and attempt.record == shortlist


def test_wrong_password_signs_nothing_and_counts_toward_lockout(api_as, reviewed, settings):
    settings.ADMINS = [("Security", "security@example.com")]
    shortlist = submitted(api_as, reviewed)
    response = decide(api_as("manager"), shortlist, password="wrong")
    assert response.status_code == 400
    assert "password" in response.json()
    assert not Signature.objects.exists()
    assert RefusedAttempt.objects.filter(action="shortlist approve").exists()
    assert AccessAttempt.objects.filter(username="manager").exists()
    assert mail.outbox[-1].subject.endswith("Failed electronic-signature re-authentication")


def test_stale_snapshot_twice_and_out_of_order_are_refused(api_as, reviewed, users):
    shortlist = submitted(api_as, reviewed, required_approvals=2)
    manager = api_as("manager")
    assert decide(manager, shortlist, seen="0" * 64).status_code == 409
    assert decide(manager, shortlist).status_code == 200
    second = decide(manager, shortlist)
    assert second.status_code == 409 and "already signed" in second.json()["detail"]
    assert Shortlist.objects.get(pk=shortlist.pk).status == "submitted"  # one of two approvals
    other = UserFactory(username="qa-head", roles=[MANAGER])
    api = api_as("manager")
    api.force_authenticate(other)
    assert decide(api, shortlist).json()["status"] == "approved"
    assert decide(api, shortlist).status_code == 409  # decided: no longer awaiting
    assert RefusedAttempt.objects.count() == 3


def test_return_for_changes_then_a_new_version(api_as, reviewed):
    evaluation, candidates = reviewed
    shortlist = submitted(api_as, reviewed)
    manager = api_as("manager")
    assert decide(manager, shortlist, "return").status_code == 400  # a comment is required
    response = decide(manager, shortlist, "return", comment="Add the runner-up for price tension.")
    assert response.json()["status"] == "returned"
    assert response.json()["signatures"][0]["meaning"] == "Returned for changes"
    lead = api_as("procurement")
    again = propose(lead, evaluation, candidates[1:]).json()
    assert again["version"] == 2 and again["status"] == "draft"
    assert lead.post(f"/api/v1/shortlists/{again['id']}/submit/").status_code == 200
    stale = decide(manager, shortlist)
    assert stale.status_code == 409
    versions = api_as("manager").get(f"/api/v1/shortlists/?evaluation={evaluation.pk}").json()["results"]
    assert [(v["version"], v["status"]) for v in versions] == [(2, "submitted"), (1, "returned")]


def test_tampering_with_a_signed_snapshot_is_detected(api_as, reviewed, client_as):
    shortlist = submitted(api_as, reviewed)
    decide(api_as("manager"), shortlist)
    tamper = "UPDATE scoring_shortlist SET snapshot = jsonb_set(snapshot, '{rationale}', '\"edited\"') WHERE id = %s"
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(tamper, [shortlist.pk])  # the database refuses a change that bypasses the application
    # The schema owner switching the guard off (or a restored backup) is detected.
    with pgtrigger.ignore("scoring.Shortlist:shortlist_submitted_frozen"), connection.cursor() as cursor:
        cursor.execute(tamper, [shortlist.pk])
    data = api_as("manager").get(f"/api/v1/shortlists/{shortlist.pk}/").json()
    assert data["snapshot_intact"] is False
    assert data["signatures"][0]["valid"] is False
    page = client_as("manager").get(shortlist.get_absolute_url()).content.decode()
    assert "does not match its hash" in page and "INVALID" in page


def test_signatures_refuse_change_in_the_database(api_as, reviewed):
    shortlist = submitted(api_as, reviewed)
    decide(api_as("manager"), shortlist)
    for sql in ("UPDATE accounts_signature SET meaning = 'rejected'", "DELETE FROM accounts_signature"):
        with (
            pytest.raises(DatabaseError, match="Cannot update or delete"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(sql)
    assert Signature.objects.get().meaning == "approved"


def test_page_shows_the_manifest_and_the_pdf_carries_it(api_as, reviewed, client_as, users):
    shortlist = submitted(api_as, reviewed)
    client = client_as("manager")
    page = client.get(shortlist.get_absolute_url())
    assert page.status_code == 200 and b"Your decision (electronic signature)" in page.content
    response = client.post(
        shortlist.get_absolute_url(),
        {"decision": "approve", "password": PASSWORD, "snapshot_hash": shortlist.snapshot_hash},
    )
    assert response.status_code == 302
    page = client.get(shortlist.get_absolute_url()).content.decode()
    assert users["manager"].printed_name in page and "UTC" in page and "valid" in page
    assert "Your decision (electronic signature)" not in page
    pdf = client.get(shortlist.get_absolute_url() + "?export=pdf")
    assert pdf["Content-Type"] == "application/pdf"
    reader = PdfReader(io.BytesIO(pdf.content))
    text = " ".join(p.extract_text() for p in reader.pages)
    assert "Signature manifest" in text and users["manager"].printed_name in text
    assert "1 Vendor 3 yes 4.25" in " ".join(text.split()) and shortlist.snapshot_hash in text
    assert f"Page 1 of {len(reader.pages)}" in text


def test_lead_proposes_and_submits_on_the_page(client_as, reviewed):
    evaluation, candidates = reviewed
    client = client_as("procurement")
    page = client.get(f"/evaluations/{evaluation.pk}/shortlist/")
    assert page.status_code == 200 and b"Submit for approval" in page.content
    response = client.post(
        f"/evaluations/{evaluation.pk}/shortlist/",
        {"candidates": [candidates[3].pk], "rationale": "", "required_approvals": "1", "action": "submit"},
    )
    assert response.status_code == 302
    assert Shortlist.objects.get().status == "submitted"


@pytest.mark.parametrize(("role", "status"), [("manager", 200), ("evaluator", 200), ("auditor", 404), ("admin", 404)])
def test_who_sees_a_shortlist(api_as, client_as, reviewed, role, status):
    shortlist = submitted(api_as, reviewed)
    assert client_as(role).get(shortlist.get_absolute_url()).status_code == status
    assert api_as(role).get(f"/api/v1/shortlists/{shortlist.pk}/").status_code == status


def test_only_managers_decide_and_only_leads_propose(api_as, reviewed):
    evaluation, candidates = reviewed
    shortlist = submitted(api_as, reviewed)
    assert decide(api_as("evaluator"), shortlist).status_code == 403
    assert propose(api_as("manager"), evaluation, candidates).status_code == 403
    other_lead = UserFactory(username="lead2", roles=[PROCUREMENT_LEAD])
    api = api_as(None)
    api.force_authenticate(other_lead)
    assert propose(api, evaluation, candidates).status_code == 400  # not visible to another team


def test_manifest_helper_matches_api(api_as, reviewed):
    shortlist = submitted(api_as, reviewed)
    decide(api_as("manager"), shortlist)
    assert shortlists.manifest(shortlist)[0]["valid"] is True


def test_shortlist_list_queries_do_not_grow_with_versions(api_as, reviewed, django_assert_max_num_queries):
    evaluation, candidates = reviewed
    shortlist = submitted(api_as, reviewed)
    decide(api_as("manager"), shortlist, "return", comment="Again.")
    for n in range(2):
        again = propose(api_as("procurement"), evaluation, candidates[n:]).json()
        api_as("procurement").post(f"/api/v1/shortlists/{again['id']}/submit/")
        decide(api_as("manager"), Shortlist.objects.get(pk=again["id"]), "return", comment="Again.")
    with django_assert_max_num_queries(10):
        data = api_as("manager").get(f"/api/v1/shortlists/?evaluation={evaluation.pk}").json()
    assert len(data["results"]) == 3 and all(len(s["signatures"]) == 1 for s in data["results"])
