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
from django.core.files.storage import default_storage, storages
from django.core.files.uploadedfile import SimpleUploadedFile
from pypdf import PdfReader
from storages.backends.s3 import S3Storage

from audits import services as audit_services
from audits.models import AuditReport
from rfp import services as rfp_services
from rfp.models import Packet
from tests.factories import PASSWORD, SiteFactory
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

    from core.storage import StorageUnavailable

    store = storages["default"]
    with pytest.raises(FileNotFoundError):
        store.open("no/such/object.pdf").read()
    missing = {**settings.STORAGES["default"]}
    missing["OPTIONS"] = {**missing["OPTIONS"], "bucket_name": "vendorselect-no-such-bucket"}
    settings.STORAGES = {**settings.STORAGES, "default": missing}
    with pytest.raises(StorageUnavailable) as refused:
        storages["default"].save("x.pdf", ContentFile(b"%PDF-1.4"))
    assert isinstance(refused.value, OSError)
