"""The award (rfp.awards): proposed by the lead for vendors of the approved shortlist that submitted,
after the opening; signed by a manager who did not propose it; on approval award and regret notices
rendered to PDF by the workers, shown in the portal and e-mailed; the RFP and evaluation closed; the
winner's sites selected in the register; refusals that change nothing; pages, API, query counts."""

import io
from datetime import date

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core import mail
from django.db import DatabaseError, transaction
from pypdf import PdfReader

from accounts.models import Notification, RefusedAttempt, Signature
from core.errors import ServiceError
from portal.access import SESSION_KEY
from rfp import awards, bidding, services
from rfp.models import Award, AwardDecision, AwardLine, AwardNotice, Rfp
from scoring import shortlists
from scoring.models import Evaluation
from tests.factories import PASSWORD, SiteFactory
from vendorselect import builders

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(approved, users):
    """An RFP to the two approved vendors (Vendor 2, Vendor 3), the manager second opener, one signed-in
    contact per vendor. Vendor 3 returns its filled questionnaire (sealed); Vendor 2 submits nothing."""
    lead = users["procurement"]
    rfp = builders.rfp_for(approved, lead, co_opener=users["manager"])
    second, third = sorted(bidding.invitable_candidates(rfp), key=lambda c: c.vendor.name)
    invitations = {c.pk: builders.signed_in(builders.invited(rfp, lead, c)) for c in (second, third)}
    builders.sealed_questionnaire(invitations[third.pk], price=125000)
    SiteFactory(vendor=third.vendor, name="Third Vendor Second Site")
    return rfp, second, third, invitations


def open_proposals(rfp, users) -> Rfp:
    builders.deadlines_passed(rfp)
    for opener in (users["procurement"], users["manager"]):
        bidding.open_proposals(rfp=rfp, user=opener, password=PASSWORD, request=builders.signing_request())
    return rfp


def propose(rfp, user, *candidates, rationale="Best weighted score at a competitive program cost.", **extra):
    awarded = [{"candidate": c.pk, "scope": "Drug product manufacturing and release"} for c in candidates]
    return awards.award_propose(rfp=rfp, user=user, awarded=awarded, rationale=rationale, **extra)


def decide(award, user, decision="approve", password=PASSWORD, seen=None, comment=""):
    return awards.award_decide(
        request=builders.signing_request(),
        award=award,
        user=user,
        decision=decision,
        password=password,
        seen_hash=award.snapshot_hash if seen is None else seen,
        comment=comment,
    )


def pdf_text(notice: AwardNotice) -> str:
    with notice.pdf.open("rb") as handle:
        return " ".join(page.extract_text() for page in PdfReader(io.BytesIO(handle.read())).pages)


def refused(call, status: int, match: str):
    with pytest.raises(ServiceError, match=match) as error:
        call()
    assert error.value.status == status, error.value.message
    return error.value


def test_the_award_is_refused_with_clear_messages_and_nothing_saved(world, users, reviewed):
    rfp, second, third, _ = world
    lead = users["procurement"]
    _, all_candidates = reviewed
    outsider = all_candidates[0]  # scored, but not on the approved shortlist

    refused(lambda: propose(rfp, lead, third), 409, "still sealed")  # before the opening
    open_proposals(rfp, users)
    refused(lambda: propose(rfp, users["manager"], third), 403, "Only the evaluation's lead")
    refused(lambda: propose(rfp, lead, outsider), 400, "not on the RFP's approved shortlist")
    refused(lambda: propose(rfp, lead, second), 400, "Vendor 2 submitted nothing")
    refused(lambda: propose(rfp, lead, third, rationale="   "), 400, "rationale")
    refused(lambda: propose(rfp, lead), 400, "at least one vendor")
    refused(lambda: propose(rfp, lead, third, required_approvals=0), 400, "at least 1")
    bad_step = [{"candidate": third.pk, "step": 999999}]
    refused(lambda: awards.award_propose(rfp=rfp, user=lead, awarded=bad_step, rationale="x"), 400, "program step")
    assert not Award.objects.exists() and not AwardLine.objects.exists()


def test_propose_submit_approve_notices_portal_mail_register_and_trail(
    world, users, client, django_capture_on_commit_callbacks
):
    rfp, second, third, invitations = world
    lead, manager = users["procurement"], users["manager"]
    open_proposals(rfp, users)
    # Vendor 2's proposal came by mail: recorded by the lead, it may now be awarded too (not chosen here).
    services.proposal_record(rfp=rfp, user=lead, candidate_id=second.pk, received_on=date.today(), price=98000)
    award = awards.award_submit(award=propose(rfp, lead, third), user=lead)

    # The snapshot: scores, ranks, costs, compliance, frozen with its hash.
    snapshot = award.snapshot
    assert award.status == Award.Status.SUBMITTED
    assert award.snapshot_hash == shortlists.snapshot_hash(snapshot) and awards.snapshot_intact(award)
    rows = {row["vendor"]["name"]: row for row in snapshot["vendors"]}
    assert rows["Vendor 3"]["awarded"] and not rows["Vendor 2"]["awarded"]
    assert rows["Vendor 3"]["rank"] == 1 and rows["Vendor 2"]["rank"] == 2  # Vendor 3 ranks first
    assert rows["Vendor 3"]["total"] > rows["Vendor 2"]["total"]
    assert rows["Vendor 3"]["compliance"]["questionnaire"] and rows["Vendor 3"]["compliance"]["yes"] > 0
    assert rows["Vendor 3"]["compliance"]["no"] == 0 and not rows["Vendor 2"]["compliance"]["questionnaire"]
    # No program horizon set: no total (never zero), with what is missing.
    assert rows["Vendor 2"]["program_cost"]["total"] is None and rows["Vendor 2"]["program_cost"]["missing"]
    assert rows["Vendor 3"]["scope"] == "Drug product manufacturing and release"
    assert snapshot["rationale"].startswith("Best weighted score")
    assert Notification.objects.filter(recipient=manager, url=award.get_absolute_url()).exists()
    with pytest.raises(DatabaseError), transaction.atomic():  # locked once submitted, whatever the path
        Award.objects.filter(pk=award.pk).update(rationale="changed after submission")

    # Refusals: the proposer, a wrong password (recorded), a stale hash, an empty comment to reject.
    refused(lambda: decide(award, lead), 403, "You proposed this award")
    refused(lambda: decide(award, manager, password="wrong"), 400, "password is not correct")
    refused(lambda: decide(award, manager, seen="0" * 64), 409, "not the current snapshot")
    refused(lambda: decide(award, manager, decision="reject"), 400, "needs a comment")
    refused(lambda: decide(award, users["evaluator"]), 403, "Only managers")
    assert not AwardDecision.objects.exists() and Award.objects.get(pk=award.pk).status == Award.Status.SUBMITTED
    assert RefusedAttempt.objects.filter(object_id=award.pk, action="award approve").count() >= 3

    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        award = decide(award, manager, comment="Agreed: best value.")
    assert award.status == Award.Status.APPROVED
    refused(lambda: decide(award, manager), 409, "not awaiting a decision")  # the double decision

    # Notices: one per vendor, rendered by the worker step (eager), real PDFs.
    notices = {n.candidate_id: n for n in AwardNotice.objects.filter(award=award)}
    assert {n.status for n in notices.values()} == {AwardNotice.Status.DONE}, [n.error for n in notices.values()]
    win, regret = notices[third.pk], notices[second.pk]
    assert (win.kind, regret.kind) == (AwardNotice.Kind.AWARD, AwardNotice.Kind.REGRET)
    win_text, regret_text = pdf_text(win), pdf_text(regret)
    assert "Award notice" in win_text and "Vendor 3" in win_text
    assert "Drug product manufacturing and release" in win_text
    assert "Contract" in win_text and "Quality agreement" in win_text
    assert "Vendor 2" not in win_text
    assert "Vendor 2" in regret_text and "not to award" in regret_text
    assert "Vendor 3" not in regret_text and "125" not in regret_text and "98" not in regret_text
    assert "Drug product manufacturing" not in regret_text

    # E-mailed to each vendor's signed-in contact, with the PDF.
    sent = {message.to[0]: message for message in mail.outbox if "notice" in message.subject.lower()}
    assert set(sent) == {invitations[second.pk].email, invitations[third.pk].email}
    assert sent[invitations[third.pk].email].attachments[0][2] == "application/pdf"
    assert "Award notice" in sent[invitations[third.pk].email].subject
    assert all(n.emailed_at for n in AwardNotice.objects.filter(award=award))

    # The RFP and the evaluation are closed; the winner's sites are selected in the register.
    rfp.refresh_from_db()
    assert rfp.closed_at and rfp.closed_by == manager
    assert Evaluation.objects.get(pk=rfp.shortlist.evaluation_id).status == Evaluation.Status.CLOSED
    selected = list(third.vendor.sites.values_list("selected_on", "selected_for"))
    assert len(selected) == 2 and all(on == date.today() and rfp.reference in why for on, why in selected)
    assert not second.vendor.sites.filter(selected_on__isnull=False).exists()
    refused(lambda: propose(rfp, lead, third), 409, "closed")

    # The signature verifies; everything is in the trail.
    (signature,) = awards.manifest(award)
    assert signature["valid"] and signature["meaning"] == "Approved"
    award_type = ContentType.objects.get_for_model(Award)
    assert Signature.objects.filter(content_type=award_type, object_id=award.pk, signer=manager).count() == 1
    assert award.events.filter(pgh_label="update").exists()
    assert AwardDecision.pgh_event_model.objects.filter(pgh_obj__award=award).exists()
    assert AwardNotice.pgh_event_model.objects.filter(award_id=award.pk).count() >= 2
    assert rfp.events.filter(closed_at__isnull=False).exists()

    # The portal: each vendor sees and downloads its own notice, not the other's.
    session = client.session
    session[SESSION_KEY] = invitations[third.pk].pk
    session.save()
    home = client.get("/portal/").content.decode()
    assert "You have been awarded this RFP" in home and f"/portal/notices/{win.pk}/" in home
    download = client.get(f"/portal/notices/{win.pk}/")
    assert download.status_code == 200 and b"".join(download.streaming_content).startswith(b"%PDF-")
    assert client.get(f"/portal/notices/{regret.pk}/").status_code == 404
    session = client.session
    session[SESSION_KEY] = invitations[second.pk].pk
    session.save()
    home = client.get("/portal/").content.decode()
    assert "The outcome of this RFP" in home and "awarded this RFP" not in home


def test_qa_approval_when_the_policy_asks_and_two_approvals(world, users):
    from accounts.roles import MANAGER, QA
    from tests.factories import UserFactory

    rfp, _second, third, _ = world
    lead = users["procurement"]
    Evaluation.objects.filter(pk=rfp.shortlist.evaluation_id).update(qa_approval_required=True)
    open_proposals(rfp, users)
    award = awards.award_submit(award=propose(rfp, lead, third, required_approvals=2), user=lead)
    other_manager = UserFactory(username="manager2", roles=[MANAGER])
    quality = UserFactory(username="qa2", roles=[QA])
    award = decide(award, users["manager"])
    award = decide(award, other_manager)
    assert award.status == Award.Status.SUBMITTED  # two approvals, but not quality assurance's
    award = decide(award, quality)
    assert award.status == Award.Status.APPROVED
    meanings = {s["meaning"] for s in awards.manifest(award)}
    assert meanings == {"Approved", "Approved for quality"}


def test_awards_awaiting_a_signature_are_on_the_approvers_homes(world, users, client_as):
    """Managers (and quality assurance) find a submitted award among the signatures awaited on their home,
    until they have decided; the lead who proposed it does not."""
    rfp, _second, third, _ = world
    lead = users["procurement"]
    open_proposals(rfp, users)
    award = awards.award_submit(award=propose(rfp, lead, third), user=lead)
    for role in ("manager", "qa"):
        home = client_as(role).get("/").content.decode()
        assert award.get_absolute_url() in home and f"{rfp.title} — version 1" in home, role
    assert award.get_absolute_url() not in client_as("procurement").get("/").content.decode()
    decide(award, users["manager"], decision="return", comment="Add the tech-transfer cost.")
    assert award.get_absolute_url() not in client_as("manager").get("/").content.decode()


def test_return_then_a_new_version(world, users):
    rfp, _second, third, _ = world
    lead = users["procurement"]
    open_proposals(rfp, users)
    first = awards.award_submit(award=propose(rfp, lead, third), user=lead)
    refused(lambda: propose(rfp, lead, third), 409, "awaits approval")
    returned = decide(first, users["manager"], decision="return", comment="Add the tech-transfer cost.")
    assert returned.status == Award.Status.RETURNED and not AwardNotice.objects.exists()
    second_version = propose(rfp, lead, third, rationale="Now with the tech-transfer cost.")
    assert second_version.version == 2 and second_version.status == Award.Status.DRAFT
    assert Rfp.objects.get(pk=rfp.pk).closed_at is None


def test_pages_propose_decide_and_bounded_queries(
    world, users, client, django_assert_max_num_queries, django_capture_on_commit_callbacks
):
    rfp, second, third, _ = world
    lead, manager = users["procurement"], users["manager"]
    client.force_login(lead)
    page = client.get(f"/rfps/{rfp.pk}/award/").content.decode()
    assert "still sealed" in page
    assert f"/rfps/{rfp.pk}/award/" in client.get(f"/rfps/{rfp.pk}/").content.decode()  # linked from the RFP
    open_proposals(rfp, users)
    with django_assert_max_num_queries(60):  # the ranking, costs and compliance read in grouped queries
        page = client.get(f"/rfps/{rfp.pk}/award/")
    assert page.status_code == 200 and f'name="award_{third.pk}"' in page.content.decode()
    assert f'name="award_{second.pk}"' not in page.content.decode()  # submitted nothing: not offered

    # An empty rationale: the message, nothing saved.
    form = {f"award_{third.pk}": "on", f"scope_{third.pk}": "Fill-finish", "rationale": "", "action": "submit"}
    response = client.post(f"/rfps/{rfp.pk}/award/propose/", form, follow=True)
    assert "Give the rationale" in response.content.decode() and not Award.objects.exists()
    response = client.post(f"/rfps/{rfp.pk}/award/propose/", {**form, "rationale": "Best value."})
    award = Award.objects.get()
    assert response.status_code == 302 and response["Location"] == award.get_absolute_url()
    assert award.status == Award.Status.SUBMITTED and award.lines.get().scope == "Fill-finish"

    client.force_login(users["evaluator"])
    assert client.post(f"/rfps/{rfp.pk}/award/propose/", form).status_code == 403
    client.force_login(manager)
    with django_assert_max_num_queries(30):
        detail = client.get(award.get_absolute_url()).content.decode()
    assert award.snapshot_hash in detail and 'id="decide-form"' in detail
    decision = {"decision": "approve", "password": "wrong", "snapshot_hash": award.snapshot_hash}
    response = client.post(f"{award.get_absolute_url()}decide/", decision, follow=True)
    assert "password is not correct" in response.content.decode()
    assert Award.objects.get().status == Award.Status.SUBMITTED
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"{award.get_absolute_url()}decide/", {**decision, "password": PASSWORD})
    assert Award.objects.get().status == Award.Status.APPROVED
    with django_assert_max_num_queries(30):
        detail = client.get(award.get_absolute_url()).content.decode()
    notice = AwardNotice.objects.get(candidate=third)
    assert "Award notice" in detail and f"/rfps/award-notices/{notice.pk}/" in detail
    download = client.get(f"/rfps/award-notices/{notice.pk}/")
    assert download.status_code == 200 and download["Content-Type"] == "application/pdf"
    vendor_page = client.get(third.vendor.get_absolute_url()).content.decode()
    assert "Selected" in vendor_page


def test_api_propose_submit_decide_list_and_download(
    world, users, api_as, django_assert_max_num_queries, django_capture_on_commit_callbacks
):
    rfp, second, third, _ = world
    lead_api, manager_api = api_as("procurement"), api_as("manager")
    body = {"rfp": rfp.pk, "awarded": [{"candidate": third.pk, "scope": "API fill"}], "rationale": "Best value."}
    before = lead_api.post("/api/v1/awards/", body, format="json")
    assert before.status_code == 409 and "sealed" in before.json()["detail"]
    open_proposals(rfp, users)
    nothing = lead_api.post("/api/v1/awards/", {**body, "awarded": [{"candidate": second.pk}]}, format="json")
    assert nothing.status_code == 400 and "submitted nothing" in nothing.json()["awarded"][0]
    assert lead_api.post("/api/v1/awards/", {**body, "rationale": ""}, format="json").status_code == 400
    assert api_as("evaluator").post("/api/v1/awards/", body, format="json").status_code == 403
    assert not Award.objects.exists()
    created = lead_api.post("/api/v1/awards/", body, format="json")
    assert created.status_code == 201, created.content
    award_id = created.json()["id"]
    submitted = lead_api.post(f"/api/v1/awards/{award_id}/submit/")
    assert submitted.status_code == 200 and submitted.json()["status"] == "submitted"
    seen = submitted.json()["snapshot_hash"]
    assert lead_api.post(f"/api/v1/awards/{award_id}/submit/").status_code == 409
    own = lead_api.post(
        f"/api/v1/awards/{award_id}/decide/", {"decision": "approve", "password": PASSWORD, "snapshot_hash": seen}
    )
    assert own.status_code == 403
    wrong = manager_api.post(
        f"/api/v1/awards/{award_id}/decide/", {"decision": "approve", "password": "x", "snapshot_hash": seen}
    )
    assert wrong.status_code == 400 and "password" in wrong.json()
    with django_capture_on_commit_callbacks(execute=True):
        approved = manager_api.post(
            f"/api/v1/awards/{award_id}/decide/", {"decision": "approve", "password": PASSWORD, "snapshot_hash": seen}
        )
    assert approved.status_code == 200 and approved.json()["status"] == "approved", approved.content
    again = manager_api.post(
        f"/api/v1/awards/{award_id}/decide/", {"decision": "approve", "password": PASSWORD, "snapshot_hash": seen}
    )
    assert again.status_code == 409
    with django_assert_max_num_queries(10):
        listed = manager_api.get(f"/api/v1/awards/?rfp={rfp.pk}").json()
    assert [a["id"] for a in listed["results"]] == [award_id]
    with django_assert_max_num_queries(25):
        detail = manager_api.get(f"/api/v1/awards/{award_id}/").json()
    assert detail["snapshot_intact"] and detail["signatures"][0]["valid"]
    assert {n["kind"] for n in detail["notices"]} == {"award", "regret"}
    notice_id = next(n["id"] for n in detail["notices"] if n["kind"] == "award")
    pdf = manager_api.get(f"/api/v1/awards/{award_id}/notices/{notice_id}/pdf/")
    assert pdf.status_code == 200 and b"".join(pdf.streaming_content).startswith(b"%PDF-")
    # Outside the team: not found.
    from tests.factories import UserFactory

    stranger = UserFactory(username="outsider", roles=["Procurement lead"])
    api_stranger = api_as(None)
    api_stranger.force_authenticate(stranger)
    assert api_stranger.get(f"/api/v1/awards/{award_id}/").status_code == 404
