"""State changes of the register that more than one caller needs (views, API, worker)."""

import logging

from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from vendors import fda, importing
from vendors.models import ImportJob

# The checker (read-only, every row) and the writer (all rows or none) of each import target.
IMPORTERS = {
    "vendors": (importing.check_vendors, importing.apply_vendors),
    "sites": (importing.check_sites, importing.apply_sites),
    "fda_inspections": (fda.check_inspections, fda.apply_inspections),
}

logger = logging.getLogger(__name__)


def _progress_key(job_id: int) -> str:
    return f"import-progress:{job_id}"


def import_progress(job: ImportJob) -> dict:
    """Rows done / total of the running step; lives in the shared cache, not in the row,
    because the apply step runs inside one long transaction that other sessions cannot see into."""
    progress = cache.get(_progress_key(job.pk)) or {"done": 0, "total": job.row_count or 0}
    total = progress["total"] or 0
    progress["percent"] = int(100 * progress["done"] / total) if total else 0
    return progress


def _reporter(job: ImportJob):
    def report(done: int, total: int) -> None:
        cache.set(_progress_key(job.pk), {"done": done, "total": total}, timeout=3600)

    return report


def _enqueue(task, job: ImportJob) -> None:
    """Publish after commit; if the broker is unreachable the job says so instead of waiting forever."""

    def publish():
        try:
            task.delay(job.pk)
        except Exception:
            logger.exception("Could not queue %s for import job %s", task.name, job.pk)
            ImportJob.objects.filter(pk=job.pk).update(
                status=ImportJob.Status.FAILED,
                report={
                    "errors": [
                        {
                            "row": 0,
                            "column": "",
                            "message": "The background queue is unreachable; upload the file again in a moment.",
                        }
                    ]
                },
            )

    transaction.on_commit(publish)


def import_job_create(*, user, target: str, upload) -> ImportJob:
    from vendors.tasks import import_check

    job = ImportJob.objects.create(
        target=target, file=upload, original_name=upload.name[:255], created_by=user, status=ImportJob.Status.QUEUED
    )
    _enqueue(import_check, job)
    return job


def _read(job: ImportJob):
    with job.file.open("rb") as handle:
        data = handle.read()
    return importing.read_table(data, job.original_name)


def _fail_file(job: ImportJob, error: importing.ImportFileError) -> None:
    job.status = ImportJob.Status.INVALID
    job.report = {"errors": [{"row": 0, "column": "", "message": str(error)}], "counts": {}, "preview": []}
    job.finished_at = timezone.now()
    job.save(update_fields=["status", "report", "finished_at"])


def import_job_check(*, job: ImportJob) -> None:
    """Worker step 1: read and check every row; nothing is written to the register."""
    if job.status not in (ImportJob.Status.QUEUED, ImportJob.Status.VALIDATING):
        return  # a redelivered task after the job moved on
    job.status = ImportJob.Status.VALIDATING
    job.save(update_fields=["status"])
    try:
        columns, body = _read(job)
    except importing.ImportFileError as error:
        _fail_file(job, error)
        return
    job.row_count = len(body)
    check, _ = IMPORTERS[job.target]
    result = check(columns, body, progress=_reporter(job))
    job.report = result.as_report()
    job.status = ImportJob.Status.INVALID if result.errors else ImportJob.Status.READY
    job.save(update_fields=["status", "report", "row_count"])


def import_job_confirm(*, job: ImportJob) -> bool:
    """Moves a checked job to applying; False when it is not in the ready state (double click)."""
    moved = ImportJob.objects.filter(pk=job.pk, status=ImportJob.Status.READY).update(status=ImportJob.Status.APPLYING)
    if moved:
        from vendors.tasks import import_apply

        _enqueue(import_apply, job)
    return bool(moved)


def import_job_apply(*, job: ImportJob) -> None:
    """Worker step 2: check again (the register may have changed) and write all or nothing."""
    if job.status != ImportJob.Status.APPLYING:
        return
    try:
        columns, body = _read(job)
    except importing.ImportFileError as error:
        _fail_file(job, error)
        return
    check, apply = IMPORTERS[job.target]
    result = check(columns, body)
    if result.errors:
        job.report = result.as_report()
        job.status = ImportJob.Status.INVALID
        job.finished_at = timezone.now()
        job.save(update_fields=["status", "report", "finished_at"])
        return
    with transaction.atomic():
        counts = apply(result, user=job.created_by, progress=_reporter(job))
        job.report = {**result.as_report(), "counts": counts}
        job.status = ImportJob.Status.DONE
        job.finished_at = timezone.now()
        job.save(update_fields=["status", "report", "finished_at"])
