"""The portal's API (/portal/api/): the portal session only, CSRF on writes, the same rules as the
pages, and neither the sponsor's credentials here nor the portal session under /api/v1/."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone
from rest_framework.authtoken.models import Token

from rfp import bidding
from rfp.models import Rfp, SealedUpload
from tests.portal.conftest import last_code, multipart, pdf_bytes, sign_in

pytestmark = pytest.mark.django_db

ENDPOINTS = [
    ("get", "/portal/api/overview/"),
    ("get", "/portal/api/questions/"),
    ("post", "/portal/api/questions/"),
    ("post", "/portal/api/intent/"),
    ("get", "/portal/api/uploads/"),
    ("post", "/portal/api/uploads/"),
    ("get", "/portal/api/packets/1/pdf/"),
]


def test_sponsor_credentials_do_not_open_the_portal_api(client, invited, users):
    token = Token.objects.create(user=users["procurement"])
    for method, url in ENDPOINTS:
        anonymous = getattr(client, method)(url)
        assert anonymous.status_code == 401, url
        assert anonymous["WWW-Authenticate"].startswith("PortalSession")
        with_token = getattr(Client(), method)(url, HTTP_AUTHORIZATION=f"Token {token.key}")
        assert with_token.status_code == 401, url
    sponsor = Client()
    sponsor.force_login(users["manager"])
    for method, url in ENDPOINTS:
        assert getattr(sponsor, method)(url).status_code == 401, url


def test_the_portal_session_opens_nothing_of_the_sponsor_api(client, invited, rfp):
    sign_in(client, invited[0])
    for url in ("/api/v1/rfps/", f"/api/v1/rfps/{rfp.pk}/", "/api/v1/vendors/", "/api/v1/evaluations/"):
        assert client.get(url).status_code in (401, 403), url
    assert client.get(f"/rfps/{rfp.pk}/").status_code == 302  # the sponsor's pages: to its login


def test_overview_intent_questions_and_uploads(client, invited, packets, rfp):
    jane = invited[0]
    sign_in(client, jane)
    overview = client.get("/portal/api/overview/").json()
    assert overview["rfp"]["reference"] == f"RFP-{rfp.pk:05d}" and overview["rfp"]["sponsor"] == rfp.sponsor
    assert overview["vendor"] == jane.vendor and overview["signed_in_as"]["email"] == jane.invitation.email
    assert overview["deadlines"]["uploads_open"] and overview["deadlines"]["questions_open"]
    assert overview["intent"]["intent"] == "" and overview["uploads"] == []
    own = next(p for p in packets if p.candidate_id == jane.invitation.candidate_id)
    assert overview["packet"]["id"] == own.pk
    assert [p["part"] for p in overview["packet"]["parts"]] == ["pdf", "questionnaire", "bundle"]
    assert overview["packet"]["parts"][0]["url"] == f"/portal/api/packets/{own.pk}/pdf/"
    flat = str(overview)
    assert "score" not in flat and "shortlist" not in flat and invited[1].vendor not in flat

    refused = client.post("/portal/api/intent/", {"intent": "decline"}, content_type="application/json")
    assert refused.status_code == 400 and "reason" in refused.json()
    declared = client.post("/portal/api/intent/", {"intent": "bid"}, content_type="application/json")
    assert declared.status_code == 200 and declared.json()["intent"] == "bid"

    asked = client.post("/portal/api/questions/", {"question": "Which incoterms?"}, content_type="application/json")
    assert asked.status_code == 201 and asked.json()["own"] is True and asked.json()["answer"] == ""
    nul = client.post("/portal/api/questions/", {"question": "a\x00b"}, content_type="application/json")
    assert nul.status_code == 400

    body, content_type = multipart({"part": "proposal"}, "file", "Commercial offer.pdf", pdf_bytes(), "application/pdf")
    uploaded = client.post("/portal/api/uploads/", data=body, content_type=content_type)
    assert uploaded.status_code == 201, uploaded.content
    sealed = SealedUpload.objects.get()
    assert uploaded.json() == {
        "id": sealed.pk,
        "part": "proposal",
        "name": "Commercial offer.pdf",
        "size": sealed.size,
        "content_type": "application/pdf",
        "sha256": sealed.sha256,
        "uploaded_at": uploaded.json()["uploaded_at"],
        "uploaded_by": "Jane Doe",
    }
    assert [u["sha256"] for u in client.get("/portal/api/uploads/").json()] == [sealed.sha256]

    for name, content, message in (
        ("../x.pdf", pdf_bytes(), "may not contain folders"),
        ("setup.pdf", b"MZ\x90\x00" * 64, "not a PDF"),
    ):
        body, content_type = multipart({"part": "proposal"}, "file", name, content, "application/pdf")
        refused = client.post("/portal/api/uploads/", data=body, content_type=content_type)
        assert refused.status_code == 400 and message in refused.json()["file"][0]
    assert SealedUpload.objects.count() == 1


def test_api_refusals_after_the_deadlines(client, invited, rfp, settings):
    sign_in(client, invited[0])
    yesterday = timezone.localdate() - timedelta(days=1)
    Rfp.objects.filter(pk=rfp.pk).update(questions_due=yesterday - timedelta(days=1), proposal_due=yesterday)
    late = client.post("/portal/api/questions/", {"question": "Late?"}, content_type="application/json")
    assert late.status_code == 409 and "Questions closed on" in late.json()["question"][0]
    body, content_type = multipart({"part": "proposal"}, "file", "late.pdf", pdf_bytes(), "application/pdf")
    refused = client.post("/portal/api/uploads/", data=body, content_type=content_type)
    assert refused.status_code == 409 and "The deadline for proposals was" in refused.json()["file"][0]
    settings.PORTAL_MAX_UPLOAD_MB = 1
    Rfp.objects.filter(pk=rfp.pk).update(proposal_due=timezone.localdate() + timedelta(days=5))
    body, content_type = multipart(
        {"part": "proposal"}, "file", "big.pdf", pdf_bytes(padding=1024 * 1024 + 5), "application/pdf"
    )
    big = client.post("/portal/api/uploads/", data=body, content_type=content_type)
    assert big.status_code == 400 and big.json() == {"file": ["The file is larger than 1 MB."]}
    assert not SealedUpload.objects.exists()


def test_api_writes_need_the_csrf_token(invited):
    client = Client(enforce_csrf_checks=True)
    jane = invited[0]
    token = client.get(jane.link).cookies["csrftoken"].value
    client.post(jane.link, {"action": "send", "csrfmiddlewaretoken": token})
    code = last_code(jane.invitation.email)
    assert client.post(jane.link, {"action": "verify", "code": code, "csrfmiddlewaretoken": token}).status_code == 302
    without = client.post("/portal/api/intent/", {"intent": "bid"}, content_type="application/json")
    assert without.status_code == 403 and "CSRF" in without.json()["detail"]
    token = client.cookies["csrftoken"].value
    with_token = client.post(
        "/portal/api/intent/", {"intent": "bid"}, content_type="application/json", HTTP_X_CSRFTOKEN=token
    )
    assert with_token.status_code == 200
    assert client.get("/portal/api/overview/").status_code == 200  # reads need no token


def test_a_revoked_invitation_closes_the_api_session(client, invited, users):
    sign_in(client, invited[0])
    assert client.get("/portal/api/overview/").status_code == 200
    bidding.invitation_revoke(invitation=invited[0].invitation, user=users["procurement"])
    assert client.get("/portal/api/overview/").status_code == 401
