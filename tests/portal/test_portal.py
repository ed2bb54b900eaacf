"""The supplier portal's pages: sign-in by e-mailed link and one-time code (and every refusal of it),
the session bound to one vendor and RFP, packet downloads, intent, questions and answers, and sealed
uploads with their checks (type from content, size, name, deadline)."""

from __future__ import annotations

import io
import zipfile
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.core import mail
from django.core.files.uploadedfile import TemporaryUploadedFile
from django.utils import timezone
from pypdf import PdfReader

from portal.access import SESSION_KEY
from rfp import bidding
from rfp import services as rfp_services
from rfp.models import Invitation, PacketDownload, Participation, Question, Rfp, SealedUpload
from tests.portal.conftest import last_code, last_link, multipart, pdf_bytes, sign_in
from vendorselect import builders

pytestmark = pytest.mark.django_db


def page_text(response) -> str:
    return response.content.decode()


def sealed_files() -> set[str]:
    root = Path(settings.MEDIA_ROOT) / "sealed"
    return {str(p) for p in root.rglob("*") if p.is_file()} if root.exists() else set()


# --- Sign-in --------------------------------------------------------------------------------------


def test_sign_in_by_link_and_one_time_code(client, invited, rfp):
    jane = invited[0]
    sent = len(mail.outbox)
    opened = client.get(jane.link)
    assert opened.status_code == 200
    text = page_text(opened)
    assert rfp.title in text and rfp.sponsor in text and jane.vendor in text
    assert "j•••@vendor-a.example" in text and "jane@vendor-a.example" not in text
    # Opening the link changes nothing (mail scanners open links): no code sent, link not spent.
    invitation = Invitation.objects.get(pk=jane.invitation.pk)
    assert len(mail.outbox) == sent and not invitation.code_hash and invitation.link_used_at is None

    asked = client.post(jane.link, {"action": "send"})
    assert asked.status_code == 200 and 'name="code"' in page_text(asked)
    assert mail.outbox[-1].to == ["jane@vendor-a.example"]
    code = last_code("jane@vendor-a.example")
    before = client.session.session_key
    signed = client.post(jane.link, {"action": "verify", "code": f" {code[:3]} {code[3:]} "})
    assert signed.status_code == 302 and signed["Location"] == "/portal/"
    assert client.session[SESSION_KEY] == jane.invitation.pk
    assert client.session.session_key != before  # a new session key at sign-in

    home = client.get("/portal/")
    assert home.status_code == 200
    text = page_text(home)
    assert rfp.title in text and f"RFP-{rfp.pk:05d}" in text and "Jane Doe" in text
    assert "being prepared" in text  # no packet generated yet
    # Nothing of the sponsor's evaluation, nor the other vendor.
    assert invited[1].vendor not in text and "score" not in text.lower() and "shortlist" not in text.lower()

    reused = client.get(jane.link)
    assert reused.status_code == 410 and "already used" in page_text(reused)


def test_refused_links_say_why(client, invited, users):
    jane, omar = invited
    assert client.get("/portal/i/not-a-real-token/").status_code == 404
    assert "not valid" in page_text(client.get("/portal/i/not-a-real-token/"))

    bidding.invitation_revoke(invitation=jane.invitation, user=users["procurement"])
    for response in (client.get(jane.link), client.post(jane.link, {"action": "send"})):
        assert response.status_code == 403 and "withdrawn by the sponsor" in page_text(response)

    Invitation.objects.filter(pk=omar.invitation.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    expired = client.get(omar.link)
    assert expired.status_code == 403 and "expired on" in page_text(expired)
    assert not any("code" in m.subject.lower() for m in mail.outbox)


def test_five_wrong_codes_lock_signing_in(client, invited):
    jane = invited[0]
    client.post(jane.link, {"action": "send"})
    code = last_code(jane.invitation.email)
    wrong = "000000" if code != "000000" else "111111"
    for left in (4, 3, 2, 1):
        response = client.post(jane.link, {"action": "verify", "code": wrong})
        assert response.status_code == 400
        assert f"{left} attempt" in page_text(response)
    locked = client.post(jane.link, {"action": "verify", "code": wrong})
    assert locked.status_code == 429 and "locked until" in page_text(locked)
    # While locked, the right code is refused and no new code is sent.
    right = client.post(jane.link, {"action": "verify", "code": code})
    assert right.status_code == 429 and SESSION_KEY not in client.session
    sent = len(mail.outbox)
    assert client.post(jane.link, {"action": "send"}).status_code == 429
    assert len(mail.outbox) == sent
    assert client.get("/portal/").status_code == 302


def test_a_code_asked_again_too_soon_keeps_the_code_form(client, invited):
    jane = invited[0]
    client.post(jane.link, {"action": "send"})
    again = client.post(jane.link, {"action": "send"})
    assert again.status_code == 200 and "less than 30 seconds ago" in page_text(again)
    assert 'name="code"' in page_text(again)


def test_sign_in_page_answers_the_same_for_any_address(client, invited, django_capture_on_commit_callbacks):
    jane = invited[0]
    Invitation.objects.filter(pk=jane.invitation.pk).update(link_sent_at=timezone.now() - timedelta(minutes=5))
    answers = []
    for email in ("jane@vendor-a.example", "nobody@nowhere.example"):
        sent = len(mail.outbox)
        with django_capture_on_commit_callbacks(execute=True):  # the links go out from a worker
            response = client.post("/portal/sign-in/", {"email": email}, follow=True)
        assert response.status_code == 200
        answers.append(page_text(response).count("If this address has an active invitation"))
        answers.append(sum(email in m.to for m in mail.outbox[sent:]))  # (the relay sends pending notices too)
    assert answers == [1, 1, 1, 0]
    # The new link works; the old one no longer does.
    new_link = last_link()
    assert new_link != jane.link and client.get(jane.link).status_code == 404
    jane.link = new_link
    sign_in(client, jane)
    refused = client.post("/portal/sign-in/", {"email": "not an address"})
    assert refused.status_code == 400 and "valid email" in page_text(refused)


def test_pages_without_a_session_go_to_sign_in(client, invited, users):
    for url in ("/portal/", "/portal/packets/1/pdf/"):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"] == "/portal/sign-in/"
    for url in ("/portal/intent/", "/portal/questions/", "/portal/uploads/"):
        response = client.post(url, {"intent": "bid", "question": "Q?"})
        assert response.status_code == 302 and response["Location"] == "/portal/sign-in/"
    # A sponsor user signed in is nobody to the portal.
    client.force_login(users["procurement"])
    assert client.get("/portal/")["Location"] == "/portal/sign-in/"


def test_a_revoked_invitation_ends_the_session_and_sign_out_ends_it_too(client, invited, users):
    jane, omar = invited
    sign_in(client, jane)
    bidding.invitation_revoke(invitation=jane.invitation, user=users["procurement"])
    response = client.get("/portal/", follow=True)
    assert response.redirect_chain[-1][0] == "/portal/sign-in/" and "session has ended" in page_text(response)
    assert SESSION_KEY not in client.session

    sign_in(client, omar)
    assert client.post("/portal/sign-out/").status_code == 302
    assert SESSION_KEY not in client.session and client.get("/portal/").status_code == 302


# --- Packets ------------------------------------------------------------------------------------


def test_a_vendor_downloads_its_own_packet_only(
    client, invited, packets, rfp, users, django_capture_on_commit_callbacks
):
    jane = invited[0]
    own = next(p for p in packets if p.candidate_id == jane.invitation.candidate_id)
    other = next(p for p in packets if p.candidate_id != jane.invitation.candidate_id)
    sign_in(client, jane)
    home = page_text(client.get("/portal/"))
    assert f"/portal/packets/{own.pk}/pdf/" in home and f"/portal/packets/{other.pk}/" not in home

    pdf = client.get(f"/portal/packets/{own.pk}/pdf/")
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    assert "attachment" in pdf["Content-Disposition"]
    text = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(b"".join(pdf.streaming_content))).pages)
    assert rfp.title in text and jane.vendor in text
    bundle = client.get(f"/portal/packets/{own.pk}/bundle/")
    assert zipfile.ZipFile(io.BytesIO(b"".join(bundle.streaming_content))).namelist()
    assert list(PacketDownload.objects.values_list("invitation_id", "packet_id", "part").order_by("pk")) == [
        (jane.invitation.pk, own.pk, "pdf"),
        (jane.invitation.pk, own.pk, "bundle"),
    ]

    # Another vendor's packet, an unknown part, a packet of another RFP for the same vendor: not found.
    second = builders.rfp_for(rfp.shortlist, users["procurement"], title="Second RFP")
    with django_capture_on_commit_callbacks(execute=True):
        rfp_services.rfp_generate(rfp=second, user=users["procurement"])
    elsewhere = second.packets.get(candidate_id=jane.invitation.candidate_id)
    for url in (
        f"/portal/packets/{other.pk}/pdf/",
        f"/portal/packets/{own.pk}/secret/",
        f"/portal/packets/{elsewhere.pk}/pdf/",
        f"/portal/api/packets/{other.pk}/pdf/",
        f"/portal/api/packets/{elsewhere.pk}/pdf/",
    ):
        assert client.get(url).status_code == 404, url
    assert PacketDownload.objects.count() == 2

    api = client.get(f"/portal/api/packets/{own.pk}/questionnaire/", HTTP_ACCEPT="application/pdf")
    assert api.status_code == 200 and b"".join(api.streaming_content).startswith(b"PK")
    assert api["Content-Type"].endswith("spreadsheetml.sheet")


# --- Intent -----------------------------------------------------------------------------------------


def test_intent_to_bid_or_decline_with_a_reason(client, invited, rfp):
    jane = invited[0]
    sign_in(client, jane)
    refused = client.post("/portal/intent/", {"intent": "decline", "reason": ""})
    assert refused.status_code == 400 and "why you decline" in page_text(refused)
    assert client.post("/portal/intent/", {"intent": "decline", "reason": "No capacity in Q3."}).status_code == 302
    participation = Participation.objects.get(rfp=rfp, candidate_id=jane.invitation.candidate_id)
    assert (participation.intent, participation.intent_reason, participation.intent_by_id) == (
        "decline",
        "No capacity in Q3.",
        jane.invitation.pk,
    )
    home = page_text(client.get("/portal/"))
    assert "You declined this RFP" in home and 'action="/portal/uploads/"' not in home
    assert client.post("/portal/intent/", {"intent": "bid"}).status_code == 302
    assert 'action="/portal/uploads/"' in page_text(client.get("/portal/"))


# --- Questions and answers -------------------------------------------------------------------------------


def test_questions_answers_published_without_the_asker_private_ones_not(client, invited, rfp, users):
    jane, omar = invited
    sign_in(client, jane)
    asked = client.post("/portal/questions/", {"question": "Is a 2,000 L single-use bioreactor acceptable?"})
    assert asked.status_code == 302
    client.post("/portal/questions/", {"question": "Can our QP release batches for the EU trial?"})
    public, private = Question.objects.filter(rfp=rfp).order_by("pk")
    assert public.asked_by_id == jane.invitation.pk and public.candidate_id == jane.invitation.candidate_id
    # The trail names who asked (there is no user): the invited person, her company, the portal.
    event = public.events.get(pgh_label="insert")
    assert event.pgh_context["portal"] == f"Jane Doe <jane@vendor-a.example>, {jane.vendor} (supplier portal)"
    lead = users["procurement"]
    bidding.question_answer(question=public, user=lead, answer="Yes, single-use is acceptable.")
    bidding.question_answer(question=private, user=lead, answer="Yes, for Vendor 2 only.", visibility="private")

    own = page_text(client.get("/portal/"))
    assert "Yes, single-use is acceptable." in own and "Yes, for Vendor 2 only." in own
    assert "Answered to you only" in own

    client.post("/portal/sign-out/")
    sign_in(client, omar)
    other = page_text(client.get("/portal/"))
    assert "2,000 L single-use bioreactor" in other and "Yes, single-use is acceptable." in other
    assert "QP release" not in other and "Vendor 2 only" not in other
    assert jane.vendor not in other and "Jane" not in other and "vendor-a" not in other
    listed = client.get("/portal/api/questions/").json()
    assert [(q["own"], q["answer"]) for q in listed] == [(False, "Yes, single-use is acceptable.")]
    assert set(listed[0]) == {"id", "own", "question", "asked_on", "answer", "answered_on", "visibility"}


def test_questions_after_their_deadline_are_refused_with_the_date(client, invited, rfp):
    sign_in(client, invited[0])
    yesterday = timezone.localdate() - timedelta(days=1)
    Rfp.objects.filter(pk=rfp.pk).update(questions_due=yesterday)
    home = page_text(client.get("/portal/"))
    assert f"Questions closed on {yesterday:%-d %B %Y}" in home and 'action="/portal/questions/"' not in home
    refused = client.post("/portal/questions/", {"question": "Late question?"})
    assert refused.status_code == 409 and f"Questions closed on {yesterday:%d %B %Y}" in page_text(refused)
    assert not Question.objects.exists()


# --- Sealed uploads ---------------------------------------------------------------------------------


def fake_docx() -> bytes:
    """A ZIP that is not an Office Open XML document."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("readme.txt", "not a document")
    return buffer.getvalue()


BAD_UPLOADS = [
    ("an executable renamed .pdf", "proposal", "proposal.pdf", b"MZ\x90\x00\x03" + b"\x00" * 200, "not a PDF"),
    ("HTML", "proposal", "proposal.pdf", b"<html><script>alert(1)</script></html>", "not a PDF"),
    ("HTML by its name", "proposal", "proposal.html", b"<html></html>", "must be one of: .docx, .pdf, .xlsx"),
    (
        "SVG with a script",
        "proposal",
        "drawing.svg",
        b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
        "must be one of",
    ),
    ("SVG renamed .pdf", "proposal", "drawing.pdf", b"<svg><script>alert(1)</script></svg>", "not a PDF"),
    ("a .docx that is not OOXML", "proposal", "proposal.docx", fake_docx(), "not a .docx document"),
    ("a .docx of random bytes", "proposal", "proposal.docx", b"\x00\x01garbage" * 20, "not a .docx document"),
    ("a PDF as the questionnaire", "questionnaire", "answers.pdf", pdf_bytes(), "must be one of: .xlsx"),
    ("a path in the name", "proposal", "../../etc/proposal.pdf", pdf_bytes(), "may not contain folders"),
    ("a Windows path in the name", "proposal", "..\\..\\proposal.pdf", pdf_bytes(), "may not contain folders"),
    ("a NUL in the name", "proposal", "proposal\x00.exe.pdf", pdf_bytes(), "control characters"),
    ("an empty file", "proposal", "empty.pdf", b"", "empty"),
]


@pytest.mark.parametrize(("case", "part", "name", "content", "message"), BAD_UPLOADS, ids=[c[0] for c in BAD_UPLOADS])
def test_bad_uploads_are_refused_with_a_message_and_nothing_is_stored(
    client, invited, case, part, name, content, message
):
    sign_in(client, invited[0])
    files = sealed_files()
    body, content_type = multipart({"part": part}, "file", name, content, "application/octet-stream")
    response = client.post("/portal/uploads/", data=body, content_type=content_type)
    assert response.status_code == 400, page_text(response)[:3000]
    assert message in page_text(response)
    assert not SealedUpload.objects.exists() and sealed_files() == files


def test_an_oversized_upload_is_dropped_while_it_arrives(client, invited, settings, monkeypatch):
    settings.PORTAL_MAX_UPLOAD_MB = 1
    sign_in(client, invited[0])
    called = []
    monkeypatch.setattr(bidding, "upload_add", lambda **kwargs: called.append(kwargs))
    files = sealed_files()
    big = pdf_bytes(padding=1024 * 1024 + 10)
    body, content_type = multipart({"part": "proposal"}, "file", "big.pdf", big, "application/pdf")
    response = client.post("/portal/uploads/", data=body, content_type=content_type)
    assert response.status_code == 400 and "larger than 1 MB" in page_text(response)
    assert called == [] and not SealedUpload.objects.exists() and sealed_files() == files


def test_the_service_refuses_names_with_folders_and_sizes_past_the_limit(invited, settings):
    """The same rules when the file comes by another path than the portal's parser."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    settings.PORTAL_MAX_UPLOAD_MB = 1
    invitation = invited[0].invitation
    for name, content, message in (
        ("a/b.pdf", pdf_bytes(), "folders"),
        ("b\x00.pdf", pdf_bytes(), "control characters"),
        ("big.pdf", pdf_bytes(padding=1024 * 1024 + 10), "larger than 1 MB"),
    ):
        upload = SimpleUploadedFile("x.pdf", content)
        upload._name = name  # as a caller would hand it in, unsanitised
        with pytest.raises(bidding.PortalError, match=message):
            bidding.upload_add(invitation=invitation, part="proposal", upload=upload)
    assert not SealedUpload.objects.exists()


def test_uploads_are_stored_sealed_with_a_receipt(client, invited, rfp, monkeypatch):
    jane = invited[0]
    sign_in(client, jane)
    seen = []
    real = bidding.upload_add
    monkeypatch.setattr(bidding, "upload_add", lambda **kwargs: seen.append(type(kwargs["upload"])) or real(**kwargs))
    # Past FILE_UPLOAD_MAX_MEMORY_SIZE: streamed to a temporary file, not held in memory.
    large = pdf_bytes(padding=settings.FILE_UPLOAD_MAX_MEMORY_SIZE + 1000)
    body, content_type = multipart({"part": "proposal"}, "file", "Technical proposal.pdf", large, "application/pdf")
    response = client.post("/portal/uploads/", data=body, content_type=content_type, follow=True)
    assert response.status_code == 200
    assert seen == [TemporaryUploadedFile]
    sealed = SealedUpload.objects.get()
    assert sealed.original_name == "Technical proposal.pdf" and sealed.size == len(large)
    assert sealed.file.name.startswith(f"sealed/{rfp.pk}/") and "proposal" not in sealed.file.name.lower()
    text = page_text(response)
    assert f"SHA-256: {sealed.sha256}" in text and "Received Technical proposal.pdf" in text
    assert sealed.sha256 in text and "Technical proposal.pdf" in text and "by Jane Doe" in text

    content = builders.filled_questionnaire(rfp, jane.invitation.candidate)
    body, content_type = multipart({"part": "questionnaire"}, "file", "answers.xlsx", content, "application/x")
    assert client.post("/portal/uploads/", data=body, content_type=content_type).status_code == 302
    assert list(SealedUpload.objects.values_list("part", flat=True).order_by("pk")) == ["proposal", "questionnaire"]
    # Uploading means bidding.
    assert Participation.objects.get(rfp=rfp, candidate_id=jane.invitation.candidate_id).intent == "bid"


def test_an_upload_after_the_deadline_is_refused_with_the_deadline(client, invited, rfp):
    sign_in(client, invited[0])
    yesterday = timezone.localdate() - timedelta(days=1)
    Rfp.objects.filter(pk=rfp.pk).update(questions_due=yesterday - timedelta(days=1), proposal_due=yesterday)
    deadline = timezone.localtime(bidding.end_of(yesterday))
    home = page_text(client.get("/portal/"))
    assert "Uploads closed: the deadline was" in home and 'action="/portal/uploads/"' not in home
    files = sealed_files()
    body, content_type = multipart({"part": "proposal"}, "file", "late.pdf", pdf_bytes(), "application/pdf")
    refused = client.post("/portal/uploads/", data=body, content_type=content_type)
    assert refused.status_code == 409
    assert f"The deadline for proposals was {deadline:%d %B %Y %H:%M %Z}" in page_text(refused)
    assert not SealedUpload.objects.exists() and sealed_files() == files


def test_an_upload_needs_the_csrf_token(invited):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    jane = invited[0]  # the link's forms need the token too: signed in by hand
    page = client.get(jane.link)
    token = page.cookies["csrftoken"].value
    client.post(jane.link, {"action": "send", "csrfmiddlewaretoken": token})
    signed = client.post(
        jane.link, {"action": "verify", "code": last_code(jane.invitation.email), "csrfmiddlewaretoken": token}
    )
    assert signed.status_code == 302
    body, content_type = multipart({"part": "proposal"}, "file", "p.pdf", pdf_bytes(), "application/pdf")
    assert client.post("/portal/uploads/", data=body, content_type=content_type).status_code == 403
    token = client.cookies["csrftoken"].value  # rotated at sign-in
    body, content_type = multipart(
        {"part": "proposal", "csrfmiddlewaretoken": token}, "file", "p.pdf", pdf_bytes(), "application/pdf"
    )
    assert client.post("/portal/uploads/", data=body, content_type=content_type).status_code == 302
    assert SealedUpload.objects.count() == 1


# --- Bounded queries ----------------------------------------------------------------------------------


def test_the_home_page_reads_a_bounded_number_of_queries(
    client, invited, packets, rfp, users, django_assert_max_num_queries
):
    jane = invited[0]
    sign_in(client, jane)
    for i in range(6):
        client.post("/portal/questions/", {"question": f"Question {i}?"})
        body, content_type = multipart({"part": "proposal"}, "file", f"p{i}.pdf", pdf_bytes(), "application/pdf")
        client.post("/portal/uploads/", data=body, content_type=content_type)
    for question in Question.objects.all():
        bidding.question_answer(question=question, user=users["procurement"], answer="Answered.")
    # Session, invitation, participation, packet, uploads (+ their uploaders), questions, the award notice:
    # none per row.
    with django_assert_max_num_queries(8):
        response = client.get("/portal/")
    assert response.status_code == 200 and page_text(response).count("Answered.") == 6
    for url in ("/portal/api/overview/", "/portal/api/questions/", "/portal/api/uploads/"):
        with django_assert_max_num_queries(6):
            assert client.get(url).status_code == 200
