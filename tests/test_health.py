"""Liveness and readiness (database, broker, storage), beat's health command, and the request id:
answered in a header, on the request's log lines and on those of the task it queued (a real worker)."""

import io
import json
import logging
import os
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.db.backends.utils import CursorWrapper

from core.tasks import BEAT_TICK_KEY, relay_outbox
from tests.test_storage import Bucket, s3_server  # noqa: F401 - the S3 server fixture
from vendors.models import ImportJob
from vendorselect.celery import app as celery_app
from vendorselect.logging import JsonFormatter, RequestIdFilter
from vendorselect.settings import s3_storage

ROOT = Path(__file__).resolve().parent.parent


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.django_db
def test_liveness_needs_no_database_and_readiness_names_what_failed(client, monkeypatch):
    assert client.get("/healthz/ready").json() == {
        "status": "ok",
        "checks": {"database": "ok", "broker": "ok", "storage": "ok"},
    }

    def gone(self, *args, **kwargs):
        raise OSError("connection refused")

    monkeypatch.setattr(CursorWrapper, "execute", gone)
    live = client.get("/healthz/live")
    assert (live.status_code, live.json()) == (200, {"status": "ok"})
    for path in ("/healthz/ready", "/healthz"):
        ready = client.get(path)
        assert ready.status_code == 503, path
        assert ready.json()["status"] == "unavailable: database"
        assert ready.json()["checks"]["database"] == "failed (OSError)"  # no details for anonymous callers
        assert ready["Cache-Control"].startswith("max-age=0")


@pytest.mark.django_db
def test_readiness_fails_when_the_broker_is_down(client, monkeypatch, settings):
    monkeypatch.setenv("CELERY_BROKER_URL", f"redis://127.0.0.1:{_closed_port()}/0")  # nothing listens
    started = time.monotonic()
    ready = client.get("/healthz/ready")
    assert time.monotonic() - started < settings.HEALTH_CHECK_TIMEOUT + 5
    assert ready.status_code == 503
    assert ready.json()["status"] == "unavailable: broker"
    assert ready.json()["checks"]["database"] == ready.json()["checks"]["storage"] == "ok"
    monkeypatch.setenv("CELERY_BROKER_URL", "redis://127.0.0.1:6379/2")
    assert client.get("/healthz/ready").status_code == 200


@pytest.mark.django_db
def test_readiness_checks_the_bucket_and_the_media_directory(client, settings, s3_server, tmp_path):  # noqa: F811
    store = Bucket(s3_server, f"vendorselect-{uuid.uuid4().hex[:12]}")
    settings.STORAGES = {**settings.STORAGES, "default": s3_storage(store.env())}
    missing = client.get("/healthz/ready")
    assert (missing.status_code, missing.json()["status"]) == (503, "unavailable: storage")
    store.client.create_bucket(Bucket=store.name)
    assert client.get("/healthz/ready").status_code == 200
    settings.STORAGES = {
        **settings.STORAGES,
        "default": s3_storage(store.env(AWS_S3_ENDPOINT_URL=f"http://127.0.0.1:{_closed_port()}")),
    }
    assert client.get("/healthz/ready").json()["checks"]["storage"].startswith("failed")

    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    settings.STORAGES = {**settings.STORAGES, "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"}}
    settings.MEDIA_ROOT = blocker / "media"  # cannot be created
    assert client.get("/healthz/ready").json()["checks"]["storage"] == "failed (NotADirectoryError)"
    settings.MEDIA_ROOT = tmp_path / "media" / "not-yet"  # created with the first file
    assert client.get("/healthz/ready").status_code == 200


def test_beat_health_fails_without_a_recent_tick(db):
    cache.delete(BEAT_TICK_KEY)
    with pytest.raises(CommandError, match="No beat tick"):
        call_command("beat_health", "--max-age", "180")
    relay_outbox.apply()
    out = io.StringIO()
    call_command("beat_health", "--max-age", "180", stdout=out)
    assert "Last beat tick" in out.getvalue()
    cache.set(BEAT_TICK_KEY, time.time() - 600, timeout=None)
    with pytest.raises(CommandError, match="more than 180 s"):
        call_command("beat_health", "--max-age", "180")


@pytest.mark.django_db
def test_the_request_id_is_answered_and_on_the_requests_log_lines(client, users):
    given = "lb-7f3a9c21-0001"
    response = client.get("/healthz/live", HTTP_X_REQUEST_ID=given)
    assert response["X-Request-ID"] == given
    made = client.get("/healthz/live", HTTP_X_REQUEST_ID="bad id\nwith a newline")["X-Request-ID"]
    assert made != "bad id\nwith a newline" and len(made) == 32
    assert client.get("/healthz/live")["X-Request-ID"] != made

    # A log line written during the request, through the handler the settings build for LOG_FORMAT=json.
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(JsonFormatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        client.force_login(users["procurement"])
        client.get("/rfps/packets/999999/pdf/", HTTP_X_REQUEST_ID=given)  # Django logs the 404
    finally:
        root.removeHandler(handler)
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert any(line["request_id"] == given and line["level"] == "WARNING" for line in lines), lines
    assert {"time", "level", "logger", "message"} <= set(lines[0])


def _database_url() -> str:
    from django.db import connection

    db = connection.settings_dict
    return f"postgres://{db['USER'] or 'postgres'}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
@pytest.mark.timeout(120)
def test_the_request_id_reaches_the_log_lines_of_the_task_it_queued(client, tmp_path):
    """A real worker (LOG_FORMAT=json) on the configured broker runs the import check that a request
    queued: its lines carry the request's id."""
    from vendorselect.management.commands.seed_demo import Command

    Command().ensure_reference_data()
    from accounts.roles import PROCUREMENT_LEAD
    from tests.factories import UserFactory

    log = tmp_path / "worker.log"
    env = {
        **os.environ,
        "DATABASE_URL": _database_url(),
        "DJANGO_SETTINGS_MODULE": os.environ.get("DJANGO_SETTINGS_MODULE", "vendorselect.test_settings"),
        "CELERY_TASK_ALWAYS_EAGER": "0",
        "LOG_FORMAT": "json",
    }
    with log.open("w") as output:
        worker = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "vendorselect",
                "worker",
                "--pool=solo",
                "--loglevel=info",
                "--without-heartbeat",
                "--without-gossip",
                "--without-mingle",
            ],
            cwd=ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    previous = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = False
    request_id = f"req-{uuid.uuid4().hex}"
    try:
        client.force_login(UserFactory(username="rid-lead", roles=[PROCUREMENT_LEAD]))
        response = client.post(
            "/vendors/imports/",
            {"target": "vendors", "file": SimpleUploadedFile("v.csv", b"name,kinds,country\nRid Pharma,CDMO,US\n")},
            HTTP_X_REQUEST_ID=request_id,
        )
        assert response.status_code == 302 and response["X-Request-ID"] == request_id
        job = ImportJob.objects.get()
        deadline = time.monotonic() + 90
        while job.status not in ("ready", "invalid", "failed"):
            assert worker.poll() is None and time.monotonic() < deadline, log.read_text()[-3000:]
            time.sleep(0.2)
            job.refresh_from_db()
        assert job.status == "ready", job.report
    finally:
        celery_app.conf.task_always_eager = previous
        worker.terminate()
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()
    records = []
    for line in log.read_text().splitlines():
        try:
            records.append(json.loads(line))
        except ValueError:
            continue  # Celery's start-up banner is not a log record
    mine = [r for r in records if r.get("request_id") == request_id]
    assert any(r.get("task_name") == "vendors.tasks.import_check" for r in mine), log.read_text()[-3000:]
    assert any("succeeded" in r["message"] for r in mine), [r["message"] for r in mine]
