"""Files on an S3-compatible bucket (settings.s3_storage): a real S3 server (moto's server mode, from
requirements-dev.txt) on a loopback port. Uploads and generated files go through the services into
the bucket, private and encrypted; downloads are streamed by the app after its permission check."""

import io
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
import zipfile
from datetime import date, timedelta
from pathlib import Path

import boto3
import pytest
from celery.exceptions import Retry
from django.contrib.messages import get_messages
from django.core.files.storage import default_storage, storages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import DatabaseError, transaction
from django.test import Client
from pypdf import PdfReader
from rest_framework.test import APIClient
from storages.backends.s3 import S3Storage

from audits import services as audit_services
from audits.models import AuditReport
from core.models import OutboxMessage
from core.storage import MISSING, NOT_READ, NOT_SAVED, StorageUnavailable
from rfp import bidding
from rfp import services as rfp_services
from rfp.models import Packet, Rfp, RfpAttachment
from rfp.tasks import render_packet
from tests.factories import PASSWORD, SiteFactory
from vendors.models import ImportJob
from vendorselect import builders
from vendorselect.settings import s3_storage

pytestmark = pytest.mark.django_db
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "vendorselect-test", "AWS_SECRET_ACCESS_KEY": "vendorselect-test-secret"}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def s3_server():
    """`moto_server` on a free loopback port for this module's tests; stopped after them."""
    executable = Path(sys.executable).with_name("moto_server")
    assert executable.exists(), "moto[server] (requirements-dev.txt) provides moto_server"
    port = _free_port()
    server = subprocess.Popen(
        [str(executable), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 30
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            assert server.poll() is None and time.monotonic() < deadline, "moto_server did not start"
            time.sleep(0.1)
    yield f"http://127.0.0.1:{port}"
    server.terminate()
    try:
        server.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


class Bucket:
    def __init__(self, endpoint: str, name: str):
        self.endpoint, self.name = endpoint, name
        self.client = boto3.client(
            "s3",
            endpoint_url=endpoint,
            region_name="us-east-1",
            aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        )

    def env(self, **extra) -> dict:
        return {
            "AWS_STORAGE_BUCKET_NAME": self.name,
            "AWS_S3_ENDPOINT_URL": self.endpoint,
            "AWS_S3_REGION_NAME": "us-east-1",
            **CREDENTIALS,
            **extra,
        }

    def keys(self, prefix: str = "") -> list[str]:
        listing = self.client.list_objects_v2(Bucket=self.name, Prefix=prefix)
        return sorted(item["Key"] for item in listing.get("Contents", []))

    def get(self, key: str) -> bytes:
        return self.client.get_object(Bucket=self.name, Key=key)["Body"].read()

    def encryption(self, key: str) -> str | None:
        return self.client.head_object(Bucket=self.name, Key=key).get("ServerSideEncryption")

    def anonymous_get(self, key: str) -> int:
        """An unsigned GET straight to the S3 server, as anyone who learnt the object's address would."""
        try:
            with urllib.request.urlopen(f"{self.endpoint}/{self.name}/{key}", timeout=10) as response:  # noqa: S310
                return response.status
        except urllib.error.HTTPError as error:
            return error.code


@pytest.fixture
def bucket(s3_server, settings):
    """A new bucket, and the default storage pointed at it as the settings do from the environment."""
    store = Bucket(s3_server, f"vendorselect-{uuid.uuid4().hex[:12]}")
    store.client.create_bucket(Bucket=store.name)
    settings.STORAGES = {**settings.STORAGES, "default": s3_storage(store.env())}
    assert isinstance(storages["default"], S3Storage)  # what default_storage, and so every FileField, uses
    return store


def _pdf_text(data: bytes) -> str:
    return " ".join(" ".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages).split())


def _streamed(response) -> bytes:
    assert response.status_code == 200, response.status_code
    return b"".join(response.streaming_content)


def test_settings_choose_the_bucket_only_when_one_is_configured(s3_server):
    options = s3_storage(Bucket(s3_server, "vendorselect-files").env(AWS_LOCATION="media"))
    assert options["BACKEND"] == "core.storage.S3Storage"
    opts = options["OPTIONS"]
    assert (opts["bucket_name"], opts["location"], opts["endpoint_url"]) == ("vendorselect-files", "media", s3_server)
    assert opts["default_acl"] is None and opts["querystring_auth"] is False and opts["file_overwrite"] is False
    assert opts["object_parameters"] == {"ServerSideEncryption": "AES256"}
    kms = s3_storage(
        {"AWS_STORAGE_BUCKET_NAME": "b", "AWS_S3_SERVER_SIDE_ENCRYPTION": "aws:kms", "AWS_S3_SSE_KMS_KEY_ID": "k"}
    )
    assert kms["OPTIONS"]["object_parameters"] == {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": "k"}
    # Without a bucket the suite (like one host) keeps the file system.
    from django.conf import settings

    assert settings.STORAGES["default"]["BACKEND"] == "django.core.files.storage.FileSystemStorage"


def test_rfp_attachment_and_packets_go_to_the_bucket_private_and_encrypted(
    bucket, users, reviewed, client, django_capture_on_commit_callbacks
):
    evaluation, candidates = reviewed
    shortlist = builders.approved_shortlist(
        evaluation=evaluation,
        proposer=users["procurement"],
        approvers=[users["manager"]],
        candidates=candidates[2:],
        password=PASSWORD,
    )
    rfp = builders.rfp_for(shortlist, users["procurement"])
    cda = b"%PDF-1.4\nConfidentiality agreement " + uuid.uuid4().hex.encode() + b"\n%%EOF\n"
    attachment = rfp_services.attachment_add(
        rfp=rfp, user=users["procurement"], upload=SimpleUploadedFile("CDA.pdf", cda)
    )
    assert bucket.keys("rfp-attachments/") == [attachment.file.name]
    assert bucket.get(attachment.file.name) == cda

    with django_capture_on_commit_callbacks(execute=True):  # the outbox relays; eager tasks render
        rfp_services.rfp_generate(rfp=rfp, user=users["procurement"])
    packets = list(Packet.objects.filter(rfp=rfp).order_by("pk"))
    assert [p.status for p in packets] == ["done", "done"]
    stored = bucket.keys("packets/")
    assert stored == sorted(name for p in packets for name in (p.pdf.name, p.questionnaire.name, p.bundle.name))
    for key in [*stored, attachment.file.name]:
        assert bucket.encryption(key) == "AES256", key
        assert bucket.anonymous_get(key) == 403, key  # private: no unsigned read

    # The app streams the bytes back after its permission check.
    packet = packets[0]
    client.force_login(users["procurement"])
    pdf = _streamed(client.get(f"/rfps/packets/{packet.pk}/pdf/"))
    assert pdf == bucket.get(packet.pdf.name)
    assert packet.candidate.vendor.name in _pdf_text(pdf) and "Request for proposals" in _pdf_text(pdf)
    bundle = _streamed(client.get(f"/rfps/packets/{packet.pk}/zip/"))
    assert bundle == bucket.get(packet.bundle.name)
    assert zipfile.ZipFile(io.BytesIO(bundle)).read("attachments/CDA.pdf") == cda
    client.logout()
    anonymous = client.get(f"/rfps/packets/{packet.pk}/pdf/")
    assert anonymous.status_code == 302 and "/login/" in anonymous["Location"]
    client.force_login(users["admin"])  # no business role: the RFP is not theirs to see
    assert client.get(f"/rfps/packets/{packet.pk}/pdf/").status_code == 404


def test_audit_report_and_evidence_go_to_the_bucket_and_download_after_the_check(
    bucket, users, client, django_capture_on_commit_callbacks
):
    audit = builders.audit_with_findings(
        site=SiteFactory(),
        auditor=users["auditor"],
        scope=["production"],
        findings=[
            {
                "severity": "minor",
                "area": "production",
                "description": "Line clearance record missing a second signature.",
                "capa_due_date": date.today() + timedelta(days=30),
            }
        ],
    )
    evidence = b"%PDF-1.4\nphoto of the logbook\n%%EOF\n"
    attachment = audit_services.attachment_add(
        finding=audit.findings.get(), user=users["auditor"], upload=SimpleUploadedFile("logbook.pdf", evidence)
    )
    with django_capture_on_commit_callbacks(execute=True):
        report = audit_services.report_request(audit=audit, user=users["auditor"])
    report = AuditReport.objects.get(pk=report.pk)
    assert report.status == "done", report.error
    assert bucket.keys("audit-reports/") == [report.file.name]
    assert bucket.keys("findings/") == [attachment.file.name]
    for key in (report.file.name, attachment.file.name):
        assert bucket.encryption(key) == "AES256"
        assert bucket.anonymous_get(key) == 403

    client.force_login(users["auditor"])
    pdf = _streamed(client.get(f"/audits/reports/{report.pk}/"))
    assert pdf == bucket.get(report.file.name) and audit.reference in _pdf_text(pdf)
    assert _streamed(client.get(f"/audits/attachments/{attachment.pk}/")) == evidence
    client.logout()
    for path in (f"/audits/reports/{report.pk}/", f"/audits/attachments/{attachment.pk}/"):
        assert client.get(path).status_code == 302  # to the sign-in page
    client.force_login(users["admin"])
    for path in (f"/audits/reports/{report.pk}/", f"/audits/attachments/{attachment.pk}/"):
        assert client.get(path).status_code == 404


def test_a_public_object_would_be_readable_so_the_refusals_above_mean_private(bucket):
    """The control for `anonymous_get`: this server does serve an object whose ACL is public-read."""
    bucket.client.put_object(Bucket=bucket.name, Key="public.txt", Body=b"x", ACL="public-read")
    assert bucket.anonymous_get("public.txt") == 200
    name = default_storage.save("probe/private.txt", io.BytesIO(b"y"))
    assert bucket.anonymous_get(name) == 403 and bucket.encryption(name) == "AES256"
    bucket.client.put_object(Bucket=bucket.name, Key="plain.txt", Body=b"z")
    assert bucket.encryption("plain.txt") is None  # encryption is ours, not the server's default


def test_a_bucket_that_does_not_answer_is_an_oserror_the_tasks_retry(bucket, settings):
    """botocore's errors become core.storage.StorageUnavailable (an OSError): the packet and report
    tasks retry it as they retry a full disk, and a missing object stays FileNotFoundError."""
    from django.core.files.base import ContentFile

    store = storages["default"]
    with pytest.raises(FileNotFoundError):
        store.open("no/such/object.pdf").read()
    missing = {**settings.STORAGES["default"]}
    missing["OPTIONS"] = {**missing["OPTIONS"], "bucket_name": "vendorselect-no-such-bucket"}
    settings.STORAGES = {**settings.STORAGES, "default": missing}
    with pytest.raises(StorageUnavailable) as refused:
        storages["default"].save("x.pdf", ContentFile(b"%PDF-1.4"))
    assert isinstance(refused.value, OSError)


# --- Storage that does not answer, objects gone behind records, records whose files stay -----------------


def _pointed_at(settings, endpoint: str, bucket_name: str, **config) -> None:
    """The default storage as the settings make it, for `endpoint`; one attempt per request (the
    production config retries 3 times with backoff: the same outcome, slower)."""
    from botocore.config import Config

    options = s3_storage(Bucket(endpoint, bucket_name).env())
    options["OPTIONS"]["client_config"] = Config(
        connect_timeout=2, read_timeout=5, retries={"max_attempts": 1, "mode": "standard"}, **config
    )
    settings.STORAGES = {**settings.STORAGES, "default": options}


@pytest.fixture
def storage_down(bucket, settings):
    """The storage pointed at a loopback port where nothing listens (an endpoint that is down, or
    wrong): every request is refused. Returns a function that brings the bucket back."""
    _pointed_at(settings, f"http://127.0.0.1:{_free_port()}", bucket.name)
    return lambda: _pointed_at(settings, bucket.endpoint, bucket.name)


@pytest.fixture
def rfp_world(users, reviewed):
    evaluation, candidates = reviewed
    shortlist = builders.approved_shortlist(
        evaluation=evaluation,
        proposer=users["procurement"],
        approvers=[users["manager"]],
        candidates=candidates[2:],
        password=PASSWORD,
    )
    return builders.rfp_for(shortlist, users["procurement"], co_opener=users["manager"])


def _cda() -> SimpleUploadedFile:
    return SimpleUploadedFile("CDA.pdf", b"%PDF-1.4\nConfidentiality agreement\n%%EOF\n")


def test_storage_unavailable_is_a_refusal_of_kind_unavailable_and_an_oserror():
    from core.errors import Kind, ServiceError, refusal_response

    error = StorageUnavailable(detail="EndpointConnectionError: Could not connect")
    assert isinstance(error, ServiceError) and isinstance(error, OSError)
    assert error.kind == Kind.UNAVAILABLE and error.status == 503 and error.message == NOT_SAVED
    assert str(error) == f"{NOT_SAVED} (EndpointConnectionError: Could not connect)"  # logs, a failed job
    response = refusal_response(error)
    assert (response.status_code, response.data, response["Retry-After"]) == (503, {"detail": NOT_SAVED}, "30")


def test_an_upload_on_a_page_while_storage_is_down_says_so_and_keeps_nothing(storage_down, bucket, rfp_world, users):
    client = Client(raise_request_exception=False)
    client.force_login(users["procurement"])
    response = client.post(f"/rfps/{rfp_world.pk}/attachments/", {"upload": _cda()})
    assert response.status_code == 302, response.status_code  # back to the RFP, not a 500
    assert [str(m) for m in get_messages(response.wsgi_request)] == [NOT_SAVED]
    assert not RfpAttachment.objects.exists() and bucket.keys() == []

    # An import file on the register's import page: the form says so, no job is kept.
    csv = SimpleUploadedFile("vendors.csv", b"name,kinds,country\nStorage Outage Labs,CRO,DE\n")
    response = client.post("/vendors/imports/", {"target": "vendors", "file": csv})
    assert response.status_code == 200 and NOT_SAVED in response.content.decode()
    assert not ImportJob.objects.exists()

    storage_down()  # the bucket answers again: the same upload goes through
    response = client.post(f"/rfps/{rfp_world.pk}/attachments/", {"upload": _cda()})
    assert response.status_code == 302
    assert bucket.keys() == [RfpAttachment.objects.get().file.name]


def test_an_api_upload_while_storage_is_down_answers_503_and_keeps_nothing(storage_down, bucket, rfp_world, users):
    api = APIClient()
    api.force_authenticate(users["procurement"])
    response = api.post(f"/api/v1/rfps/{rfp_world.pk}/attachments/", {"file": _cda()}, format="multipart")
    assert response.status_code == 503, response.content
    assert response.json() == {"detail": NOT_SAVED} and response["Retry-After"] == "30"
    assert not RfpAttachment.objects.exists()

    # An import file: neither the job nor its outbox message is kept.
    messages = OutboxMessage.objects.count()
    csv = SimpleUploadedFile("vendors.csv", b"name,kinds,country\nStorage Outage Labs,CRO,DE\n")
    response = api.post("/api/v1/imports/", {"target": "vendors", "file": csv}, format="multipart")
    assert response.status_code == 503, response.content
    assert response.json() == {"detail": NOT_SAVED}
    assert not ImportJob.objects.exists() and OutboxMessage.objects.count() == messages
    assert bucket.keys() == []


def _deliver(packet_id: int, retries: int) -> None:
    """One delivery of the packet's task message, as a worker runs it (the first, or a retry of the
    same task id: eager tasks raise their Retry instead of waiting for the countdown)."""
    render_packet.apply(args=[packet_id], task_id=f"render-{packet_id}", retries=retries)


def test_packets_rendered_while_storage_is_down_fail_after_the_retries_with_the_reason_and_nothing_half_written(
    storage_down, bucket, rfp_world, users, django_capture_on_commit_callbacks
):
    packets = rfp_services.rfp_generate(rfp=rfp_world, user=users["procurement"])  # messages left pending
    assert len(packets) == 2
    for packet in packets:
        for attempt in range(render_packet.max_retries):
            with pytest.raises(Retry):
                _deliver(packet.pk, attempt)
            waiting = Packet.objects.get(pk=packet.pk)  # rendering under the same claim, no file recorded
            assert (waiting.status, waiting.claim, waiting.error, waiting.pdf.name) == (
                "rendering",
                f"render-{packet.pk}",
                "",
                "",
            )
        _deliver(packet.pk, render_packet.max_retries)
    for packet in Packet.objects.filter(rfp=rfp_world):
        assert packet.status == Packet.Status.FAILED
        assert packet.error.startswith(f"Gave up after 5 attempts: {NOT_SAVED} (EndpointConnectionError"), packet.error
        assert (packet.pdf.name, packet.questionnaire.name, packet.bundle.name, packet.sha256) == ("", "", "", "")
    assert bucket.keys() == []

    storage_down()  # back: the lead queues them again and they are generated
    with django_capture_on_commit_callbacks(execute=True):
        for packet in packets:
            rfp_services.packet_retry(packet=Packet.objects.get(pk=packet.pk), user=users["procurement"])
    assert {p.status for p in Packet.objects.filter(rfp=rfp_world)} == {Packet.Status.DONE}
    assert len(bucket.keys("packets/")) == 6


@pytest.fixture
def restartable_s3(settings):
    """A moto server of this test's own, which the test kills and starts again on the same port (its
    objects are in memory: a restarted server is empty, and the bucket is created again)."""
    executable = Path(sys.executable).with_name("moto_server")
    port = _free_port()

    class Server:
        endpoint = f"http://127.0.0.1:{port}"
        bucket = Bucket(f"http://127.0.0.1:{port}", f"vendorselect-{uuid.uuid4().hex[:12]}")
        process = None

        def start(self) -> None:
            self.process = subprocess.Popen(
                [str(executable), "-H", "127.0.0.1", "-p", str(port)],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
            )
            deadline = time.monotonic() + 30
            while True:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                    break
                except OSError:
                    assert self.process.poll() is None and time.monotonic() < deadline, "moto_server did not start"
                    time.sleep(0.1)
            self.bucket.client.create_bucket(Bucket=self.bucket.name)

        def kill(self) -> None:
            if self.process and self.process.poll() is None:
                self.process.kill()
                self.process.wait()

    server = Server()
    server.start()
    _pointed_at(settings, server.endpoint, server.bucket.name)
    yield server
    server.kill()


def test_a_packet_whose_render_met_a_dead_s3_server_is_retried_and_done_once_the_server_is_back(
    restartable_s3, rfp_world, users
):
    packets = rfp_services.rfp_generate(rfp=rfp_world, user=users["procurement"])
    restartable_s3.kill()
    with pytest.raises(Retry) as retry:
        _deliver(packets[0].pk, 0)
    assert NOT_SAVED in str(retry.value)
    restartable_s3.start()  # the supervisor starts the S3 server again while the task waits for its retry
    _deliver(packets[0].pk, 1)
    _deliver(packets[1].pk, 0)
    packets = list(Packet.objects.filter(rfp=rfp_world).order_by("pk"))
    assert [(p.status, p.error) for p in packets] == [("done", ""), ("done", "")]
    stored = sorted(name for p in packets for name in (p.pdf.name, p.questionnaire.name, p.bundle.name))
    assert restartable_s3.bucket.keys("packets/") == stored  # every file once, none left over
    assert packets[0].candidate.vendor.name in _pdf_text(restartable_s3.bucket.get(packets[0].pdf.name))


def test_a_download_whose_object_is_gone_says_so_and_one_while_storage_is_down_answers_503(
    bucket, rfp_world, users, client, django_capture_on_commit_callbacks, settings
):
    """A page (a packet's PDF) and the API (an opened sealed proposal)."""
    with django_capture_on_commit_callbacks(execute=True):
        rfp_services.rfp_generate(rfp=rfp_world, user=users["procurement"])
    packet = Packet.objects.filter(rfp=rfp_world).order_by("pk").first()
    invitation = builders.invited(rfp_world, users["procurement"], packet.candidate)
    sealed = builders.sealed_proposal(invitation)
    today = date.today()
    Rfp.objects.filter(pk=rfp_world.pk).update(
        issue_date=today - timedelta(days=40),
        questions_due=today - timedelta(days=20),
        proposal_due=today - timedelta(days=1),
    )
    for opener in (users["procurement"], users["manager"]):
        bidding.open_proposals(
            rfp=Rfp.objects.get(pk=rfp_world.pk), user=opener, password=PASSWORD, request=builders.signing_request()
        )
    page = Client(raise_request_exception=False)
    page.force_login(users["procurement"])
    api = APIClient()
    api.force_authenticate(users["procurement"])
    pdf_path, file_path = (
        f"/rfps/packets/{packet.pk}/pdf/",
        f"/api/v1/rfps/{rfp_world.pk}/submissions/files/{sealed.pk}/",
    )
    assert _streamed(page.get(pdf_path)).startswith(b"%PDF-")
    assert _streamed(api.get(file_path)).startswith(b"%PDF-")

    live = settings.STORAGES["default"]
    _pointed_at(settings, f"http://127.0.0.1:{_free_port()}", bucket.name)
    down = api.get(file_path)
    assert down.status_code == 503 and down.json() == {"detail": NOT_READ} and down["Retry-After"] == "30"
    down = page.get(pdf_path)
    assert down.status_code == 503 and NOT_READ in down.content.decode()
    settings.STORAGES = {**settings.STORAGES, "default": live}

    bucket.client.delete_object(Bucket=bucket.name, Key=packet.pdf.name)
    bucket.client.delete_object(Bucket=bucket.name, Key=sealed.file.name)
    gone = api.get(file_path)
    assert gone.status_code == 404 and gone.json() == {"detail": MISSING}
    gone = page.get(pdf_path)
    assert gone.status_code == 404 and MISSING in gone.content.decode()


def test_a_records_stored_file_cannot_be_deleted_through_the_app_and_the_database_refuses_its_row(
    bucket, rfp_world, users
):
    attachment = rfp_services.attachment_add(rfp=rfp_world, user=users["procurement"], upload=_cda())
    with pytest.raises(DatabaseError), transaction.atomic():
        RfpAttachment.objects.filter(pk=attachment.pk).delete()
    with pytest.raises(DatabaseError), transaction.atomic():
        attachment.delete()
    assert RfpAttachment.objects.filter(pk=attachment.pk).exists()
    assert bucket.keys("rfp-attachments/") == [attachment.file.name]  # Django never deletes a row's file
    assert bucket.get(attachment.file.name) == attachment.file.open("rb").read()
