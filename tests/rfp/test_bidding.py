"""The sponsor's side of the supplier portal: invitations, sealed submissions, the two-person
opening, extensions, answers to every vendor or one, reminders (rfp.bidding, the RFP page and API)."""

import io
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone
from pypdf import PdfReader

from accounts.models import Signature
from core.errors import ServiceError
from rfp import bidding
from rfp.models import Invitation, ProposalOpening, Question, SealedUpload
from tests.factories import PASSWORD, ContactFactory, UserFactory
from vendorselect import builders

pytestmark = pytest.mark.django_db(transaction=False)


@pytest.fixture
def world(approved, users):
    """An RFP with a named second opener (the manager), each chosen vendor invited (one person)."""
    rfp = builders.rfp_for(approved, users["procurement"], co_opener=users["manager"])
    candidates = list(bidding.invitable_candidates(rfp))
    invitations = [builders.invited(rfp, users["procurement"], c) for c in candidates]
    return rfp, candidates, invitations


def test_invitations_are_emailed_with_a_personal_link_and_only_to_chosen_vendors(world, users, reviewed):
    rfp, candidates, invitations = world
    assert len(mail.outbox) == len(candidates) == 2
    message = mail.outbox[0]
    assert invitations[0].token in message.body and "/portal/i/" in message.body
    assert Invitation.objects.filter(token_hash=invitations[0].token).count() == 0  # only the hash is stored
    assert all(i.link_sent_at for i in Invitation.objects.all())
    _, all_candidates = reviewed
    outsider = next(c for c in all_candidates if c not in candidates)
    with pytest.raises(bidding.PortalError, match="not among the vendors"):
        bidding.invite(rfp=rfp, user=users["procurement"], candidate_id=outsider.pk, name="X", email="x@example.com")
    with pytest.raises(bidding.PortalError, match="already invited") as refused:
        builders.invited(rfp, users["procurement"], candidates[0])
    assert refused.value.status == 409
    foreign = ContactFactory(vendor=outsider.vendor, email="someone@example.com")
    with pytest.raises(bidding.PortalError, match="does not belong"):
        bidding.invite(rfp=rfp, user=users["procurement"], candidate_id=candidates[0].pk, contact_id=foreign.pk)
    with pytest.raises(bidding.PortalError) as refused:
        bidding.invite(rfp=rfp, user=users["evaluator"], candidate_id=candidates[0].pk, name="Y", email="y@example.com")
    assert refused.value.status == 403


def test_submissions_stay_sealed_until_both_openers_have_signed(world, users, client):
    rfp, candidates, invitations = world
    upload = builders.sealed_proposal(invitations[0], name="Pricing-confidential.pdf")
    lead, manager = users["procurement"], users["manager"]

    # Before the opening: who and when, nothing of what (API, page, download).
    client.force_login(lead)
    body = client.get(f"/api/v1/rfps/{rfp.pk}/submissions/").json()
    assert body["opened"] is False and body["files"] == []
    assert [s["candidate"] for s in body["submitted"]] == [candidates[0].pk]
    page = client.get(f"/rfps/{rfp.pk}/").content.decode()
    assert "submitted" in page and "Pricing-confidential" not in page and upload.sha256 not in page
    assert client.get(f"/api/v1/rfps/{rfp.pk}/submissions/files/{upload.pk}/").status_code == 403
    assert client.get(f"/rfps/{rfp.pk}/sealed/{upload.pk}/").status_code == 403
    assert "Pricing-confidential" not in str([(n.subject, n.body) for n in lead.notifications.all()])

    # Not before the deadline, not by someone else, not with a wrong password.
    refused = client.post(f"/api/v1/rfps/{rfp.pk}/openings/", {"password": PASSWORD})
    assert refused.status_code == 409 and "deadline" in refused.json()["detail"]
    builders.deadlines_passed(rfp)
    wrong = client.post(f"/api/v1/rfps/{rfp.pk}/openings/", {"password": "wrong"})
    assert wrong.status_code == 400 and "password" in wrong.json()
    client.force_login(users["evaluator"])
    assert client.post(f"/api/v1/rfps/{rfp.pk}/openings/", {"password": PASSWORD}).status_code == 403
    assert not ProposalOpening.objects.exists()

    # The lead opens: still sealed; the same user again: refused with a clear message.
    client.force_login(lead)
    first = client.post(f"/api/v1/rfps/{rfp.pk}/openings/", {"password": PASSWORD})
    assert first.status_code == 201, first.content
    assert first.json()["manifest"]["received"][0]["sha256"] == upload.sha256
    assert client.get(f"/api/v1/rfps/{rfp.pk}/submissions/").json()["files"] == []
    again = client.post(f"/api/v1/rfps/{rfp.pk}/openings/", {"password": PASSWORD})
    assert again.status_code == 409 and "You opened" in again.json()["detail"]

    # The second opener: open, readable, signed.
    client.force_login(manager)
    assert client.post(f"/api/v1/rfps/{rfp.pk}/openings/", {"password": PASSWORD}).status_code == 201
    files = client.get(f"/api/v1/rfps/{rfp.pk}/submissions/").json()["files"]
    assert [f["original_name"] for f in files] == ["Pricing-confidential.pdf"]
    download = client.get(f"/api/v1/rfps/{rfp.pk}/submissions/files/{upload.pk}/")
    assert download.status_code == 200 and b"".join(download.streaming_content).startswith(b"%PDF-")
    signatures = Signature.objects.filter(meaning=Signature.Meaning.OPENED)
    assert sorted(s.signer_id for s in signatures) == sorted([lead.pk, manager.pk])
    assert all(s.snapshot["opening"]["received"][0]["sha256"] == upload.sha256 for s in signatures)
    page = client.get(f"/rfps/{rfp.pk}/").content.decode()
    assert "Pricing-confidential.pdf" in page
    upload.file.storage.delete(upload.file.name)  # the stored file lost behind the record: 404, not 500
    assert client.get(f"/api/v1/rfps/{rfp.pk}/submissions/files/{upload.pk}/").status_code == 404


def test_second_opener_is_a_colleague_who_sees_the_evaluation(approved, users):
    lead = users["procurement"]
    with pytest.raises(ServiceError, match="second opener"):
        builders.rfp_for(approved, lead, co_opener=lead)
    stranger = UserFactory(username="stranger", roles=[])
    with pytest.raises(ServiceError, match="second opener"):
        builders.rfp_for(approved, lead, co_opener=stranger)
    rfp = builders.rfp_for(approved, lead)  # none named yet: the opening asks for one
    builders.deadlines_passed(rfp)
    with pytest.raises(bidding.PortalError, match="second opener"):
        bidding.open_proposals(rfp=rfp, user=lead, password=PASSWORD, request=builders.signing_request())


def test_an_extension_moves_one_vendors_deadline_and_the_opening_waits_for_it(world, users):
    rfp, candidates, invitations = world
    lead = users["procurement"]
    builders.deadlines_passed(rfp)
    with pytest.raises(bidding.PortalError, match="deadline for proposals") as refused:
        builders.sealed_proposal(invitations[0])
    assert refused.value.status == 409
    with pytest.raises(bidding.PortalError, match="why"):
        bidding.extension_grant(rfp=rfp, user=lead, candidate_id=candidates[0].pk, until=timezone.now(), reason="")
    until = timezone.now() + timedelta(days=2)
    bidding.extension_grant(rfp=rfp, user=lead, candidate_id=candidates[0].pk, until=until, reason="Portal outage")
    assert "extended" in mail.outbox[-1].subject.lower()
    builders.sealed_proposal(invitations[0])  # within the extension
    with pytest.raises(bidding.PortalError, match="deadline for proposals"):
        builders.sealed_proposal(invitations[1])  # the other vendor's deadline has passed
    with pytest.raises(bidding.PortalError, match="sealed until") as refused:
        bidding.open_proposals(rfp=rfp, user=lead, password=PASSWORD, request=builders.signing_request())
    assert refused.value.status == 409


def test_answers_go_to_every_vendor_without_the_asker_or_to_one(world, users, client):
    rfp, candidates, invitations = world
    for invitation in invitations:
        builders.signed_in(invitation)
    asked = bidding.question_ask(invitation=invitations[0], question="Is a 2,000 L single-use train acceptable?")
    private = bidding.question_ask(invitation=invitations[0], question="Can we visit your QA head?")
    client.force_login(users["procurement"])
    mail.outbox.clear()
    answered = client.post(
        f"/api/v1/rfps/{rfp.pk}/questions/{asked.pk}/answer/", {"answer": "Yes.", "visibility": "all"}, format="json"
    )
    assert answered.status_code == 200, answered.content
    assert sorted(m.to[0] for m in mail.outbox) == sorted(i.email for i in invitations)
    assert all(candidates[0].vendor.name not in m.body for m in mail.outbox)
    mail.outbox.clear()
    client.post(f"/rfps/{rfp.pk}/questions/{private.pk}/answer/", {"answer": "On request.", "visibility": "private"})
    assert Question.objects.get(pk=private.pk).visibility == "private"
    assert [m.to[0] for m in mail.outbox] == [invitations[0].email]
    other = [q.question for q in bidding.vendor_questions(invitations[1])]
    assert other == [asked.question]
    assert len(bidding.vendor_questions(invitations[0])) == 2
    bad = client.post(f"/api/v1/rfps/{rfp.pk}/questions/{asked.pk}/answer/", {"answer": "", "visibility": "x"})
    assert bad.status_code == 400


def test_reminders_go_once_to_vendors_that_have_not_submitted(world):
    rfp, _candidates, invitations = world
    builders.sealed_proposal(invitations[0])
    mail.outbox.clear()
    deadline = bidding.proposal_deadline(rfp)
    assert bidding.send_reminders(now=deadline - timedelta(days=5)) == 0
    assert bidding.send_reminders(now=deadline - timedelta(days=2)) == 1
    assert mail.outbox[-1].to == [invitations[1].email] and "Reminder" in mail.outbox[-1].subject
    assert bidding.send_reminders(now=deadline - timedelta(days=2)) == 0
    assert bidding.send_reminders(now=deadline - timedelta(hours=20)) == 1
    assert bidding.send_reminders(now=deadline - timedelta(hours=10)) == 0


def test_revoked_invitation_ends_the_link_and_the_session(world, users):
    _rfp, _candidates, invitations = world
    invitation = builders.signed_in(invitations[0])
    assert bidding.session_invitation(invitation.pk) is not None
    bidding.invitation_revoke(invitation=invitation, user=users["procurement"])
    assert bidding.session_invitation(invitation.pk) is None
    with pytest.raises(bidding.PortalError, match="withdrawn"):
        bidding.link_invitation(invitations[0].token)


def test_rfp_page_and_vendor_api_have_bounded_queries(world, users, client, django_assert_max_num_queries):
    rfp, _candidates, invitations = world
    for invitation in invitations:
        builders.sealed_proposal(invitation)
        bidding.question_ask(invitation=invitation, question="When is the award?")
    client.force_login(users["procurement"])
    with django_assert_max_num_queries(60):
        assert client.get(f"/rfps/{rfp.pk}/").status_code == 200
    with django_assert_max_num_queries(15):
        rows = client.get(f"/api/v1/rfps/{rfp.pk}/vendors/").json()
    assert all(r["submitted_at"] and r["questions"] == 1 for r in rows)
    assert "sha256" not in str(rows) and "original_name" not in str(rows)
    assert SealedUpload.objects.count() == 2


def test_the_virus_scan_hook_refuses_what_the_scanner_flags(world, settings):
    """UPLOAD_SCAN_COMMAND reads the upload on stdin: exit 1 refuses it, any failure to scan too."""
    _rfp, _candidates, invitations = world
    settings.UPLOAD_SCAN_COMMAND = "sh -c 'if grep -q EICAR-TEST; then exit 1; else exit 0; fi'"
    with pytest.raises(bidding.PortalError, match="virus scanner refused"):
        builders.sealed_proposal(invitations[0], content=builders.minimal_pdf() + b"EICAR-TEST")
    builders.sealed_proposal(invitations[0])  # clean: stored
    settings.UPLOAD_SCAN_COMMAND = "sh -c 'exit 2'"
    with pytest.raises(bidding.PortalError, match="could not be checked") as refused:
        builders.sealed_proposal(invitations[0])
    assert refused.value.status == 503
    assert SealedUpload.objects.count() == 1


def test_the_internal_record_keeps_the_approval_and_the_opening(world, users, client):
    """The approval manifest stays in the sponsor's record (never in a vendor's packet); the
    received files appear in it once opened."""
    rfp, _candidates, invitations = world
    upload = builders.sealed_proposal(invitations[0], name="Offer-7.pdf")
    client.force_login(users["evaluator"])

    def record() -> str:
        response = client.get(f"/rfps/{rfp.pk}/record.pdf")
        assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
        return " ".join(p.extract_text() for p in PdfReader(io.BytesIO(response.content)).pages)

    sealed = record()
    assert users["manager"].printed_name in sealed and rfp.shortlist.snapshot_hash[:20] in sealed.replace(" ", "")
    assert "Offer-7" not in sealed and "Sealed" in sealed
    builders.deadlines_passed(rfp)
    for opener in (users["procurement"], users["manager"]):
        bidding.open_proposals(rfp=rfp, user=opener, password=PASSWORD, request=builders.signing_request())
    opened = record()
    assert "Offer-7.pdf" in opened and upload.sha256[:16] in opened.replace(" ", "")
