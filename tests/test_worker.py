"""Integration with a real Celery worker process on the configured broker (Redis in CI)."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection

from vendors.models import ImportJob, Vendor
from vendorselect.celery import app as celery_app

ROOT = Path(__file__).resolve().parent.parent


def _database_url() -> str:
    db = connection.settings_dict
    if db["ENGINE"] != "django.db.backends.postgresql":
        pytest.skip("the worker shares the test database only on PostgreSQL")
    user = db["USER"] or "postgres"
    return f"postgres://{user}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


@pytest.fixture
def worker():
    env = {
        **os.environ,
        "DATABASE_URL": _database_url(),
        "DJANGO_SETTINGS_MODULE": "vendorselect.test_settings",
        "CELERY_TASK_ALWAYS_EAGER": "0",
    }
    process = subprocess.Popen(
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
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    previous = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = False
    yield process
    celery_app.conf.task_always_eager = previous
    process.terminate()
    try:
        output, _ = process.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        output, _ = process.communicate()
    print(output[-4000:])


def _wait_for(job: ImportJob, statuses: set[str], timeout: float = 60) -> ImportJob:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job.refresh_from_db()
        if job.status in statuses:
            return job
        time.sleep(0.2)
    raise AssertionError(f"job stayed {job.status} for {timeout}s")


@pytest.fixture
def reference_data(transactional_db):
    """Roles and vocabularies, re-applied: an earlier transactional test may have flushed them.
    (Not serialized_rollback: reloading the append-only trail tables is refused by design.)"""
    from vendorselect.management.commands.seed_demo import Command

    Command().ensure_reference_data()


@pytest.mark.worker
def test_import_runs_in_a_real_worker(worker, reference_data, client):
    from accounts.roles import PROCUREMENT_LEAD
    from tests.factories import UserFactory

    client.force_login(UserFactory(username="worker-lead", roles=[PROCUREMENT_LEAD]))
    rows = "".join(f"Worker Vendor {i:04d},CDMO;CRO,US\n" for i in range(1500))
    response = client.post(
        "/vendors/imports/",
        {
            "target": "vendors",
            "file": SimpleUploadedFile("big.csv", ("name,kinds,country\n" + rows).encode()),
        },
    )
    assert response.status_code == 302
    job = ImportJob.objects.get()
    job = _wait_for(job, {"ready", "invalid", "failed"})
    assert job.status == "ready", job.report
    assert job.report["counts"]["create"] == 1500
    assert Vendor.objects.count() == 0
    client.post(f"/vendors/imports/{job.pk}/confirm/")
    job = _wait_for(job, {"done", "invalid", "failed"})
    assert job.status == "done", job.report
    assert Vendor.objects.filter(name__startswith="Worker Vendor").count() == 1500
    page = client.get(f"/vendors/imports/{job.pk}/").content.decode()
    assert "1500 created" in page
