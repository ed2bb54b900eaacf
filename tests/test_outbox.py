"""One path for background work (core.outbox): audit reports, imports and notification e-mails go
through the same outbox, claims and sweep as the RFP packets (tests/rfp/test_rfp.py)."""

from contextlib import contextmanager
from datetime import timedelta

import pytest
from celery.exceptions import Retry
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.utils import timezone

from accounts import notifications
from accounts.models import Notification
from audits import report as audit_reports
from audits import services as audit_services
from audits.models import AuditReport
from audits.tasks import render_audit_report
from core import outbox
from core.models import OutboxMessage
from tests.audits.test_report_limits import drafted  # noqa: F401 - fixture
from vendors import services as vendor_services
from vendors.models import ImportJob, Vendor

pytestmark = pytest.mark.django_db

VENDORS_CSV = b"name,kinds,country\nOutbox Alpha,CDMO;CRO,US\nOutbox Beta,CMO,DE\n"


def sweep(source) -> dict[str, int]:
    """Beat's sweep, of one kind of work."""
    return outbox.sweep([source])[source.name]


@contextmanager
def published_then_lost(monkeypatch, capture):
    """What runs inside commits and its messages are published, then lost with the broker's queue
    (Redis restarted empty); afterwards the broker's queue is empty."""
    monkeypatch.setattr(outbox, "relay", lambda: 0)
    with capture(execute=True):
        yield
    OutboxMessage.objects.filter(published_at=None).update(published_at=timezone.now())
    monkeypatch.undo()
    monkeypatch.setattr(outbox, "broker_backlog", lambda: 0)


def past_the_time_limit(settings):
    return timezone.now() - timedelta(seconds=2 * settings.CELERY_TASK_TIME_LIMIT + 1)


# --- The outbox itself ------------------------------------------------------------------------------


def test_one_message_per_key_written_with_the_callers_transaction():
    with transaction.atomic():
        outbox.enqueue_on_commit("audits.tasks.render_audit_report", 1, key="work:1")
        outbox.enqueue_on_commit("audits.tasks.render_audit_report", 1, key="work:1")  # announced already
    assert list(OutboxMessage.objects.values_list("key", "args")) == [("work:1", [1])]
    with pytest.raises(RuntimeError), transaction.atomic():
        outbox.enqueue_on_commit("audits.tasks.render_audit_report", 2, key="work:2")
        raise RuntimeError("the caller's work failed")
    assert not OutboxMessage.objects.filter(key="work:2").exists()  # rolled back with it


def test_every_kind_of_work_is_swept():
    assert {"rfp.packet", "audits.report", "vendors.import_check", "vendors.import_apply"} <= set(outbox.SOURCES)


# --- Audit report PDFs ------------------------------------------------------------------------------


def test_a_report_whose_message_was_lost_is_announced_again(
    drafted,  # noqa: F811
    users,
    settings,
    monkeypatch,
    django_capture_on_commit_callbacks,
):
    settings.OUTBOX_REQUEUE_AFTER = 120
    with published_then_lost(monkeypatch, django_capture_on_commit_callbacks):
        item = audit_services.report_request(audit=drafted, user=users["auditor"])
    assert OutboxMessage.objects.get().task == "audits.tasks.render_audit_report"
    assert sweep(audit_reports.REPORTS) == {"announced": 0, "requeued": 0, "failed": 0}  # not long enough yet
    AuditReport.objects.filter(pk=item.pk).update(queued_at=timezone.now() - timedelta(seconds=121))
    monkeypatch.setattr(outbox, "broker_backlog", lambda: 3)  # a long queue still being worked through
    assert sweep(audit_reports.REPORTS)["announced"] == 0
    monkeypatch.setattr(outbox, "broker_backlog", lambda: 0)
    assert sweep(audit_reports.REPORTS) == {"announced": 1, "requeued": 0, "failed": 0}
    assert sweep(audit_reports.REPORTS)["announced"] == 0  # once per interval, not every run
    assert outbox.relay() == 1  # eager: renders it
    done = AuditReport.objects.get(pk=item.pk)
    assert (done.status, done.attempts) == ("done", 1) and done.pages >= 1 and len(done.sha256) == 64
    # The original message turns up after all (it was only late): a no-op, nothing rendered twice.
    render_audit_report.apply(args=[item.pk], task_id="the-original-message")
    again = AuditReport.objects.get(pk=item.pk)
    assert (again.file.name, again.attempts, again.status) == (done.file.name, 1, "done")


def test_a_dead_report_render_is_queued_again_and_a_poison_report_fails(
    drafted,  # noqa: F811
    users,
    settings,
    django_capture_on_commit_callbacks,
):
    settings.OUTBOX_MAX_ATTEMPTS = 3
    auditor = users["auditor"]
    dead = AuditReport.objects.create(audit=drafted, requested_by=auditor)
    poison = AuditReport.objects.create(audit=drafted, requested_by=auditor)
    running = AuditReport.objects.create(audit=drafted, requested_by=auditor)
    gone = past_the_time_limit(settings)
    # Worker died mid-render and Redis lost the unacknowledged message; the third one is still running.
    AuditReport.objects.filter(pk=dead.pk).update(status="rendering", claim="dead-task", started_at=gone, attempts=1)
    AuditReport.objects.filter(pk=poison.pk).update(status="rendering", claim="dead-3", started_at=gone, attempts=3)
    AuditReport.objects.filter(pk=running.pk).update(status="rendering", claim="live", started_at=timezone.now())
    assert sweep(audit_reports.REPORTS) == {"announced": 0, "requeued": 1, "failed": 1}
    with django_capture_on_commit_callbacks(execute=True):
        outbox.relay()
    done = AuditReport.objects.get(pk=dead.pk)
    assert (done.status, done.attempts, done.error) == ("done", 2, "")
    failed = AuditReport.objects.get(pk=poison.pk)
    assert failed.status == "failed" and "Gave up after 3 attempts" in failed.error and failed.finished_at
    assert AuditReport.objects.get(pk=running.pk).status == "rendering"  # its worker is alive: left alone
    # A late delivery of the dead worker's message cannot take the report from its new owner.
    assert audit_reports.render_report(AuditReport.objects.get(pk=running.pk), claim="dead-task") is None


def test_a_transient_storage_error_is_retried_under_the_same_claim(
    drafted,  # noqa: F811
    users,
    monkeypatch,
):
    from django.db.models.fields.files import FieldFile

    item = AuditReport.objects.create(audit=drafted, requested_by=users["auditor"])
    save, calls = FieldFile.save, []

    def flaky(self, name, content, **kwargs):
        calls.append(name)
        if len(calls) == 1:
            raise OSError("disk full")
        return save(self, name, content, **kwargs)

    monkeypatch.setattr(FieldFile, "save", flaky)
    with pytest.raises(Retry):
        render_audit_report.apply(args=[item.pk], task_id="delivery-1")
    waiting = AuditReport.objects.get(pk=item.pk)
    assert (waiting.status, waiting.claim, waiting.error) == ("rendering", "delivery-1", "")  # not failed
    assert audit_reports.render_report(waiting, claim="another-delivery") is None
    render_audit_report.apply(args=[item.pk], task_id="delivery-1")  # the retry keeps its task id
    done = AuditReport.objects.get(pk=item.pk)
    assert (done.status, done.attempts, len(calls)) == ("done", 2, 2)


# --- Imports ------------------------------------------------------------------------------------------


def test_import_steps_whose_messages_were_lost_are_announced_again(
    users, settings, monkeypatch, django_capture_on_commit_callbacks
):
    settings.OUTBOX_REQUEUE_AFTER = 120
    lead = users["procurement"]
    with published_then_lost(monkeypatch, django_capture_on_commit_callbacks):
        job = vendor_services.import_job_create(
            user=lead, target="vendors", upload=SimpleUploadedFile("vendors.csv", VENDORS_CSV)
        )
    ImportJob.objects.filter(pk=job.pk).update(queued_at=timezone.now() - timedelta(seconds=121))
    assert sweep(vendor_services.IMPORT_CHECKS) == {"announced": 1, "requeued": 0, "failed": 0}
    assert outbox.relay() == 1  # eager: checks it
    job.refresh_from_db()
    assert job.status == "ready" and job.report["counts"]["create"] == 2 and job.attempts == 1

    with published_then_lost(monkeypatch, django_capture_on_commit_callbacks):
        assert vendor_services.import_job_confirm(job=job)
    job.refresh_from_db()
    assert (job.status, job.claim, job.attempts) == ("applying", "", 0)  # confirmed, waiting for a worker
    assert sweep(vendor_services.IMPORT_APPLIES)["announced"] == 0  # not long enough yet
    ImportJob.objects.filter(pk=job.pk).update(queued_at=timezone.now() - timedelta(seconds=121))
    assert sweep(vendor_services.IMPORT_CHECKS)["announced"] == 0  # the check step is over
    assert sweep(vendor_services.IMPORT_APPLIES) == {"announced": 1, "requeued": 0, "failed": 0}
    assert outbox.relay() == 1  # eager: applies it
    job.refresh_from_db()
    assert job.status == "done" and Vendor.objects.filter(name__startswith="Outbox ").count() == 2


def test_a_dead_import_is_run_again_and_a_poison_import_fails(
    users, settings, monkeypatch, django_capture_on_commit_callbacks
):
    settings.OUTBOX_MAX_ATTEMPTS = 2
    lead = users["procurement"]
    with django_capture_on_commit_callbacks(execute=True):
        job = vendor_services.import_job_create(
            user=lead, target="vendors", upload=SimpleUploadedFile("vendors.csv", VENDORS_CSV)
        )
    with published_then_lost(monkeypatch, django_capture_on_commit_callbacks):
        vendor_services.import_job_confirm(job=job)
    # The worker applying it died (its transaction rolled back: nothing written) and the message is gone.
    gone = past_the_time_limit(settings)
    ImportJob.objects.filter(pk=job.pk).update(claim="dead-task", started_at=gone, attempts=1)
    assert Vendor.objects.filter(name__startswith="Outbox ").count() == 0
    assert sweep(vendor_services.IMPORT_APPLIES) == {"announced": 0, "requeued": 1, "failed": 0}
    with django_capture_on_commit_callbacks(execute=True):
        outbox.relay()
    job.refresh_from_db()
    assert (job.status, job.attempts) == ("done", 2)
    assert Vendor.objects.filter(name__startswith="Outbox ").count() == 2

    # A file whose check kills its worker every time: failed after OUTBOX_MAX_ATTEMPTS claims.
    with published_then_lost(monkeypatch, django_capture_on_commit_callbacks):
        poison = vendor_services.import_job_create(
            user=lead, target="vendors", upload=SimpleUploadedFile("again.csv", VENDORS_CSV)
        )
    ImportJob.objects.filter(pk=poison.pk).update(status="validating", claim="dead", started_at=gone, attempts=2)
    assert sweep(vendor_services.IMPORT_CHECKS) == {"announced": 0, "requeued": 0, "failed": 1}
    poison.refresh_from_db()
    assert poison.status == "failed" and "Gave up after 2 attempts" in poison.report["errors"][0]["message"]


# --- Notification e-mails -------------------------------------------------------------------------------


def test_notification_emails_go_through_the_outbox(users, monkeypatch, django_capture_on_commit_callbacks):
    from celery import group
    from kombu.exceptions import OperationalError

    def down(self, *args, **kwargs):
        raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(group, "apply_async", down)
    with django_capture_on_commit_callbacks(execute=True):
        [note] = notifications.notify([users["manager"]], Notification.Kind.INVITED, "Score Sterile fill")
    message = OutboxMessage.objects.get(task=notifications.EMAIL_TASK)
    assert message.args == [[note.pk]] and message.published_at is None and "refused" in message.last_error
    assert not mail.outbox and not Notification.objects.get(pk=note.pk).emailed  # the inbox entry stands
    monkeypatch.undo()
    assert outbox.relay() == 1  # beat, once the broker is back
    assert [m.to for m in mail.outbox] == [["manager@example.com"]]
    assert Notification.objects.get(pk=note.pk).emailed
    with transaction.atomic():  # a rolled-back notification announces nothing
        sid = transaction.savepoint()
        notifications.notify([users["auditor"]], Notification.Kind.INVITED, "Never sent")
        transaction.savepoint_rollback(sid)
    assert OutboxMessage.objects.filter(task=notifications.EMAIL_TASK).count() == 1
