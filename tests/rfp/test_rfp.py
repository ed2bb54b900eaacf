"""RFPs: packets (real PDFs and XLSX opened and checked), versions, the outbox, refusals, proposals."""

import io
import zipfile
from datetime import date, timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from openpyxl import load_workbook
from pypdf import PdfReader

from core import outbox
from core.models import OutboxMessage
from rfp import bidding, services
from rfp.models import Packet, Question, RfpTemplate
from tests.rfp.conftest import rfp_values
from tests.scoring.test_shortlists import submitted
from vendorselect import builders

pytestmark = pytest.mark.django_db


def generate(rfp, user, capture):
    with capture(execute=True):
        services.rfp_generate(rfp=rfp, user=user)
    return list(
        Packet.objects.filter(rfp=rfp)
        .select_related("candidate__vendor")
        .order_by("candidate__vendor__name", "version")
    )


def sweep_packets() -> dict[str, int]:
    """Beat's sweep (core.outbox), of the packets only."""
    return outbox.sweep([services.PACKETS])[services.PACKETS.name]


def pdf_text(packet) -> tuple[str, int]:
    with packet.pdf.open("rb") as handle:
        reader = PdfReader(io.BytesIO(handle.read()))
    return " ".join(p.extract_text() for p in reader.pages), len(reader.pages)


def test_rfp_needs_an_approved_shortlist_and_ordered_dates(api_as, reviewed, users):
    shortlist = submitted(api_as, reviewed)
    with pytest.raises(services.RfpError, match="approved shortlists only") as refused:
        services.rfp_create(shortlist=shortlist, user=users["procurement"], **rfp_values())
    assert refused.value.status == 409
    from scoring.models import Shortlist

    approved = Shortlist.objects.get(pk=shortlist.pk)
    type(approved).objects.filter(pk=approved.pk).update(status="approved")
    bad = rfp_values(proposal_due=date.today() - timedelta(days=1))
    with pytest.raises(services.RfpError) as refused:
        services.rfp_create(shortlist=Shortlist.objects.get(pk=approved.pk), user=users["procurement"], **bad)
    assert refused.value.field == "questions_due" or refused.value.field == "proposal_due"


def test_packets_are_real_pdfs_questionnaires_and_zips(rfp, users, django_capture_on_commit_callbacks):
    services.attachment_add(
        rfp=rfp, user=users["procurement"], upload=SimpleUploadedFile("CDA.pdf", b"%PDF-1.4\nCDA\n%%EOF\n")
    )
    packets = generate(rfp, users["procurement"], django_capture_on_commit_callbacks)
    assert [(p.candidate.vendor.name, p.status, p.version) for p in packets] == [
        ("Vendor 2", "done", 1),
        ("Vendor 3", "done", 1),
    ]
    text, pages = pdf_text(packets[1])
    flat = " ".join(text.split())
    assert pages >= 4 and packets[1].pdf_pages == pages
    for expected in (
        "Request for proposals",
        "Vendor 3",
        "Contents",
        "Scope of work",
        "Quality agreement",
        "Module 3.2.S",
        "Letter of Authorization",
        "Technology transfer",
        "Intellectual property",
        "How proposals will be evaluated",
        f"RFP-{rfp.pk:05d}",
        "Confidential",
        f"Page 1 of {pages}",
        "CDA.pdf",
    ):
        assert expected in flat, expected
    assert "Phase I" in flat and "**" not in flat  # Markdown rendered
    # What a vendor receives carries no internal approval record (tests/rfp/test_packet_content.py).
    assert "Shortlist approval" not in flat and users["manager"].printed_name not in flat
    with packets[1].questionnaire.open("rb") as handle:
        sheet = load_workbook(io.BytesIO(handle.read())).active
    assert [c.value for c in sheet[4]] == [
        "No.",
        "Criterion",
        "Question",
        "Compliance",
        "Answer",
        "Supporting document",
    ]
    criteria = [sheet.cell(row=r, column=2).value for r in range(5, sheet.max_row + 1)]
    assert criteria[0] == "Scope fit" and "Quality systems" in criteria
    assert criteria == sorted(criteria, key=criteria.index)  # grouped
    [validation] = [v for v in sheet.data_validations.dataValidation if v.type == "list"]
    assert validation.formula1 == '"Yes,Partly,No,Not applicable"' and "D5" in str(validation.sqref)
    with packets[1].bundle.open("rb") as handle:
        names = zipfile.ZipFile(io.BytesIO(handle.read())).namelist()
    stem = f"RFP-{rfp.pk:05d}-Vendor-3-v1"
    assert names == [f"{stem}.pdf", f"{stem}-questionnaire.xlsx", "attachments/CDA.pdf"]


def test_regenerating_reuses_unchanged_packets_and_versions_changed_ones(
    rfp, users, django_capture_on_commit_callbacks
):
    first = generate(rfp, users["procurement"], django_capture_on_commit_callbacks)
    again = generate(rfp, users["procurement"], django_capture_on_commit_callbacks)
    assert [(p.pk, p.sha256, p.bundle.name) for p in again] == [(p.pk, p.sha256, p.bundle.name) for p in first]
    services.rfp_update(rfp=rfp, user=users["procurement"], scope_notes="Include stability studies.")
    changed = generate(rfp, users["procurement"], django_capture_on_commit_callbacks)
    assert [(p.candidate.vendor.name, p.version, p.status) for p in changed] == [
        ("Vendor 2", 1, "done"),
        ("Vendor 2", 2, "done"),
        ("Vendor 3", 1, "done"),
        ("Vendor 3", 2, "done"),
    ]
    assert "stability studies" in pdf_text(changed[3])[0] and "stability studies" not in pdf_text(changed[2])[0]


def test_scope_follows_the_program_and_the_current_template_version(rfp, users, django_capture_on_commit_callbacks):
    """The program decides the template (rendering.kind_for), not the vendor's kinds; a revision is
    the next version of that kind, and the next packets use it."""
    from rfp import rendering
    from vendors.models import Kind

    vendor = rfp.shortlist.entries.order_by("candidate__vendor__name").first().candidate.vendor
    vendor.kinds.set([Kind.objects.get(code="CRO")])  # the vendor's kinds do not choose the text
    kind = rendering.kind_for(rfp.shortlist.evaluation)
    assert kind == "CDMO"  # the fixture's program states nothing it buys and allows every kind
    revised = services.template_revise(
        kind=kind,
        user=users["procurement"],
        sections=[{"key": "scope", "title": "Scope of work", "body": "Process development for {program} by {vendor}."}],
        note="Shorter CDMO template",
    )
    packets = generate(rfp, users["procurement"], django_capture_on_commit_callbacks)
    assert {p.template for p in packets} == {revised} and revised.version == 3  # 1: seeded, 2: packet texts
    cro_vendor = next(p for p in packets if p.candidate.vendor == vendor)
    assert f"Process development for Sterile fill by {vendor.name}" in " ".join(pdf_text(cro_vendor)[0].split())
    with pytest.raises(services.RfpError, match="unknown placeholders"):
        services.template_revise(kind="CRO", user=users["procurement"], sections=[{"title": "X", "body": "{password}"}])
    assert RfpTemplate.objects.filter(kind="CDMO").count() == 3 and RfpTemplate.objects.filter(kind="CRO").count() == 2


SSRF = [
    "file:///etc/passwd",
    "http://127.0.0.1:{port}/local",
    "http://169.254.169.254/latest/meta-data/",
    '<link rel="attachment" href="file:///etc/passwd">',
    "<style>@import url(http://127.0.0.1:{port}/css);</style>",
    '<svg><image href="file:///etc/passwd"/></svg>',
    "![x](http://127.0.0.1:{port}/img.png)",
    "[link](file:///etc/passwd)",
    '<img src="http://169.254.169.254/x.png">',
    '<iframe src="file:///etc/passwd"></iframe>',
]


def test_no_user_field_makes_the_renderer_fetch_anything(approved, users, django_capture_on_commit_callbacks):
    import http.server
    import threading

    hits = []

    class Recorder(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            hits.append(self.path)
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Recorder)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_address[1]
    payload = " ".join(p.format(port=port) for p in SSRF)
    try:
        vendor = approved.entries.first().candidate.vendor
        type(vendor).objects.filter(pk=vendor.pk).update(name=f"Evil {payload[:150]}")
        rfp = services.rfp_create(
            shortlist=approved,
            user=users["procurement"],
            **rfp_values(
                title=f"T {payload}"[:200],
                sponsor=f"S {payload}"[:200],
                program_background=payload,
                scope_notes=payload,
                confidentiality=payload,
                contact_name=f"C {payload}"[:200],
            ),
        )
        packets = generate(rfp, users["procurement"], django_capture_on_commit_callbacks)
    finally:
        server.shutdown()
    assert all(p.status == "done" for p in packets), [p.error for p in packets]
    assert hits == []
    for packet in packets:
        text = pdf_text(packet)[0]
        assert "root:x:0:0" not in text and "daemon:" not in text
        assert "file:///etc/passwd" in text  # shown as text, never followed


def test_a_failed_packet_shows_its_reason_and_retries(rfp, users, monkeypatch, django_capture_on_commit_callbacks):
    from core import pdf

    def too_slow(html, meanwhile=None):
        raise pdf.PdfRenderLimitExceeded("The PDF took longer than the 120 s allowed to render.")

    monkeypatch.setattr(pdf, "render_pdf", too_slow)
    packets = generate(rfp, users["procurement"], django_capture_on_commit_callbacks)
    assert {p.status for p in packets} == {"failed"} and "120 s" in packets[0].error
    monkeypatch.undo()
    with django_capture_on_commit_callbacks(execute=True):
        services.packet_retry(packet=packets[0], user=users["procurement"])
    assert Packet.objects.get(pk=packets[0].pk).status == "done"
    with pytest.raises(services.RfpError, match="Only a failed or stuck packet"):
        services.packet_retry(packet=Packet.objects.get(pk=packets[0].pk), user=users["procurement"])


def test_a_packet_whose_message_was_lost_can_be_retried(rfp, users, monkeypatch, django_capture_on_commit_callbacks):
    from datetime import timedelta

    from django.utils import timezone

    monkeypatch.setattr(outbox, "relay", lambda: 0)  # the published message is lost
    packets = generate(rfp, users["procurement"], django_capture_on_commit_callbacks)
    with pytest.raises(services.RfpError, match="Only a failed or stuck packet"):
        services.packet_retry(packet=packets[0], user=users["procurement"])
    Packet.objects.filter(pk=packets[0].pk).update(queued_at=timezone.now() - timedelta(hours=1))
    monkeypatch.undo()
    stuck = Packet.objects.get(pk=packets[0].pk)
    assert services.is_stuck(stuck)
    with django_capture_on_commit_callbacks(execute=True):
        services.packet_retry(packet=stuck, user=users["procurement"])
    assert Packet.objects.get(pk=stuck.pk).status == "done"


def test_the_sweep_announces_lost_messages_again_without_duplicates(
    rfp, users, monkeypatch, settings, django_capture_on_commit_callbacks
):
    """Redis restarted without persistence: the queued packets' messages are gone. The sweep (beat,
    every minute) announces those queued longer than OUTBOX_REQUEUE_AFTER again; the rest wait."""
    from datetime import timedelta

    from django.utils import timezone

    settings.OUTBOX_REQUEUE_AFTER = 120
    monkeypatch.setattr(outbox, "relay", lambda: 0)  # published, then lost with the queue
    packets = generate(rfp, users["procurement"], django_capture_on_commit_callbacks)
    OutboxMessage.objects.update(published_at=timezone.now())
    monkeypatch.undo()
    backlog = [0]
    monkeypatch.setattr(outbox, "broker_backlog", lambda: backlog[0])
    assert sweep_packets() == {"announced": 0, "requeued": 0, "failed": 0}  # not long enough yet
    Packet.objects.filter(pk=packets[0].pk).update(queued_at=timezone.now() - timedelta(seconds=121))
    backlog[0] = 7  # the workers are still working through a long queue: nothing is lost
    assert sweep_packets()["announced"] == 0
    backlog[0] = 0
    assert sweep_packets() == {"announced": 1, "requeued": 0, "failed": 0}
    assert sweep_packets()["announced"] == 0  # announced again once per interval, not every minute
    assert outbox.relay() == 1  # eager: renders it
    assert Packet.objects.get(pk=packets[0].pk).status == "done"
    assert Packet.objects.get(pk=packets[1].pk).status == "queued"
    # The original message turns up after all (it was only late): a no-op, nothing rendered twice.
    files = Packet.objects.get(pk=packets[0].pk).pdf.name
    from rfp.tasks import render_packet

    render_packet.apply(args=[packets[0].pk], task_id="the-original-message")
    again = Packet.objects.get(pk=packets[0].pk)
    assert (again.pdf.name, again.attempts, again.version) == (files, 1, 1)
    assert Packet.objects.filter(rfp=rfp).count() == len(packets)


def test_the_sweep_queues_a_dead_render_again_and_gives_up_on_a_poison_document(
    rfp, users, settings, django_capture_on_commit_callbacks
):
    from datetime import timedelta

    from django.utils import timezone

    settings.OUTBOX_MAX_ATTEMPTS = 3
    packets = generate(rfp, users["procurement"], django_capture_on_commit_callbacks)
    long_ago = timezone.now() - timedelta(seconds=2 * settings.CELERY_TASK_TIME_LIMIT + 1)
    # The worker died mid-render and Redis lost the unacknowledged message with it; the other one
    # (claimed twice already) is still rendering.
    dead = Packet.objects.filter(pk=packets[0].pk)
    dead.update(status="rendering", claim="dead-task", started_at=long_ago, attempts=1)
    running = Packet.objects.filter(pk=packets[1].pk)
    running.update(status="rendering", claim="live-task", started_at=timezone.now(), attempts=3)
    assert sweep_packets() == {"announced": 0, "requeued": 1, "failed": 0}
    with django_capture_on_commit_callbacks(execute=True):
        outbox.relay()
    done = Packet.objects.get(pk=packets[0].pk)
    assert (done.status, done.attempts) == ("done", 2)
    running.update(started_at=long_ago)  # and then its worker died too: the third claim was the last
    assert sweep_packets() == {"announced": 0, "requeued": 0, "failed": 1}
    failed = Packet.objects.get(pk=packets[1].pk)
    assert failed.status == "failed" and "Gave up after 3 attempts" in failed.error


def test_broker_down_at_publish_loses_nothing(rfp, users, monkeypatch, django_capture_on_commit_callbacks):
    from celery import group
    from kombu.exceptions import OperationalError

    def down(self, *args, **kwargs):
        raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    from django.utils import timezone

    OutboxMessage.objects.update(published_at=timezone.now())  # the fixtures' notification e-mails
    monkeypatch.setattr(group, "apply_async", down)
    packets = generate(rfp, users["procurement"], django_capture_on_commit_callbacks)
    assert {p.status for p in packets} == {"queued"}
    pending = OutboxMessage.objects.filter(published_at=None)
    assert pending.count() == 2 and "Connection refused" in pending.first().last_error
    monkeypatch.undo()
    assert outbox.relay() == 2  # what beat runs every minute
    assert set(pending.model.objects.filter(task=services.RENDER_TASK).values_list("attempts", "last_error")) == {
        (2, "")
    }
    assert set(Packet.objects.filter(rfp=rfp).values_list("status", flat=True)) == {"done"}
    assert outbox.relay() == 0


def test_a_duplicate_delivery_does_not_render_twice(rfp, users, django_capture_on_commit_callbacks):
    packets = generate(rfp, users["procurement"], django_capture_on_commit_callbacks)
    before = Packet.objects.get(pk=packets[0].pk)
    assert services.packet_render(before.pk, claim="another-task") is None
    after = Packet.objects.get(pk=before.pk)
    assert (after.attempts, after.sha256, after.bundle.name) == (before.attempts, before.sha256, before.bundle.name)


def test_pages_and_permissions(client_as, rfp, users, django_capture_on_commit_callbacks):
    lead = client_as("procurement")
    response = lead.post(f"/rfps/{rfp.pk}/generate/")
    assert response.status_code == 302 and response["Location"] == rfp.get_absolute_url()
    page = lead.get(rfp.get_absolute_url()).content.decode()
    assert "Generate packets" in page and "Proposals received" in page and "2 packet(s) queued" in page
    assert f'action="/rfps/{rfp.pk}/generate/"' in page
    assert client_as("evaluator").get(rfp.get_absolute_url()).status_code == 200
    evaluator_page = client_as("evaluator").get(rfp.get_absolute_url()).content.decode()
    assert "Generate packets" not in evaluator_page and "Record proposal" not in evaluator_page
    assert client_as("evaluator").post(f"/rfps/{rfp.pk}/generate/").status_code == 403
    assert lead.post(rfp.get_absolute_url(), {"action": "generate"}).status_code == 405  # one URL per operation
    assert client_as("auditor").get(rfp.get_absolute_url()).status_code == 404
    assert client_as("manager").get("/rfps/").status_code == 200


def test_page_generation_and_downloads(
    client_as, rfp, django_capture_on_commit_callbacks, django_assert_max_num_queries
):
    lead = client_as("procurement")
    with django_capture_on_commit_callbacks(execute=True):
        lead.post(f"/rfps/{rfp.pk}/generate/")
    with django_assert_max_num_queries(25):
        progress = lead.get(f"/rfps/{rfp.pk}/progress/")
    assert "2 of 2 packets generated" in progress.content.decode()
    packet = Packet.objects.filter(rfp=rfp).first()
    pdf = lead.get(f"/rfps/packets/{packet.pk}/pdf/")
    assert pdf["Content-Type"] == "application/pdf" and "attachment" in pdf["Content-Disposition"]
    everything = lead.get(f"/rfps/{rfp.pk}/download-all/")
    assert len(zipfile.ZipFile(io.BytesIO(everything.content)).namelist()) == 2
    assert client_as("auditor").get(f"/rfps/packets/{packet.pk}/pdf/").status_code == 404


def test_api_generate_and_poll(api_as, rfp, django_capture_on_commit_callbacks):
    api = api_as("procurement")
    with django_capture_on_commit_callbacks(execute=True):
        started = api.post(f"/api/v1/rfps/{rfp.pk}/generate/")
    assert started.status_code == 202 and started.json()["total"] == 2
    polled = api.get(f"/api/v1/rfps/{rfp.pk}/packets/").json()
    assert polled["done"] == 2 and polled["percent"] == 100
    assert api_as("evaluator").post(f"/api/v1/rfps/{rfp.pk}/generate/").status_code == 403
    bad = api.patch(f"/api/v1/rfps/{rfp.pk}/", {"proposal_due": str(date.today())}, format="json")
    assert bad.status_code == 400 and "proposal_due" in bad.json()


def test_proposals_documents_and_questions(rfp, users, client_as):
    lead = users["procurement"]
    candidate = rfp.shortlist.entries.first().candidate
    proposal = services.proposal_record(
        rfp=rfp, user=lead, candidate_id=candidate.pk, received_on=date.today(), price=125000
    )
    with pytest.raises(services.RfpError, match="already recorded"):
        services.proposal_record(rfp=rfp, user=lead, candidate_id=candidate.pk, received_on=date.today())
    with pytest.raises(services.RfpError, match="future"):
        services.proposal_record(
            rfp=rfp, user=lead, candidate_id=candidate.pk, received_on=date.today() + timedelta(days=2)
        )
    disguised = SimpleUploadedFile("proposal.pdf", b"<html><script>alert(1)</script></html>")
    with pytest.raises(services.RfpError, match=r"not a \.pdf"):
        services.proposal_document_add(proposal=proposal, user=lead, upload=disguised)
    with pytest.raises(services.RfpError, match="Allowed file types"):
        services.proposal_document_add(proposal=proposal, user=lead, upload=SimpleUploadedFile("x.exe", b"MZ"))
    document = services.proposal_document_add(
        proposal=proposal, user=lead, upload=SimpleUploadedFile("offer.pdf", b"%PDF-1.4\n%%EOF")
    )
    download = client_as("manager").get(f"/rfps/proposal-documents/{document.pk}/")
    assert download["Content-Type"] == "application/octet-stream" and "attachment" in download["Content-Disposition"]
    question = services.question_record(
        rfp=rfp, user=lead, candidate_id=candidate.pk, question="Is a CDA needed?", asked_on=date.today()
    )
    bidding.question_answer(question=question, user=lead, answer="Yes, signed.")
    page = client_as("procurement").get(rfp.get_absolute_url()).content.decode()
    assert "125,000" in page and "Is a CDA needed?" in page and "Yes, signed." in page


def test_a_render_cut_off_while_storing_leaves_no_stray_files(rfp, users, monkeypatch, settings):
    """The database or storage fails after the PDF is stored (the task will retry): nothing is left
    behind that no packet refers to."""
    from django.db.models.fields.files import FieldFile

    monkeypatch.setattr(outbox, "relay", lambda: 0)
    packet = services.rfp_generate(rfp=rfp, user=users["procurement"])[0]
    save = FieldFile.save

    def files() -> set:  # the media directory is shared by the whole test session
        return {p for p in settings.MEDIA_ROOT.rglob("*") if p.is_file()}

    before = files()

    def failing(self, name, content, **kwargs):
        if name.endswith(".zip"):
            raise OSError("disk full")
        return save(self, name, content, **kwargs)

    monkeypatch.setattr(FieldFile, "save", failing)
    with pytest.raises(OSError, match="disk full"):
        services.packet_render(packet.pk, claim="task-1")
    assert files() == before
    assert Packet.objects.get(pk=packet.pk).status == "rendering"  # the retry re-claims it
    monkeypatch.setattr(FieldFile, "save", save)
    assert services.packet_render(packet.pk, claim="task-1").pk == packet.pk
    assert len(files() - before) == 3


def test_tampered_packet_proposal_and_question_ids_find_nothing(client_as, rfp, users):
    from rfp.models import Delivery

    client = client_as("procurement")
    other = builders.rfp_for(rfp.shortlist, users["procurement"])  # another RFP's records are not this one's
    question = services.question_record(
        rfp=other, user=users["procurement"], candidate_id=_candidate(rfp).pk, question="CDA?", asked_on=date.today()
    )
    for path in ("packets/²/retry/", "proposals/²/documents/", "questions/²/answer/"):
        assert client.post(f"/rfps/{rfp.pk}/{path}").status_code == 404, path
    assert client.post(f"/rfps/{rfp.pk}/questions/{question.pk}/answer/", {"answer": "Yes"}).status_code == 404
    assert not Delivery.objects.exists() and not Question.objects.filter(answer="Yes").exists()


def _candidate(rfp):
    return rfp.shortlist.entries.order_by("candidate__vendor__name").first().candidate


def _page(client, rfp) -> str:
    return client.get(rfp.get_absolute_url()).content.decode()


def test_each_page_operation_has_its_url_and_form(
    client_as, rfp, users, django_capture_on_commit_callbacks, django_assert_max_num_queries
):
    """Attachments, generation, proposals received outside the portal, their documents, questions and
    answers, through the page's own URLs: each redirects back to the page with its message."""
    from rfp.models import Proposal, RfpAttachment

    lead = client_as("procurement")
    candidate = _candidate(rfp)
    base = f"/rfps/{rfp.pk}"
    added = lead.post(f"{base}/attachments/", {"upload": SimpleUploadedFile("CDA.pdf", b"%PDF-1.4\n%%EOF")})
    assert added.status_code == 302 and added["Location"] == rfp.get_absolute_url()
    assert [a.original_name for a in RfpAttachment.objects.filter(rfp=rfp)] == ["CDA.pdf"]
    with django_capture_on_commit_callbacks(execute=True):
        lead.post(f"{base}/generate/")
    assert Packet.objects.filter(rfp=rfp, status="done").exists()
    page = _page(lead, rfp)
    assert "Attachment added" in page and "Send invitation" in page
    recorded = lead.post(
        f"{base}/proposals/",
        {"candidate_id": candidate.pk, "received_on": date.today(), "price": "125000", "currency": "EUR"},
    )
    assert recorded.status_code == 302
    proposal = Proposal.objects.get(rfp=rfp)
    assert (proposal.candidate_id, proposal.price, proposal.currency) == (candidate.pk, 125000, "EUR")
    document = SimpleUploadedFile("offer.pdf", b"%PDF-1.4\n%%EOF")
    assert lead.post(f"{base}/proposals/{proposal.pk}/documents/", {"upload": document}).status_code == 302
    assert proposal.documents.get().original_name == "offer.pdf"
    asked = lead.post(
        f"{base}/questions/", {"candidate_id": candidate.pk, "asked_on": date.today(), "question": "CDA?"}
    )
    assert asked.status_code == 302
    question = Question.objects.get(rfp=rfp)
    assert lead.post(f"{base}/questions/{question.pk}/answer/", {"answer": "Yes, signed."}).status_code == 302
    question.refresh_from_db()
    assert (question.answer, question.answered_on) == ("Yes, signed.", date.today())
    with django_assert_max_num_queries(45):
        page = _page(lead, rfp)
    for message in ("Proposal recorded.", "Document added", "Question logged.", "Answer published to every"):
        assert message in page, message
    assert "offer.pdf" in page and "Yes, signed." in page
    again = lead.post(f"{base}/questions/{question.pk}/answer/", {"answer": "No."}, follow=True)
    assert "already answered" in again.content.decode()
    question.refresh_from_db()
    assert question.answer == "Yes, signed."


def test_bad_page_input_names_the_field_and_changes_nothing(client_as, rfp, users):
    from rfp.models import Proposal, RfpAttachment

    lead = client_as("procurement")
    base = f"/rfps/{rfp.pk}"
    candidate = _candidate(rfp)
    future = date.today() + timedelta(days=3)
    invalid = lead.post(f"{base}/proposals/", {"candidate_id": candidate.pk, "received_on": "31/12", "currency": "USD"})
    assert invalid.status_code == 200 and "Enter a valid date." in invalid.content.decode()
    refused = lead.post(f"{base}/proposals/", {"candidate_id": candidate.pk, "received_on": future, "currency": "USD"})
    assert refused.status_code == 200 and "The received date cannot be in the future." in refused.content.decode()
    stranger = lead.post(f"{base}/questions/", {"candidate_id": 10**9, "asked_on": date.today(), "question": "?"})
    assert stranger.status_code == 200 and "Select a valid choice" in stranger.content.decode()
    no_file = lead.post(f"{base}/attachments/", {}, follow=True)
    assert "File: Choose a file." in no_file.content.decode()
    wrong = lead.post(f"{base}/attachments/", {"upload": SimpleUploadedFile("x.exe", b"MZ")}, follow=True)
    assert "Allowed file types" in wrong.content.decode()
    question = services.question_record(
        rfp=rfp, user=users["procurement"], candidate_id=candidate.pk, question="CDA?", asked_on=date.today()
    )
    nobody = lead.post(
        f"{base}/questions/{question.pk}/answer/", {"answer": "Yes", "visibility": "everyone"}, follow=True
    )
    assert "Visibility: Select a valid choice." in nobody.content.decode()
    blank = lead.post(f"{base}/questions/{question.pk}/answer/", {"answer": " "}, follow=True)
    assert "Answer: This field is required." in blank.content.decode()
    not_generated = lead.post(f"{base}/packets/{10**9}/retry/")
    assert not_generated.status_code == 404
    assert not Proposal.objects.exists() and not RfpAttachment.objects.exists()
    question.refresh_from_db()
    assert question.answer == "" and question.answered_on is None


def test_only_the_lead_operates_and_a_refused_operation_changes_nothing(client_as, rfp, users):
    from rfp.models import Proposal

    candidate = _candidate(rfp)
    question = services.question_record(
        rfp=rfp, user=users["procurement"], candidate_id=candidate.pk, question="CDA?", asked_on=date.today()
    )
    base = f"/rfps/{rfp.pk}"
    posts = {
        "generate/": {},
        "attachments/": {"upload": SimpleUploadedFile("CDA.pdf", b"%PDF-1.4\n%%EOF")},
        "packets/1/retry/": {},
        "proposals/": {"candidate_id": candidate.pk, "received_on": date.today(), "currency": "USD"},
        "proposals/1/documents/": {},
        "questions/": {"candidate_id": candidate.pk, "asked_on": date.today(), "question": "?"},
        f"questions/{question.pk}/answer/": {"answer": "Yes"},
        "invitations/": {"candidate_id": candidate.pk, "name": "Bid manager", "email": "bids@vendor.example"},
        "extensions/": {"candidate_id": candidate.pk, "until": "2099-01-01T12:00", "reason": "Asked"},
    }
    for role, status in (("evaluator", 403), ("manager", 403), ("auditor", 404)):
        client = client_as(role)
        for path, data in posts.items():
            assert client.post(f"{base}/{path}", data).status_code == status, (role, path)
            assert client.get(f"{base}/{path}").status_code == 405, (role, path)
    assert not Packet.objects.filter(rfp=rfp).exists() and not Proposal.objects.exists()
    assert not rfp.attachments.exists() and rfp.questions.get().answer == ""
    assert not rfp.invitations.exists() and not rfp.participations.exists()


def test_packets_go_to_the_vendors_the_approvers_signed_for(
    rfp, users, api_as, reviewed, django_capture_on_commit_callbacks
):
    """An entry added to the approved shortlist behind the application gets no packet (issue 12)."""
    from scoring import shortlists
    from tests.scoring.test_blindness import add_entry_behind_the_application

    _, candidates = reviewed
    add_entry_behind_the_application(rfp.shortlist, candidates[0])  # Vendor 0, never approved
    assert shortlists.manifest(rfp.shortlist)[0]["valid"] is False
    packets = generate(rfp, users["procurement"], django_capture_on_commit_callbacks)
    assert [p.candidate.vendor.name for p in packets] == ["Vendor 2", "Vendor 3"]
