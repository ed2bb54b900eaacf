"""Quality agreements: the template's responsibility matrix, refusals (a line without an owner, a signed
version, an ineligible site), QA's e-signature, the vendor's countersignature through the supplier portal
or an uploaded copy, versions, the PDF, the change-notice check, the pages and the API."""

import io
from datetime import date, timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import DatabaseError, connection, transaction
from django.test import Client
from pypdf import PdfReader

from accounts import roles
from accounts.models import RefusedAttempt, Signature
from accounts.signatures import SignatureError
from oversight import agreements, defaults
from oversight.models_qa import AgreementLine, QualityAgreement, VendorSignature
from oversight.qa_access import OversightError
from tests.factories import PASSWORD, SiteFactory, UserFactory, VendorFactory
from tests.portal.conftest import invite, sign_in
from vendors.models import Kind, Service
from vendorselect import builders

pytestmark = pytest.mark.django_db
TODAY = date.today()


@pytest.fixture
def qa(db):
    return UserFactory(username="quinn", first_name="Quinn", last_name="Assurance", roles=[roles.QA])


@pytest.fixture
def site(db):
    vendor = VendorFactory(name="Sterifill GmbH")
    vendor.kinds.set([Kind.objects.get(code="CDMO")])
    return SiteFactory(vendor=vendor, name="Fill line 2", selected_on=TODAY, selected_for="Award RFP-1")


@pytest.fixture
def fill_finish(db):
    return Service.objects.get(code="fill-finish")


def _lines(agreement, **changes) -> list[dict]:
    """The agreement's lines as the service takes them, every missing owner set to `both`."""
    return [
        {"section": line.section, "text": line.text, "owner": line.owner or changes.get("owner", "both")}
        for line in agreement.lines.order_by("position", "pk")
    ]


def _complete(agreement, qa):
    return agreements.agreement_update(
        user=qa,
        agreement=agreement,
        lines=_lines(agreement),
        review_due=TODAY + timedelta(days=700),
        change_notice_days=90,
    )


def _signed(site, activity, qa):
    agreement = agreements.agreement_create(user=qa, site=site, activity=activity)
    _complete(agreement, qa)
    return agreements.agreement_sign(
        request=builders.signing_request(), user=qa, agreement=agreement, password=PASSWORD
    )


def _pdf_upload(text="Signed for Sterifill") -> SimpleUploadedFile:
    return SimpleUploadedFile("signed.pdf", builders.minimal_pdf(text), content_type="application/pdf")


def test_draft_follows_the_partner_kinds_template(qa, site, fill_finish):
    agreement = agreements.agreement_create(user=qa, site=site, activity=fill_finish)
    assert (agreement.version, agreement.partner_kind, agreement.status) == (1, "CDMO", "draft")
    assert agreement.change_notice_days == defaults.CHANGE_NOTICE_DAYS["CDMO"] == 90
    lines = list(agreement.lines.order_by("position"))
    assert len(lines) == len(defaults.TEMPLATES["CDMO"]) > len(defaults.TEMPLATES["CMO"])
    # Every section of FDA's guidance is covered, in its order.
    sections = list(dict.fromkeys(line.section for line in lines))
    assert sections == [code for code, _title in defaults.SECTIONS]
    assert {line.owner for line in lines} == {"sponsor", "vendor", "both", ""}
    release = next(line for line in lines if line.text.startswith("Final disposition"))
    assert release.owner == "sponsor" and release.section == "quality_units"
    cro = VendorFactory(name="Labs Inc")
    cro.kinds.set([Kind.objects.get(code="CRO")])
    cro_site = SiteFactory(vendor=cro, qualification="approved")
    testing = agreements.agreement_create(user=qa, site=cro_site, activity=Service.objects.get(code="release-testing"))
    assert testing.partner_kind == "CRO" and testing.change_notice_days == 30
    assert testing.lines.count() == len(defaults.TEMPLATES["CRO"])


def test_only_a_selected_or_qualified_site_gets_an_agreement_and_only_from_qa(users, qa, site, fill_finish):
    prospect = SiteFactory()
    with pytest.raises(OversightError) as error:
        agreements.agreement_create(user=qa, site=prospect, activity=fill_finish)
    assert error.value.status == 409 and "neither selected by an award nor qualified" in error.value.message
    with pytest.raises(OversightError) as error:
        agreements.agreement_create(user=users["manager"], site=site, activity=fill_finish)
    assert error.value.status == 403
    agreements.agreement_create(user=qa, site=site, activity=fill_finish)
    with pytest.raises(OversightError) as error:
        agreements.agreement_create(user=qa, site=site, activity=fill_finish)
    assert error.value.status == 409 and "make a new version" in error.value.message
    assert QualityAgreement.objects.count() == 1


def test_a_line_without_an_owner_refuses_saving_and_signing_with_the_line_named(qa, site, fill_finish):
    agreement = agreements.agreement_create(user=qa, site=site, activity=fill_finish)
    before = list(agreement.lines.order_by("position").values_list("text", "owner"))
    lines = _lines(agreement)
    lines[3]["owner"] = ""
    with pytest.raises(OversightError) as error:
        agreements.agreement_update(
            user=qa, agreement=agreement, lines=lines, review_due=TODAY + timedelta(days=365), change_notice_days=60
        )
    assert error.value.field == "lines"
    assert error.value.message.startswith(f"Line 4 (“{lines[3]['text']}”") and "has no owner" in error.value.message
    agreement.refresh_from_db()
    assert agreement.change_notice_days == 90  # nothing saved
    assert list(agreement.lines.order_by("position").values_list("text", "owner")) == before
    # Signing the template as it is: the first line left to agree is named; the refusal is recorded.
    unowned = agreement.lines.filter(owner="").order_by("position").first()
    with pytest.raises(OversightError) as error:
        agreements.agreement_sign(request=builders.signing_request(), user=qa, agreement=agreement, password=PASSWORD)
    assert f"“{unowned.text}”" in error.value.message and "agree who is responsible" in error.value.message
    assert RefusedAttempt.objects.filter(user=qa, action="sign quality agreement").count() == 1
    assert QualityAgreement.objects.get(pk=agreement.pk).status == "draft"
    # Other bad input: an unknown section, an empty text, a review date in the past.
    for bad, field in (
        ([{"section": "marketing", "text": "x", "owner": "vendor"}], "lines"),
        ([{"section": "audits", "text": "  ", "owner": "vendor"}], "lines"),
        ("not a list", "lines"),
    ):
        with pytest.raises(OversightError) as error:
            agreements.agreement_update(
                user=qa, agreement=agreement, lines=bad, review_due=TODAY + timedelta(days=9), change_notice_days=5
            )
        assert error.value.field == field
    with pytest.raises(OversightError) as error:
        agreements.agreement_update(
            user=qa, agreement=agreement, lines=_lines(agreement), review_due=TODAY, change_notice_days=30
        )
    assert error.value.field == "review_due"


def test_qa_signs_and_the_signed_version_is_locked(qa, site, fill_finish):
    agreement = agreements.agreement_create(user=qa, site=site, activity=fill_finish)
    _complete(agreement, qa)
    with pytest.raises(SignatureError):
        agreements.agreement_sign(request=builders.signing_request(), user=qa, agreement=agreement, password="wrong")
    assert QualityAgreement.objects.get(pk=agreement.pk).status == "draft"
    signed = agreements.agreement_sign(
        request=builders.signing_request(), user=qa, agreement=agreement, password=PASSWORD
    )
    assert signed.status == "sponsor_signed" and signed.sponsor_signed_at is not None
    [signature] = agreements.manifest(agreements.agreement_detail(qa, signed.pk))
    assert signature["printed_name"] == "Quinn Assurance" and signature["valid"]
    assert signature["meaning"] == Signature.Meaning.APPROVED_FOR_QUALITY.label
    # The service refuses; the database refuses whatever the path.
    with pytest.raises(OversightError) as error:
        agreements.agreement_update(
            user=qa, agreement=signed, lines=_lines(signed), review_due=TODAY + timedelta(days=30), change_notice_days=9
        )
    assert error.value.status == 409
    line = signed.lines.first()
    with pytest.raises(DatabaseError), transaction.atomic():
        AgreementLine.objects.filter(pk=line.pk).update(owner="sponsor" if line.owner != "sponsor" else "vendor")
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE oversight_qualityagreement SET change_notice_days = 5 WHERE id = %s", [signed.pk])


def test_vendor_copy_upload_makes_it_effective_and_a_new_version_supersedes(qa, site, fill_finish):
    signed = _signed(site, fill_finish, qa)
    for upload, message in (
        (SimpleUploadedFile("signed.docx", b"PK\x03\x04"), "PDF"),
        (SimpleUploadedFile("signed.pdf", b"GIF89a not a pdf"), "not a PDF"),
    ):
        with pytest.raises(OversightError) as error:
            agreements.vendor_copy_record(
                user=qa,
                agreement=signed,
                upload=upload,
                signer_name="Eva Brandt",
                signer_title="Head of QA",
                signed_on=TODAY,
            )
        assert error.value.field == "file" and message in error.value.message
    with pytest.raises(OversightError) as error:
        agreements.vendor_copy_record(
            user=qa,
            agreement=signed,
            upload=_pdf_upload(),
            signer_name="Eva Brandt",
            signer_title="Head of QA",
            signed_on=TODAY + timedelta(days=1),
        )
    assert error.value.field == "signed_on"
    assert not VendorSignature.objects.exists()
    vendor_signature = agreements.vendor_copy_record(
        user=qa,
        agreement=signed,
        upload=_pdf_upload(),
        signer_name="Eva Brandt",
        signer_title="Head of QA",
        signed_on=TODAY,
    )
    assert vendor_signature.via == "upload" and len(vendor_signature.document_sha256) == 64
    assert vendor_signature.agreement_hash == agreements.qa_signature(signed).record_hash
    first = QualityAgreement.objects.get(pk=signed.pk)
    assert first.status == "effective" and first.effective_on == TODAY
    # A new version copies the lines; the signed one stays in force until the new one is effective.
    draft = agreements.agreement_new_version(user=qa, agreement=first)
    assert (draft.version, draft.status, draft.previous_id) == (2, "draft", first.pk)
    assert list(draft.lines.values_list("section", "text", "owner")) == list(
        first.lines.values_list("section", "text", "owner")
    )
    with pytest.raises(OversightError):
        agreements.agreement_new_version(user=qa, agreement=first)  # one version in the works at a time
    agreements.agreement_sign(request=builders.signing_request(), user=qa, agreement=draft, password=PASSWORD)
    agreements.vendor_copy_record(
        user=qa,
        agreement=draft,
        upload=_pdf_upload("v2"),
        signer_name="Eva Brandt",
        signer_title="Head of QA",
        signed_on=TODAY,
    )
    assert dict(QualityAgreement.objects.values_list("version", "status")) == {1: "superseded", 2: "effective"}


def test_change_notifications_are_checked_against_the_notice_period(qa, site, fill_finish):
    notifications = [
        {"label": "New filling needle supplier", "given_on": TODAY - timedelta(days=100), "effective_on": TODAY},
        {"label": "Autoclave replaced", "given_on": TODAY - timedelta(days=30), "effective_on": TODAY},
        {"given_on": TODAY - timedelta(days=89), "effective_on": TODAY},
    ]
    assert agreements.notice_breaches(site, notifications) == []  # no agreement in force: nothing to check against
    signed = _signed(site, fill_finish, qa)
    assert agreements.notice_breaches(site, notifications) == []  # signed by QA only: not yet in force
    agreements.vendor_copy_record(
        user=qa,
        agreement=signed,
        upload=_pdf_upload(),
        signer_name="Eva Brandt",
        signer_title="Head of QA",
        signed_on=TODAY,
    )
    breaches = agreements.notice_breaches(site.pk, notifications)
    assert [(b.label, b.days_given, b.days_required) for b in breaches] == [
        ("Autoclave replaced", 30, 90),
        ("Change notification 3", 89, 90),
    ]
    assert "30 days' notice; the quality agreement requires 90" in str(breaches[0])
    with pytest.raises(ValueError, match="Change notification 1"):
        agreements.notice_breaches(site, [{"given_on": "yesterday", "effective_on": TODAY}])


def test_the_pdf_has_the_matrix_and_both_signatures(qa, site, fill_finish):
    signed = _signed(site, fill_finish, qa)
    agreements.vendor_copy_record(
        user=qa,
        agreement=signed,
        upload=_pdf_upload(),
        signer_name="Eva Brandt",
        signer_title="Head of QA",
        signed_on=TODAY,
    )
    response = _client(qa).get(f"/oversight/agreements/{signed.pk}/agreement.pdf")
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(response.content)).pages)
    text = " ".join(text.split())
    assert f"Quality agreement {signed.reference}" in text
    assert "Change control" in text and "Subcontracting" in text
    assert "Final disposition (release) of each batch" in text
    assert "Quinn Assurance" in text and "Eva Brandt, Head of QA" in text and "verifies" in text


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_pages_for_qa_and_readers(users, qa, site, fill_finish, django_assert_max_num_queries):
    client = _client(qa)
    created = client.post(
        "/oversight/agreements/new/", {"site": site.pk, "activity": fill_finish.pk, "partner_kind": ""}
    )
    assert created.status_code == 302, created.context["create_form"].errors
    agreement = QualityAgreement.objects.get()
    assert created.status_code == 302 and created["Location"] == f"/oversight/agreements/{agreement.pk}/"
    with django_assert_max_num_queries(20):
        page = client.get(f"/oversight/agreements/{agreement.pk}/")
    html = page.content.decode()
    assert page.status_code == 200 and "Responsibility matrix" in html and "without an owner" in html
    # The matrix form with a blank owner: refused with the line named, shown in place (400).
    lines = list(agreement.lines.order_by("position"))
    body = {"review_due": (TODAY + timedelta(days=400)).isoformat(), "change_notice_days": "60"}
    for line in lines:
        body.update(
            {
                f"line-{line.position}-section": line.section,
                f"line-{line.position}-text": line.text,
                f"line-{line.position}-owner": line.owner,
            }
        )
    refused = client.post(f"/oversight/agreements/{agreement.pk}/lines/", body)
    assert refused.status_code == 400 and "has no owner" in refused.content.decode()
    for line in lines:
        body[f"line-{line.position}-owner"] = line.owner or "vendor"
    body.update(
        {"new-section": "subcontracting", "new-text": "Notify new contract laboratories", "new-owner": "vendor"}
    )
    assert client.post(f"/oversight/agreements/{agreement.pk}/lines/", body).status_code == 302
    assert agreement.lines.filter(text="Notify new contract laboratories", owner="vendor").exists()
    assert not agreement.lines.filter(owner="").exists()
    assert QualityAgreement.objects.get().change_notice_days == 60
    wrong = client.post(f"/oversight/agreements/{agreement.pk}/sign/", {"password": "nope"})
    assert wrong.status_code == 400 and "password is not correct" in wrong.content.decode()
    assert client.post(f"/oversight/agreements/{agreement.pk}/sign/", {"password": PASSWORD}).status_code == 302
    assert QualityAgreement.objects.get().status == "sponsor_signed"
    # Readers read; they do not write.
    for role in ("manager", "procurement", "auditor"):
        reader = _client(users[role])
        with django_assert_max_num_queries(12):
            assert reader.get("/oversight/agreements/").status_code == 200
        assert reader.get(f"/oversight/agreements/{agreement.pk}/").status_code == 200
        assert reader.post(f"/oversight/agreements/{agreement.pk}/sign/", {"password": PASSWORD}).status_code == 403
    assert _client(users["evaluator"]).get("/oversight/agreements/").status_code == 403
    listing = client.get("/oversight/agreements/?status=sponsor_signed&ordering=-site").content.decode()
    assert agreement.reference in listing
    assert agreement.reference not in client.get("/oversight/agreements/?status=effective").content.decode()


def test_the_vendor_signs_in_the_supplier_portal(users, qa, rfp, django_capture_on_commit_callbacks, client):
    from rfp import bidding

    first, second = bidding.invitable_candidates(rfp)
    vendor_site = first.vendor.sites.first()
    vendor_site.selected_on = TODAY
    vendor_site.save()
    other_site = second.vendor.sites.first()
    other_site.qualification = "approved"
    other_site.save()
    mine = _signed(vendor_site, Service.objects.get(code="fill-finish"), qa)
    theirs = _signed(other_site, Service.objects.get(code="fill-finish"), qa)
    invited = invite(
        rfp, users["procurement"], first, "jane@vendor-a.example", capture=django_capture_on_commit_callbacks
    )
    sign_in(client, invited)
    page = client.get("/portal/agreements/")
    html = page.content.decode()
    assert page.status_code == 200 and mine.reference in html and theirs.reference not in html
    assert "Final disposition (release) of each batch" in html
    unconfirmed = client.post(f"/portal/agreements/{mine.pk}/sign/", {"name": "Jane Doe", "title": "QA Director"})
    assert unconfirmed.status_code == 400 and not VendorSignature.objects.exists()
    other = client.post(
        f"/portal/agreements/{theirs.pk}/sign/", {"name": "Jane Doe", "title": "QA Director", "confirm": "on"}
    )
    assert other.status_code == 404 and not VendorSignature.objects.exists()
    signed = client.post(
        f"/portal/agreements/{mine.pk}/sign/", {"name": " Jane  Doe ", "title": "QA Director", "confirm": "on"}
    )
    assert signed.status_code == 302
    signature = VendorSignature.objects.get()
    assert (signature.agreement_id, signature.via, signature.signer_name, signature.signer_title) == (
        mine.pk,
        "portal",
        "Jane Doe",
        "QA Director",
    )
    assert signature.ip_address == "127.0.0.1" and "jane@vendor-a.example" in signature.portal_identity
    assert QualityAgreement.objects.get(pk=mine.pk).status == "effective"
    assert "In force since" in client.get("/portal/agreements/").content.decode()
    again = client.post(f"/portal/agreements/{mine.pk}/sign/", {"name": "Jane Doe", "title": "QA", "confirm": "on"})
    assert again.status_code == 409
    # A sponsor's login is no portal session.
    assert _client(qa).get("/portal/agreements/").status_code == 302


def test_api(users, qa, site, fill_finish, api_as, django_assert_max_num_queries):
    from rest_framework.test import APIClient

    api = APIClient()
    api.force_authenticate(qa)
    created = api.post("/api/v1/quality-agreements/", {"site": site.pk, "activity": "fill-finish"}, format="json")
    assert created.status_code == 201, created.content
    pk = created.json()["id"]
    assert created.json()["partner_kind"] == "CDMO" and created.json()["lines"]
    assert (
        api_as("manager")
        .post("/api/v1/quality-agreements/", {"site": site.pk, "activity": "api-manufacturing"}, format="json")
        .status_code
        == 403
    )
    assert api_as("evaluator").get("/api/v1/quality-agreements/").status_code == 403
    lines = created.json()["lines"]
    body = {"lines": lines, "review_due": (TODAY + timedelta(days=500)).isoformat(), "change_notice_days": 45}
    refused = api.put(f"/api/v1/quality-agreements/{pk}/lines/", body, format="json")
    assert refused.status_code == 400 and "has no owner" in refused.json()["lines"][0]
    unsigned = api.post(f"/api/v1/quality-agreements/{pk}/sign/", {"password": PASSWORD}, format="json")
    assert unsigned.status_code == 400 and "no owner" in unsigned.json()["lines"][0]
    body["lines"] = [{**line, "owner": line["owner"] or "both"} for line in lines]
    saved = api.put(f"/api/v1/quality-agreements/{pk}/lines/", body, format="json")
    assert saved.status_code == 200 and saved.json()["change_notice_days"] == 45
    signed = api.post(f"/api/v1/quality-agreements/{pk}/sign/", {"password": PASSWORD}, format="json")
    assert signed.status_code == 200 and signed.json()["status"] == "sponsor_signed"
    assert signed.json()["signatures"][0]["valid"] is True
    assert api.put(f"/api/v1/quality-agreements/{pk}/lines/", body, format="json").status_code == 409
    upload = api.post(
        f"/api/v1/quality-agreements/{pk}/vendor-copy/",
        {"upload": _pdf_upload(), "signer_name": "Eva Brandt", "signer_title": "Head of QA", "signed_on": TODAY},
        format="multipart",
    )
    assert upload.status_code == 200 and upload.json()["status"] == "effective"
    assert upload.json()["vendor_signature"]["via"] == "upload"
    version = api.post(f"/api/v1/quality-agreements/{pk}/new-version/")
    assert version.status_code == 201 and version.json()["version"] == 2
    with django_assert_max_num_queries(6):
        listed = api_as("auditor").get(f"/api/v1/quality-agreements/?site={site.pk}")
    assert [a["version"] for a in listed.json()["results"]] == [2, 1]
    with django_assert_max_num_queries(12):
        assert api_as("manager").get(f"/api/v1/quality-agreements/{pk}/").status_code == 200
